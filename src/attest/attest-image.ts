import type { Witness } from '@sigstore/sign';
import type { Digest } from '../lib/index.ts';
import type { Descriptor, ImageIndex, ImageReference } from '../oci/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import {
  CosignAnnotations,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  appendCosignLayer,
  buildEnvelope,
  buildStatement,
  cosignTag,
  createDsseBundle,
  findSignedBundle,
  findSignedEnvelopeLayer,
  preAuthEncoding,
  pushBundleReferrer,
} from '../sign/index.ts';
import type { ImageSigner, SignatureFormat, Statement } from '../sign/index.ts';
import { attestedAtAnnotations, sameAttestation } from './format/attestation-time.ts';
import { isIndexMediaType } from '../oci/index.ts';

/** Options of {@link attestImage}. */
export interface AttestImageOptions {
  client: RegistryClient;
  reference: ImageReference;
  signer: ImageSigner;
  predicateType: string;
  predicate: unknown;
  /** For an index, also attest each child manifest with the same predicate. */
  recursive?: boolean;
  /** Replace existing `.att` layers of the same predicate type (cosign `--replace`); always attests
   *  anew, even where the same attestation exists. */
  replace?: boolean;
  signatureRepository?: RepositoryRef;
  /** `legacy`: `.att` tag; `bundle`: referrer; `both`; `auto`: tag plus bundle where the registry has the referrers API. */
  format?: SignatureFormat;
  witnesses?: Witness[];
  /** The attest time signed into the statement (subject annotation `dev.kiln.attested-at`) and
   *  written on bundle referrers; default the current time. */
  now?: Date;
}

/** One attested manifest and where the attestation went. */
export interface AttestedManifest {
  digest: Digest;
  predicateType: string;
  attestationTag?: string;
  attestationManifest?: Digest;
  bundle?: Descriptor & { viaApi: boolean };
  /** Where the same key had already made the same attestation, so nothing was signed or pushed:
   *  `tag` (the `.att` manifest is as it was) and/or `bundle` (`bundle` is the existing referrer). */
  unchanged?: ('tag' | 'bundle')[];
}

/** Attests an image the way cosign does: an in-toto Statement (subject = the image digest) signed
 *  as a DSSE envelope, stored as a layer of the `sha256-<hex>.att` manifest (annotation
 *  `predicateType`, empty cosign signature annotation) and/or as a Sigstore bundle referrer. The
 *  statement's subject carries the attest time, signed (`dev.kiln.attested-at`). Attesting what the
 *  same key already attested (same type, same predicate apart from run times, see `samePredicate`)
 *  changes nothing and keeps the earlier attestation and its time; `replace` always attests anew. */
export async function attestImage(options: AttestImageOptions): Promise<AttestedManifest[]> {
  const { client, reference } = options;
  const root = await client.resolve(reference);
  const targets: Descriptor[] = [root];
  if (options.recursive && isIndexMediaType(root.mediaType)) {
    targets.push(...((await client.getManifest({ ...reference, digest: root.digest })).manifest as ImageIndex).manifests);
  }
  const repo = options.signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const name = `${reference.registry}/${reference.repository}`;
  const format = options.format ?? 'auto';
  const now = options.now ?? new Date();
  // Keyless signers have no fixed key to recognise earlier attestations by; they always attest.
  const publicKey = options.replace ? undefined : options.signer.publicKey;
  const results: AttestedManifest[] = [];
  for (const target of targets) {
    const statement = buildStatement(name, target.digest, options.predicateType, options.predicate, attestedAtAnnotations(now));
    const payload = new TextEncoder().encode(JSON.stringify(statement));
    const result: AttestedManifest = { digest: target.digest, predicateType: options.predicateType };
    const unchanged: ('tag' | 'bundle')[] = [];
    const referrers = format === 'auto' || (publicKey && format !== 'legacy') ? await client.referrers(repo, target.digest) : undefined;
    const wantBundle = format === 'bundle' || format === 'both' || (format === 'auto' && referrers!.viaApi);
    const sameAs = { predicateType: options.predicateType, matches: (stored: Statement) => sameAttestation(stored, statement) };
    if (format !== 'bundle') {
      const tag = cosignTag(target.digest, 'att');
      result.attestationTag = tag;
      const existing = publicKey ? await findSignedEnvelopeLayer(client, repo, tag, { ...sameAs, publicKey }) : undefined;
      if (existing) {
        result.attestationManifest = existing;
        unchanged.push('tag');
      } else {
        const signed = await options.signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload));
        const envelope = buildEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, signed.signature, '');
        const annotations: Record<string, string> = { [CosignAnnotations.signature]: '', [CosignAnnotations.predicateType]: options.predicateType };
        if (signed.certificatePem) annotations[CosignAnnotations.certificate] = signed.certificatePem;
        if (signed.chainPem) annotations[CosignAnnotations.chain] = signed.chainPem;
        result.attestationManifest = await appendCosignLayer(
          client,
          repo,
          tag,
          new TextEncoder().encode(JSON.stringify(envelope)),
          { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, annotations },
          options.replace ? (layer) => layer.annotations?.[CosignAnnotations.predicateType] === options.predicateType : undefined,
        );
      }
    }
    if (wantBundle) {
      const existing = publicKey && referrers ? await findSignedBundle(client, repo, referrers.manifests, target.digest, { ...sameAs, publicKey, witnessed: Boolean(options.witnesses?.length) }) : undefined;
      if (existing) {
        result.bundle = { ...existing, viaApi: referrers!.viaApi };
        unchanged.push('bundle');
      } else {
        const { json } = await createDsseBundle(options.signer, payload, IN_TOTO_PAYLOAD_TYPE, options.witnesses ?? []);
        result.bundle = await pushBundleReferrer(client, repo, target, json, {
          'dev.sigstore.bundle.content': 'dsse-envelope',
          'dev.sigstore.bundle.predicateType': options.predicateType,
          'org.opencontainers.image.created': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        });
      }
    }
    if (unchanged.length) result.unchanged = unchanged;
    results.push(result);
  }
  return results;
}
