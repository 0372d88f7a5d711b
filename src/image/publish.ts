import type { Digest } from '../lib/index.ts';
import type { BuiltIndex } from '../oci/index.ts';

// Pushes a built index (blobs, per-arch manifests by digest, the index under every tag) through a
// registry port; the registry-client's RegistryClient satisfies it.

/** Where images are pushed. */
export interface PublishTarget {
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** The registry capability publishing needs. */
export interface RegistryPort {
  pushBlob(repo: { registry: string; repository: string }, source: Uint8Array, options?: { digest?: Digest; mediaType?: string }): Promise<unknown>;
  putManifest(ref: PublishTarget, bytes: Uint8Array, mediaType: string): Promise<{ digest: Digest }>;
}

/** Pushes every blob and manifest to each distinct repository of `targets`, then the index under
 *  each tag. Returns the references pushed (`registry/repo@digest` of the index first per repo). */
export async function publishIndex(registry: RegistryPort, built: BuiltIndex, targets: readonly PublishTarget[], onProgress?: (item: string) => void): Promise<string[]> {
  const refs: string[] = [];
  const repositories = new Map<string, PublishTarget>();
  for (const target of targets) repositories.set(`${target.registry}/${target.repository}`, target);
  for (const [name, target] of repositories) {
    const repo = { registry: target.registry, repository: target.repository };
    for (const image of built.images) {
      for (const layer of image.layers) {
        onProgress?.(`${name} ${layer.digest}`);
        await registry.pushBlob(repo, layer.data, { digest: layer.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
      }
      await registry.pushBlob(repo, image.config.data, { digest: image.config.digest, mediaType: image.config.mediaType });
      await registry.putManifest({ ...repo, digest: image.manifest.digest }, image.manifest.data, image.manifest.mediaType);
      refs.push(`${name}@${image.manifest.digest}`);
    }
    await registry.putManifest({ ...repo, digest: built.index.digest }, built.index.data, built.index.mediaType);
    refs.unshift(`${name}@${built.index.digest}`);
  }
  for (const target of targets) {
    await registry.putManifest({ registry: target.registry, repository: target.repository, tag: target.tag ?? 'latest' }, built.index.data, built.index.mediaType);
    refs.push(`${target.registry}/${target.repository}:${target.tag ?? 'latest'}`);
  }
  return refs;
}
