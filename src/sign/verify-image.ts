import type { KeyObject } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';
import type { Digest } from '../lib/index.ts';
import type { Descriptor, ImageManifest, ImageReference } from '../oci/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { RegistryClientError } from '../registry-client/index.ts';
import { keyTrustMaterial, parseBundle, verifyDsseBundle } from './bundle.ts';
import type { VerifiedTimestamp } from './bundle.ts';
import { SignError } from './errors.ts';
import { CosignAnnotations, cosignTag } from './format/cosign-manifest.ts';
import { IN_TOTO_PAYLOAD_TYPE } from './format/dsse.ts';
import { parseStatement, statementCovers } from './format/in-toto.ts';
import type { Statement } from './format/in-toto.ts';
import { SIMPLE_SIGNING_MEDIA_TYPE, parseSimpleSigningPayload } from './format/simple-signing.ts';
import type { SimpleSigningPayload } from './format/simple-signing.ts';
import { BUNDLE_MEDIA_TYPE } from './storage.ts';

/** artifactType of cosign's experimental OCI 1.1 signature referrers (`--registry-referrers-mode=oci-1-1`). */
export const COSIGN_SIG_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
import { keyHint } from './keys.ts';
import { verifyWithKey } from './signer.ts';
import { verifyLegacyKeyless } from './legacy-keyless.ts';
import { MediaTypes } from '../oci/index.ts';

/** A string that must match exactly, or a regular expression (cosign's `--certificate-identity-regexp`). */
export type Matcher = string | RegExp;

/** What must have signed: any of the keys, and/or a keyless identity under a trusted root. */
export interface TrustPolicy {
  keys?: readonly KeyObject[];
  /** Transparency logs (a trusted root's Rekor keys) that log entries in key-signed bundles are
   *  checked against. A key-signed bundle needs no entry; without logs, its entries are not checked. */
  logs?: TrustMaterial['tlogs'];
  keyless?: {
    trust: TrustMaterial;
    identity: Matcher;
    issuer: Matcher;
    /** Required transparency-log entries (default 1; 0 with `--insecure-ignore-tlog`). */
    tlogThreshold?: number;
    /** Required SCTs in the certificate (default 1). */
    ctlogThreshold?: number;
  };
}

/** A signature that verified, with what it said. */
export interface VerifiedSignature {
  digest: Digest;
  /** `tag`: the .sig tag; `referrer`: cosign's experimental OCI 1.1 signature referrer; `bundle`: a Sigstore bundle referrer. */
  source: 'tag' | 'referrer' | 'bundle';
  /** cosign key hint of the key that verified it, for key-based signatures. */
  keyHint?: string;
  identity?: { subjectAlternativeName?: string; issuer?: string };
  /** Simple-signing payload (tag) or in-toto statement (bundle). */
  payload: SimpleSigningPayload | Statement;
  /** The exact signed payload bytes, for `--output` style printing. */
  payloadBytes: Uint8Array;
  /** Bundles: the transparency-log and timestamp-authority times verified with the signature. */
  timestamps?: VerifiedTimestamp[];
}

/** Options of {@link verifyImage}. */
export interface VerifyImageOptions {
  client: RegistryClient;
  reference: ImageReference;
  policy: TrustPolicy;
  /** `-a k=v`: annotations that must be present in the signed payload. */
  annotations?: Record<string, string>;
  signatureRepository?: RepositoryRef;
}

/** Checks cosign signatures of an image: the `.sig` tag's simple-signing layers and Sigstore bundle
 *  referrers. Every fetched byte is digest-checked, every signature verified against the policy,
 *  every payload bound to the resolved digest. Fails closed: throws SIGNATURE_NOT_FOUND when there
 *  are none, SIGNATURE_INVALID (or IDENTITY_MISMATCH) listing each rejected signature when none
 *  verified. Returns the verified ones. */
export async function verifyImage(options: VerifyImageOptions): Promise<VerifiedSignature[]> {
  const { client, reference, policy } = options;
  if (!policy.keys?.length && !policy.keyless) throw new SignError('SIGNATURE_INVALID', 'nothing to verify against: give a key or a certificate identity and issuer', {});
  const target = await client.resolve(reference);
  // Pull the manifest by digest: its bytes must hash to the digest the signatures name, so a
  // manifest altered in the registry's storage fails here even though its tag still resolves.
  await client.getManifest({ registry: reference.registry, repository: reference.repository, digest: target.digest });
  const repo = options.signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const name = `${reference.registry}/${reference.repository}@${target.digest}`;
  const failures: string[] = [];
  const verified: VerifiedSignature[] = [];
  let found = 0;

  const tag = cosignTag(target.digest, 'sig');
  const sigManifest = await client.getManifestIfExists({ ...repo, tag }, [MediaTypes.ociManifest, MediaTypes.dockerManifest]);
  if (sigManifest && 'layers' in sigManifest.manifest) {
    for (const [index, layer] of sigManifest.manifest.layers.entries()) {
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
      found++;
      const where = `${repo.repository}:${tag} layer ${index}`;
      try {
        verified.push(await verifyLegacyLayer(client, repo, layer, target.digest, policy, options.annotations, where));
      } catch (error) {
        failures.push(describeFailure(error, where));
      }
    }
  }

  const referrers = (await client.referrers(repo, target.digest)).manifests;
  // cosign's experimental OCI 1.1 form: the .sig manifest pushed as a referrer (no tag).
  for (const referrer of referrers) {
    if (referrer.artifactType !== COSIGN_SIG_ARTIFACT_TYPE) continue;
    const pulled = await client.getManifest({ ...repo, digest: referrer.digest });
    const manifest = pulled.manifest as ImageManifest;
    if (manifest.subject?.digest !== target.digest) continue;
    for (const [index, layer] of (manifest.layers ?? []).entries()) {
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
      found++;
      const where = `signature referrer ${referrer.digest} layer ${index}`;
      try {
        verified.push({ ...(await verifyLegacyLayer(client, repo, layer, target.digest, policy, options.annotations, where)), source: 'referrer' });
      } catch (error) {
        failures.push(describeFailure(error, where));
      }
    }
  }

  for (const referrer of referrers.filter((entry) => entry.artifactType === BUNDLE_MEDIA_TYPE)) {
    const predicate = referrer.annotations?.['dev.sigstore.bundle.predicateType'];
    if (predicate !== undefined && predicate !== 'https://sigstore.dev/cosign/sign/v1') continue;
    found++;
    const where = `bundle referrer ${referrer.digest}`;
    try {
      const result = await verifyBundleReferrer(client, repo, referrer, target.digest, policy, where);
      const statement = result.payload as Statement;
      if (statement.predicateType !== 'https://sigstore.dev/cosign/sign/v1') {
        found--;
        continue;
      }
      assertAnnotations(options.annotations, (statement.subject[0]?.annotations ?? {}) as Record<string, unknown>, where);
      verified.push(result);
    } catch (error) {
      failures.push(describeFailure(error, where));
    }
  }

  if (verified.length) return verified;
  if (found === 0) throw new SignError('SIGNATURE_NOT_FOUND', `${name}: no signatures found (no ${tag} tag and no signature referrers)`, { detail: { digest: target.digest } });
  const identityOnly = failures.length > 0 && failures.every((failure) => failure.includes('identity') || failure.includes('issuer'));
  throw new SignError(identityOnly ? 'IDENTITY_MISMATCH' : 'SIGNATURE_INVALID', `${name}: no valid signature among ${found}:\n  ${failures.join('\n  ')}`, { detail: { digest: target.digest, failures } });
}

async function verifyLegacyLayer(
  client: RegistryClient,
  repo: RepositoryRef,
  layer: Descriptor,
  digest: Digest,
  policy: TrustPolicy,
  annotations: Record<string, string> | undefined,
  where: string,
): Promise<VerifiedSignature> {
  const payloadBytes = await client.getBlob(repo, layer.digest, 1024 * 1024);
  const encoded = layer.annotations?.[CosignAnnotations.signature];
  if (!encoded) throw new SignError('SIGNATURE_INVALID', `${where}: no ${CosignAnnotations.signature} annotation`, {});
  const signature = Buffer.from(encoded, 'base64');
  if (layer.annotations?.[CosignAnnotations.certificate] && policy.keyless) {
    const keyless = policy.keyless;
    const identity = verifyLegacyKeyless(payloadBytes, layer.annotations, keyless.trust, { tlogThreshold: keyless.tlogThreshold ?? 1, ctlogThreshold: keyless.ctlogThreshold ?? 1 }, where);
    const san = identity.subjectAlternativeName ?? '';
    const issuer = identity.issuer ?? '';
    if (!matches(keyless.identity, san)) throw new SignError('IDENTITY_MISMATCH', `${where}: certificate identity ${JSON.stringify(san)} does not match ${String(keyless.identity)}`, {});
    if (!matches(keyless.issuer, issuer)) throw new SignError('IDENTITY_MISMATCH', `${where}: certificate issuer ${JSON.stringify(issuer)} does not match ${String(keyless.issuer)}`, {});
    const payload = parseSimpleSigningPayload(payloadBytes, where);
    if (payload.dockerManifestDigest !== digest) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: payload signs ${payload.dockerManifestDigest}, not ${digest}`, {});
    assertAnnotations(annotations, payload.optional ?? {}, where);
    return { digest, source: 'tag', identity, payload, payloadBytes };
  }
  if (!policy.keys?.length) throw new SignError('SIGNATURE_INVALID', `${where}: signed with a key, which the given policy does not cover`, {});
  const key = policy.keys.find((candidate) => verifyWithKey(candidate, payloadBytes, signature));
  if (!key) throw new SignError('SIGNATURE_INVALID', `${where}: signature does not verify with ${policy.keys.length === 1 ? 'the given key' : `any of the ${policy.keys.length} given keys`}`, {});
  const payload = parseSimpleSigningPayload(payloadBytes, where);
  if (payload.dockerManifestDigest !== digest) {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: payload signs ${payload.dockerManifestDigest}, not ${digest}`, {});
  }
  assertAnnotations(annotations, payload.optional ?? {}, where);
  return { digest, source: 'tag', keyHint: keyHint(key), payload, payloadBytes };
}

/** Bundle referrers of `digest` (by artifactType). */
export async function listBundleReferrers(client: RegistryClient, repo: RepositoryRef, digest: Digest): Promise<Descriptor[]> {
  const { manifests } = await client.referrers(repo, digest);
  return manifests.filter((entry) => entry.artifactType === BUNDLE_MEDIA_TYPE);
}

/** Fetches a bundle referrer (manifest and bundle layer, both digest-checked), verifies it against
 *  the policy and binds its statement to `digest`. */
export async function verifyBundleReferrer(
  client: RegistryClient,
  repo: RepositoryRef,
  referrer: Descriptor,
  digest: Digest,
  policy: TrustPolicy,
  where: string,
): Promise<VerifiedSignature> {
  const pulled = await client.getManifest({ ...repo, digest: referrer.digest });
  const manifest = pulled.manifest as ImageManifest;
  if (manifest.subject?.digest !== digest) throw new SignError('BUNDLE_INVALID', `${where}: subject is ${manifest.subject?.digest}, not ${digest}`, {});
  const layer = manifest.layers?.[0];
  if (!layer) throw new SignError('BUNDLE_INVALID', `${where}: manifest has no bundle layer`, {});
  const bytes = await client.getBlob(repo, layer.digest, 16 * 1024 * 1024);
  const bundle = parseBundle(bytes, where);
  let result: ReturnType<typeof verifyDsseBundle> | undefined;
  const errors: unknown[] = [];
  if (policy.keys?.length && bundle.verificationMaterial.content.$case === 'publicKey') {
    try {
      result = verifyDsseBundle(bundle, keyTrustMaterial(policy.keys, policy.logs), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }, where);
    } catch (error) {
      errors.push(error);
    }
  }
  if (!result && policy.keyless && bundle.verificationMaterial.content.$case !== 'publicKey') {
    const tlog = policy.keyless.tlogThreshold ?? 1;
    result = verifyDsseBundle(bundle, policy.keyless.trust, { tlogThreshold: tlog, ctlogThreshold: policy.keyless.ctlogThreshold ?? 1, timestampThreshold: tlog > 0 ? 1 : 0 }, where);
    const san = result.identity?.subjectAlternativeName ?? '';
    const issuer = result.identity?.issuer ?? '';
    if (!matches(policy.keyless.identity, san)) throw new SignError('IDENTITY_MISMATCH', `${where}: certificate identity ${JSON.stringify(san)} does not match ${String(policy.keyless.identity)}`, {});
    if (!matches(policy.keyless.issuer, issuer)) throw new SignError('IDENTITY_MISMATCH', `${where}: certificate issuer ${JSON.stringify(issuer)} does not match ${String(policy.keyless.issuer)}`, {});
  }
  if (!result) {
    if (errors[0]) throw errors[0];
    const kind = bundle.verificationMaterial.content.$case === 'publicKey' ? 'a key' : 'a certificate (keyless)';
    throw new SignError('SIGNATURE_INVALID', `${where}: bundle is signed with ${kind}, which the given policy does not cover`, {});
  }
  if (result.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: payload type ${result.payloadType}, expected ${IN_TOTO_PAYLOAD_TYPE}`, {});
  const statement = parseStatement(result.payload, where);
  if (!statementCovers(statement, digest)) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: statement subject does not name ${digest}`, {});
  return {
    digest,
    source: 'bundle',
    ...(bundle.verificationMaterial.content.$case === 'publicKey' ? { keyHint: bundle.verificationMaterial.content.publicKey.hint } : {}),
    ...(result.identity ? { identity: result.identity } : {}),
    payload: statement,
    payloadBytes: result.payload,
    ...(result.timestamps.length ? { timestamps: result.timestamps } : {}),
  };
}

function matches(matcher: Matcher, value: string): boolean {
  return typeof matcher === 'string' ? matcher === value : matcher.test(value);
}

function assertAnnotations(required: Record<string, string> | undefined, present: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(required ?? {})) {
    if (present[key] !== value) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: annotation ${key}=${JSON.stringify(present[key] ?? null)}, required ${JSON.stringify(value)}`, {});
  }
}

/** One line per rejected signature for the error message. */
export function describeFailure(error: unknown, where: string): string {
  if (error instanceof SignError || error instanceof RegistryClientError) return error.message.startsWith(where) ? error.message : `${where}: ${error.message}`;
  return `${where}: ${(error as Error).message}`;
}
