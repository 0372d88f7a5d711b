import type { Witness } from '@sigstore/sign';
import type { Digest } from '../lib/index.ts';
import type { Descriptor, ImageIndex, ImageReference, RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { isIndexMediaType } from '../registry-client/index.ts';
import {
  CosignAnnotations,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  appendCosignLayer,
  buildEnvelope,
  buildStatement,
  cosignTag,
  createDsseBundle,
  preAuthEncoding,
  pushBundleReferrer,
} from '../sign/index.ts';
import type { ImageSigner, SignatureFormat } from '../sign/index.ts';

/** Options of {@link attestImage}. */
export interface AttestImageOptions {
  client: RegistryClient;
  reference: ImageReference;
  signer: ImageSigner;
  predicateType: string;
  predicate: unknown;
  /** For an index, also attest each child manifest with the same predicate. */
  recursive?: boolean;
  /** Replace existing `.att` layers of the same predicate type (cosign `--replace`). */
  replace?: boolean;
  signatureRepository?: RepositoryRef;
  /** `legacy`: `.att` tag; `bundle`: referrer; `both`; `auto`: tag plus bundle where the registry has the referrers API. */
  format?: SignatureFormat;
  witnesses?: Witness[];
  now?: Date;
}

/** One attested manifest and where the attestation went. */
export interface AttestedManifest {
  digest: Digest;
  predicateType: string;
  attestationTag?: string;
  attestationManifest?: Digest;
  bundle?: Descriptor & { viaApi: boolean };
}

/** Attests an image the way cosign does: an in-toto Statement (subject = the image digest) signed
 *  as a DSSE envelope, stored as a layer of the `sha256-<hex>.att` manifest (annotation
 *  `predicateType`, empty cosign signature annotation) and/or as a Sigstore bundle referrer. */
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
  const results: AttestedManifest[] = [];
  for (const target of targets) {
    const statement = buildStatement(name, target.digest, options.predicateType, options.predicate);
    const payload = new TextEncoder().encode(JSON.stringify(statement));
    const result: AttestedManifest = { digest: target.digest, predicateType: options.predicateType };
    const wantBundle = format === 'bundle' || format === 'both' || (format === 'auto' && (await client.referrers(repo, target.digest)).viaApi);
    if (format !== 'bundle') {
      const signed = await options.signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload));
      const envelope = buildEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, signed.signature, '');
      const annotations: Record<string, string> = { [CosignAnnotations.signature]: '', [CosignAnnotations.predicateType]: options.predicateType };
      if (signed.certificatePem) annotations[CosignAnnotations.certificate] = signed.certificatePem;
      if (signed.chainPem) annotations[CosignAnnotations.chain] = signed.chainPem;
      const tag = cosignTag(target.digest, 'att');
      result.attestationTag = tag;
      result.attestationManifest = await appendCosignLayer(
        client,
        repo,
        tag,
        new TextEncoder().encode(JSON.stringify(envelope)),
        { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, annotations },
        options.replace ? (layer) => layer.annotations?.[CosignAnnotations.predicateType] === options.predicateType : undefined,
      );
    }
    if (wantBundle) {
      const { json } = await createDsseBundle(options.signer, payload, IN_TOTO_PAYLOAD_TYPE, options.witnesses ?? []);
      result.bundle = await pushBundleReferrer(client, repo, target, json, {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': options.predicateType,
        'org.opencontainers.image.created': (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    }
    results.push(result);
  }
  return results;
}
