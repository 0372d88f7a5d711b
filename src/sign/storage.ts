import type { Digest } from '../lib/index.ts';
import { sha256Digest } from '../lib/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { sameLayer, signatureManifest } from './format/cosign-manifest.ts';
import { MediaTypes } from '../oci/index.ts';
import type { Descriptor, ImageManifest } from '../oci/index.ts';

/** Media type of Sigstore bundle referrers (artifactType and layer). */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** Adds one payload layer to the cosign manifest at `tag` (`sha256-<hex>.sig`/`.att`) the way
 *  cosign does: read the manifest (none = start empty), skip if an identical layer is present,
 *  append (or, with `replace`, drop layers `replace` matches first), upload payload and config,
 *  then push the manifest to the same tag. Returns the pushed manifest's digest. */
export async function appendCosignLayer(
  client: RegistryClient,
  repo: RepositoryRef,
  tag: string,
  payload: Uint8Array,
  layer: { mediaType: string; annotations: Record<string, string> },
  replace?: (existing: Descriptor) => boolean,
): Promise<Digest> {
  const descriptor: Descriptor = { mediaType: layer.mediaType, size: payload.length, digest: sha256Digest(payload), annotations: layer.annotations };
  await client.pushBlob(repo, payload, { mediaType: layer.mediaType });
  const existing = await client.getManifestIfExists({ ...repo, tag }, [MediaTypes.ociManifest, MediaTypes.dockerManifest]);
  let layers = existing && 'layers' in existing.manifest ? existing.manifest.layers : [];
  if (replace) layers = layers.filter((entry) => !replace(entry));
  if (!layers.some((entry) => sameLayer(entry, descriptor))) layers = [...layers, descriptor];
  const { manifest, config } = signatureManifest(layers);
  await client.pushBlob(repo, config, { mediaType: MediaTypes.ociConfig });
  return (await client.putManifestJson({ ...repo, tag }, manifest)).digest;
}

/** Publishes a Sigstore bundle as an OCI 1.1 referrer of `subject` (cosign v3 layout): bundle blob,
 *  `{}` config, manifest with `subject`, pushed by digest; the referrers fallback tag is maintained
 *  when the registry lacks the API. */
export async function pushBundleReferrer(
  client: RegistryClient,
  repo: RepositoryRef,
  subject: Descriptor,
  bundleJson: Uint8Array,
  annotations: Record<string, string>,
): Promise<Descriptor & { viaApi: boolean }> {
  const bundle = await client.pushBlob(repo, bundleJson, { mediaType: BUNDLE_MEDIA_TYPE });
  const empty = await client.pushBlob(repo, new TextEncoder().encode('{}'), { mediaType: MediaTypes.ociEmpty });
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: BUNDLE_MEDIA_TYPE,
    config: { mediaType: MediaTypes.ociEmpty, digest: empty.digest, size: empty.size },
    layers: [{ mediaType: BUNDLE_MEDIA_TYPE, digest: bundle.digest, size: bundleJson.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  return client.pushReferrer(repo, manifest);
}
