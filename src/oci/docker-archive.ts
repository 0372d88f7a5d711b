import { writeFileAtomic } from '../lib/index.ts';
import type { BuiltIndex } from './artifacts.ts';
import { encodeTarHeader, tarPadding, TAR_END } from './format/tar.ts';
import { goJsonBytes } from './format/json.ts';
import { formatTaggedReference, parseImageReference } from './format/reference.ts';

/** Options of {@link writeDockerArchive}. */
export interface DockerArchiveOptions {
  /** Replace an existing file instead of failing with FILE_EXISTS. */
  overwrite?: boolean;
}

/** The archive's entries in order: `[name, bytes]`. Pure, so tests can inspect it. */
export function dockerArchiveEntries(built: BuiltIndex, tag: string): Array<[string, Uint8Array]> {
  const reference = parseImageReference(tag);
  const entries: Array<[string, Uint8Array]> = [];
  const written = new Set<string>();
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  const single = built.images.length === 1;
  for (const image of built.images) {
    const configName = image.config.digest;
    if (!written.has(configName)) {
      entries.push([configName, image.config.data]);
      written.add(configName);
    }
    const layerNames: string[] = [];
    for (const layer of image.layers) {
      const name = `${layer.digest.slice('sha256:'.length)}.tar.gz`;
      layerNames.push(name);
      if (!written.has(name)) {
        entries.push([name, layer.data]);
        written.add(name);
      }
    }
    const suffix = single ? '' : `-${image.platform.architecture}${image.platform.variant ?? ''}`;
    manifest.push({ Config: configName, RepoTags: [formatTaggedReference(reference, suffix)], Layers: layerNames });
  }
  manifest.sort((a, b) => (a.RepoTags[0]! < b.RepoTags[0]! ? -1 : 1));
  entries.push(['manifest.json', goJsonBytes(manifest)]);
  for (const image of built.images) entries.push([image.manifest.digest, image.manifest.data]);
  entries.push(['index.json', built.index.data]);
  return entries;
}

/** Writes a docker-archive tarball (`docker load`/`podman load`) atomically. Tags get a
 *  `-<arch>` suffix when there are several images (apko's naming, with the arm variant appended so
 *  that arm/v6 and arm/v7 do not collide). */
export async function writeDockerArchive(path: string, built: BuiltIndex, tag: string, options: DockerArchiveOptions = {}): Promise<void> {
  const entries = dockerArchiveEntries(built, tag);
  await writeFileAtomic(
    path,
    async (handle) => {
      for (const [name, data] of entries) {
        await handle.write(encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length }));
        await handle.write(data);
        await handle.write(tarPadding(data.length));
      }
      await handle.write(TAR_END);
    },
    { exclusive: !options.overwrite },
  );
}
