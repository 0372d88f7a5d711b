import type { KeyObject } from 'node:crypto';
import type { Digest } from '../lib/index.ts';
import { sha256Digest } from '../lib/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { parseBundle } from './bundle.ts';
import { CosignAnnotations } from './format/cosign-manifest.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from './format/dsse.ts';
import type { DsseEnvelope } from './format/dsse.ts';
import { parseStatement } from './format/in-toto.ts';
import type { Statement } from './format/in-toto.ts';
import { verifyWithKey } from './signer.ts';
import { BUNDLE_MEDIA_TYPE } from './storage.ts';
import { MediaTypes } from '../oci/index.ts';
import type { Descriptor, ImageManifest } from '../oci/index.ts';

// Duplicate detection, run before signing so that signing what the same key already signed is a
// no-op (cosign's DupeDetector in pkg/cosign/remote: same payload digest and media type, the new
// layer's annotations present with the same values, and an existing signature that verifies with
// the signer's key over the new payload). ECDSA signatures are randomized, so "the same" is judged
// by key and signed content, never by signature bytes. cosign's check never matches attestations
// (the layer is the envelope, whose bytes include the fresh signature); here an attestation is the
// same when its envelope verifies with the key and its statement matches. An entry that cannot be
// read or parsed is not a duplicate: the new signature is added beside it, as before.

const SIG_MANIFEST_TYPES = [MediaTypes.ociManifest, MediaTypes.dockerManifest];

/** The manifest at a `.sig` tag when one of its layers already is `payload` signed by `publicKey`:
 *  same payload digest and media type, each of `annotationKeys` present, and a signature annotation
 *  that verifies over `payload`. Returns that manifest's digest. */
export async function findSignedPayloadLayer(
  client: RegistryClient,
  repo: RepositoryRef,
  tag: string,
  expected: { payload: Uint8Array; mediaType: string; publicKey: KeyObject; annotationKeys?: readonly string[] },
): Promise<Digest | undefined> {
  const pulled = await client.getManifestIfExists({ ...repo, tag }, SIG_MANIFEST_TYPES);
  if (!pulled || !('layers' in pulled.manifest)) return undefined;
  const digest = sha256Digest(expected.payload);
  for (const layer of pulled.manifest.layers ?? []) {
    if (layer.digest !== digest || layer.mediaType !== expected.mediaType) continue;
    const annotations = layer.annotations ?? {};
    if (!(expected.annotationKeys ?? []).every((key) => annotations[key])) continue;
    const signature = annotations[CosignAnnotations.signature];
    if (signature && verifyWithKey(expected.publicKey, expected.payload, Buffer.from(signature, 'base64'))) return pulled.digest;
  }
  return undefined;
}

/** The manifest at an `.att` tag when one of its layers is a DSSE envelope of `predicateType` that
 *  `publicKey` signed and whose statement `matches`. Returns that manifest's digest. */
export async function findSignedEnvelopeLayer(
  client: RegistryClient,
  repo: RepositoryRef,
  tag: string,
  expected: { predicateType: string; publicKey: KeyObject; matches: (statement: Statement) => boolean },
): Promise<Digest | undefined> {
  const pulled = await client.getManifestIfExists({ ...repo, tag }, SIG_MANIFEST_TYPES);
  if (!pulled || !('layers' in pulled.manifest)) return undefined;
  for (const layer of pulled.manifest.layers ?? []) {
    if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE || layer.annotations?.[CosignAnnotations.predicateType] !== expected.predicateType) continue;
    try {
      const envelope = JSON.parse(new TextDecoder().decode(await client.getBlob(repo, layer.digest, 32 * 1024 * 1024))) as DsseEnvelope;
      const payload = Buffer.from(envelope.payload, 'base64');
      const signatures = envelope.signatures.map((entry) => Buffer.from(entry.sig ?? '', 'base64'));
      const statement = signedStatement(envelope.payloadType, payload, signatures, expected.publicKey, tag);
      if (statement && statement.predicateType === expected.predicateType && expected.matches(statement)) return pulled.digest;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The Sigstore bundle referrer of `subject` (among `referrers`) whose DSSE statement of
 *  `predicateType` `publicKey` signed and `matches`. With `witnessed`, the bundle must also carry a
 *  transparency-log entry or timestamp, as a new one would. */
export async function findSignedBundle(
  client: RegistryClient,
  repo: RepositoryRef,
  referrers: readonly Descriptor[],
  subject: Digest,
  expected: { predicateType: string; publicKey: KeyObject; matches: (statement: Statement) => boolean; witnessed: boolean },
): Promise<Descriptor | undefined> {
  for (const referrer of referrers) {
    if (referrer.artifactType !== BUNDLE_MEDIA_TYPE) continue;
    const annotated = referrer.annotations?.['dev.sigstore.bundle.predicateType'];
    if (annotated !== undefined && annotated !== expected.predicateType) continue;
    try {
      const manifest = (await client.getManifest({ ...repo, digest: referrer.digest })).manifest as ImageManifest;
      const layer = manifest.layers?.[0];
      if (manifest.subject?.digest !== subject || !layer || layer.mediaType !== BUNDLE_MEDIA_TYPE) continue;
      const bundle = parseBundle(await client.getBlob(repo, layer.digest, 16 * 1024 * 1024), referrer.digest);
      if (bundle.content.$case !== 'dsseEnvelope' || bundle.verificationMaterial.content.$case !== 'publicKey') continue;
      const material = bundle.verificationMaterial;
      if (expected.witnessed && !material.tlogEntries.length && !material.timestampVerificationData?.rfc3161Timestamps.length) continue;
      const envelope = bundle.content.dsseEnvelope;
      const statement = signedStatement(envelope.payloadType, envelope.payload, envelope.signatures.map((entry) => entry.sig), expected.publicKey, referrer.digest);
      if (statement && statement.predicateType === expected.predicateType && expected.matches(statement)) return referrer;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The in-toto statement of an envelope when one of its signatures verifies with `publicKey`. */
function signedStatement(payloadType: string, payload: Uint8Array, signatures: readonly Uint8Array[], publicKey: KeyObject, source: string): Statement | undefined {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return undefined;
  const pae = preAuthEncoding(payloadType, payload);
  if (!signatures.some((signature) => verifyWithKey(publicKey, pae, signature))) return undefined;
  return parseStatement(payload, source);
}
