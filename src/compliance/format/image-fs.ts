import { inflateGzipMembers, LAYER_INFLATE_LIMIT, readTarEntries } from '../../apk/index.ts';
import type { TarEntryType } from '../../apk/index.ts';
import { sha256Hex } from '../../lib/index.ts';

// Pure: the merged filesystem of an image, with every entry's type, mode and owner (the checks need
// setuid bits, world-writable directories and file contents, which the scanner's reader in
// src/oci does not keep). Layers are read with the apk format's gzip and tar readers, the one
// gzip/tar reader of the project; OCI whiteouts are applied bottom to top.

/** One path of an image's filesystem after all layers are applied. */
export interface ImageFile {
  /** Relative path, no leading `./` or `/`. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
  /** Lower-case hex SHA-256 of a regular file's content. */
  sha256?: string;
  /** Content of regular files no larger than the reader's `keepContentUpTo`. */
  content?: Buffer;
}

/** One layer as read: its entries and what it deletes. */
export interface LayerEntries {
  files: ImageFile[];
  /** Paths removed by `.wh.<name>` entries. */
  whiteouts: string[];
  /** Directories emptied by `.wh..wh..opq`. */
  opaque: string[];
}

/** Limits of {@link readLayerEntries}. */
export interface LayerReadOptions {
  /** Keep content of regular files up to this many bytes (default 1 MiB); larger files are hashed only. */
  keepContentUpTo?: number;
  /** Largest uncompressed layer accepted, all gzip members together (default 2 GiB). */
  maxLayerSize?: number;
}

function clean(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** Reads a layer blob (gzip or plain tar). Errors are the apk reader's (APK_GZIP_INVALID, APK_TAR_INVALID). */
export function readLayerEntries(layer: Buffer, where: string, options: LayerReadOptions = {}): LayerEntries {
  const keep = options.keepContentUpTo ?? 1024 * 1024;
  const isGzip = layer.length >= 2 && layer[0] === 0x1f && layer[1] === 0x8b;
  const tar = isGzip
    ? inflateGzipMembers(layer, { name: where, maxTotalSize: options.maxLayerSize ?? LAYER_INFLATE_LIMIT })
    : layer;
  const result: LayerEntries = { files: [], whiteouts: [], opaque: [] };
  for (const { header, content } of readTarEntries(tar, where)) {
    const path = clean(header.name);
    if (path === '' || path === '.') continue;
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    const dir = slash < 0 ? '' : path.slice(0, slash);
    if (base === '.wh..wh..opq') {
      result.opaque.push(dir);
      continue;
    }
    if (base.startsWith('.wh.')) {
      result.whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
      continue;
    }
    const file: ImageFile = { path, type: header.type, mode: header.mode, uid: header.uid, gid: header.gid, size: header.size };
    if (header.type === 'symlink' || header.type === 'hardlink') file.linkTarget = header.linkName;
    if (header.type === 'file') {
      file.sha256 = sha256Hex(content);
      if (content.length <= keep) file.content = Buffer.from(content);
    }
    result.files.push(file);
  }
  return result;
}

/** Applies layers bottom to top: later entries replace earlier ones, whiteouts and opaque
 *  directories remove what lower layers put there. Hard links take the target's content. */
export function mergeLayers(layers: readonly LayerEntries[]): Map<string, ImageFile> {
  const files = new Map<string, ImageFile>();
  const under = (path: string, dir: string) => dir === '' || path === dir || path.startsWith(`${dir}/`);
  for (const layer of layers) {
    for (const dir of layer.opaque) for (const path of [...files.keys()]) if (path !== dir && under(path, dir)) files.delete(path);
    for (const gone of layer.whiteouts) for (const path of [...files.keys()]) if (under(path, gone)) files.delete(path);
    for (const file of layer.files) {
      if (file.type === 'hardlink' && file.linkTarget !== undefined) {
        const target = files.get(clean(file.linkTarget));
        if (target) {
          const { linkTarget: _link, ...rest } = target;
          files.set(file.path, { ...rest, path: file.path, mode: file.mode, uid: file.uid, gid: file.gid });
          continue;
        }
      }
      files.set(file.path, file);
    }
  }
  return files;
}
