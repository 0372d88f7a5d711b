import type { Witness } from '@sigstore/sign';
import type { Digest } from '../lib/index.ts';
import type { Descriptor, ImageIndex, ImageReference } from '../oci/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { createDsseBundle } from './bundle.ts';
import { CosignAnnotations, cosignTag } from './format/cosign-manifest.ts';
import { IN_TOTO_PAYLOAD_TYPE } from './format/dsse.ts';
import { COSIGN_SIGN_PREDICATE, buildStatement, sameJson } from './format/in-toto.ts';
import { SIMPLE_SIGNING_MEDIA_TYPE, buildSimpleSigningPayload } from './format/simple-signing.ts';
import type { ImageSigner } from './signer.ts';
import { appendCosignLayer, pushBundleReferrer } from './storage.ts';
import { signLegacyWithWitnesses } from './legacy-keyless.ts';
import { findSignedBundle, findSignedPayloadLayer } from './existing.ts';
import { isIndexMediaType } from '../oci/index.ts';

/** Where signatures go: the `.sig` tag (cosign ≤ v2 and every cosign), a Sigstore bundle referrer
 *  (cosign v3), both, or `auto` = the tag always plus a bundle when the registry has the referrers API. */
export type SignatureFormat = 'legacy' | 'bundle' | 'both' | 'auto';

/** Options of {@link signImage}. */
export interface SignImageOptions {
  client: RegistryClient;
  reference: ImageReference;
  signer: ImageSigner;
  /** `-a k=v`: stored in the payload's `optional` (legacy) or the subject's annotations (bundle). */
  annotations?: Record<string, string>;
  /** For an index, also sign every child manifest. */
  recursive?: boolean;
  /** `COSIGN_REPOSITORY`: store signatures in another repository. */
  signatureRepository?: RepositoryRef;
  format?: SignatureFormat;
  /** Rekor/TSA witnesses for bundles (empty = no transparency log, as `--tlog-upload=false`). */
  witnesses?: Witness[];
  /** Creation time written on bundle referrers. */
  now?: Date;
}

/** One signed manifest and where its signature was stored. */
export interface SignedManifest {
  digest: Digest;
  reference: string;
  signatureTag?: string;
  signatureManifest?: Digest;
  bundle?: Descriptor & { viaApi: boolean };
  /** Where the same key had already signed the same payload, so nothing was signed or pushed:
   *  `tag` (the `.sig` manifest is as it was) and/or `bundle` (`bundle` is the existing referrer). */
  unchanged?: ('tag' | 'bundle')[];
}

/** Signs an image (and with `recursive`, each manifest of an index) the way cosign does. The image
 *  is resolved to a digest first; what is signed is that digest, never the tag. Signing again with
 *  the same key (same payload and annotations) changes nothing: an existing `.sig` layer or bundle
 *  referrer that verifies with the signer's key over the same payload is kept and reported in
 *  `unchanged` (cosign's duplicate detection; keyless signers have no fixed key and always sign). */
export async function signImage(options: SignImageOptions): Promise<SignedManifest[]> {
  const { client, reference } = options;
  const root = await client.resolve(reference);
  const targets: Descriptor[] = [root];
  if (options.recursive && isIndexMediaType(root.mediaType)) {
    const pulled = await client.getManifest({ ...reference, digest: root.digest });
    targets.push(...(pulled.manifest as ImageIndex).manifests);
  }
  const repo = options.signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const identity = `${reference.registry}/${reference.repository}`;
  const format = options.format ?? 'auto';
  const results: SignedManifest[] = [];
  for (const target of targets) {
    const result: SignedManifest = { digest: target.digest, reference: `${identity}@${target.digest}` };
    const publicKey = options.signer.publicKey;
    // The referrers are listed for `auto` (does the registry have the API?) and to find an existing bundle.
    const referrers = format === 'auto' || (publicKey && format !== 'legacy') ? await client.referrers(repo, target.digest) : undefined;
    const wantBundle = format === 'bundle' || format === 'both' || (format === 'auto' && referrers!.viaApi);
    const unchanged: ('tag' | 'bundle')[] = [];
    if (format !== 'bundle') {
      const payload = buildSimpleSigningPayload(identity, target.digest, options.annotations);
      const tag = cosignTag(target.digest, 'sig');
      result.signatureTag = tag;
      // With a transparency log a new layer would carry the Rekor entry, so an existing one must too.
      const existing = publicKey
        ? await findSignedPayloadLayer(client, repo, tag, { payload, mediaType: SIMPLE_SIGNING_MEDIA_TYPE, publicKey, annotationKeys: options.witnesses?.length ? [CosignAnnotations.bundle] : [] })
        : undefined;
      if (existing) {
        result.signatureManifest = existing;
        unchanged.push('tag');
      } else {
        let annotations: Record<string, string>;
        if (options.witnesses?.length) {
          // With a transparency log, the layer carries the Rekor entry (and certificate) as cosign v2 writes it.
          annotations = await signLegacyWithWitnesses(options.signer, payload, options.witnesses);
        } else {
          const signed = await options.signer.sign(payload);
          annotations = { [CosignAnnotations.signature]: signed.signature.toString('base64') };
          if (signed.certificatePem) annotations[CosignAnnotations.certificate] = signed.certificatePem;
          if (signed.chainPem) annotations[CosignAnnotations.chain] = signed.chainPem;
        }
        result.signatureManifest = await appendCosignLayer(client, repo, tag, payload, { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, annotations });
      }
    }
    if (wantBundle) {
      const statement = buildStatement(identity, target.digest, COSIGN_SIGN_PREDICATE, {}, options.annotations);
      const existing = publicKey && referrers
        ? await findSignedBundle(client, repo, referrers.manifests, target.digest, {
            predicateType: COSIGN_SIGN_PREDICATE,
            publicKey,
            matches: (stored) => sameJson(stored, statement),
            witnessed: Boolean(options.witnesses?.length),
          })
        : undefined;
      if (existing) {
        result.bundle = { ...existing, viaApi: referrers!.viaApi };
        unchanged.push('bundle');
      } else {
        const { json } = await createDsseBundle(options.signer, new TextEncoder().encode(JSON.stringify(statement)), IN_TOTO_PAYLOAD_TYPE, options.witnesses ?? []);
        result.bundle = await pushBundleReferrer(client, repo, target, json, {
          'dev.sigstore.bundle.content': 'dsse-envelope',
          'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE,
          'org.opencontainers.image.created': (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        });
      }
    }
    if (unchanged.length) result.unchanged = unchanged;
    results.push(result);
  }
  return results;
}
