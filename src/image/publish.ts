import type { Digest } from '../lib/index.ts';
import type { BuiltIndex } from '../oci/index.ts';
import { MediaTypes } from '../oci/index.ts';

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
 *  each tag. Returns the references pushed (`registry/repo@digest` of the index first per repo).
 *  `onProgress` hears of each blob and manifest once it is pushed: how many of how many, and which. */
export async function publishIndex(registry: RegistryPort, built: BuiltIndex, targets: readonly PublishTarget[], onProgress?: (done: number, total: number, item: string) => void): Promise<string[]> {
  const refs: string[] = [];
  const repositories = new Map<string, PublishTarget>();
  for (const target of targets) repositories.set(`${target.registry}/${target.repository}`, target);
  // per repository: each image's layers, config and manifest, then the index; then one tag per target
  const total = repositories.size * (built.images.reduce((sum, image) => sum + image.layers.length + 2, 0) + 1) + targets.length;
  let done = 0;
  const pushed = (item: string) => onProgress?.(++done, total, item);
  for (const [name, target] of repositories) {
    const repo = { registry: target.registry, repository: target.repository };
    for (const image of built.images) {
      for (const layer of image.layers) {
        await registry.pushBlob(repo, layer.data, { digest: layer.digest, mediaType: MediaTypes.ociLayerGzip });
        pushed(`${name} ${layer.digest}`);
      }
      await registry.pushBlob(repo, image.config.data, { digest: image.config.digest, mediaType: image.config.mediaType });
      pushed(`${name} ${image.config.digest}`);
      await registry.putManifest({ ...repo, digest: image.manifest.digest }, image.manifest.data, image.manifest.mediaType);
      pushed(`${name}@${image.manifest.digest}`);
      refs.push(`${name}@${image.manifest.digest}`);
    }
    await registry.putManifest({ ...repo, digest: built.index.digest }, built.index.data, built.index.mediaType);
    pushed(`${name}@${built.index.digest}`);
    refs.unshift(`${name}@${built.index.digest}`);
  }
  for (const target of targets) {
    await registry.putManifest({ registry: target.registry, repository: target.repository, tag: target.tag ?? 'latest' }, built.index.data, built.index.mediaType);
    pushed(`${target.registry}/${target.repository}:${target.tag ?? 'latest'}`);
    refs.push(`${target.registry}/${target.repository}:${target.tag ?? 'latest'}`);
  }
  return refs;
}
