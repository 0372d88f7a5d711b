import { ApkError, inflateGzipMembers, LAYER_INFLATE_LIMIT, readTarEntries } from '../../apk/index.ts';
import { KilnError } from '../../lib/index.ts';
import { OciError } from '../errors.ts';

// Pure: picks a few files out of image layers (a scanner needs /etc/os-release and the apk
// database, not the whole filesystem) and applies them in order with OCI whiteouts.

/** Files found in one layer, and what it deletes. */
export interface LayerFiles {
  files: Map<string, Buffer>;
  /** Paths removed by `.wh.<name>` entries. */
  whiteouts: string[];
  /** Directories emptied by `.wh..wh..opq`. */
  opaque: string[];
}

/** Limits of {@link readLayerFiles}: the layer is decompressed in memory, and the files kept from
 *  every layer are held until the layers are applied. */
export interface LayerFilesOptions {
  /** Largest decompressed tar, all gzip members together (default 2 GiB, about the largest layer a scanner meets; held about twice while members are joined). */
  maxTarSize?: number;
  /** Largest wanted file (default 64 MiB). */
  maxFileSize?: number;
}

const DEFAULT_LAYER_FILE_LIMIT = 64 * 1024 ** 2;

function clean(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** Reads a layer (gzip or plain tar) keeping the regular files `wanted` accepts (paths without a
 *  leading slash). Symbolic links are not followed. OCI_ARCHIVE_INVALID when it is not a tar,
 *  LIMIT_EXCEEDED when it inflates past `maxTarSize` or a wanted file is larger than `maxFileSize`. */
export async function readLayerFiles(layer: Uint8Array, wanted: (path: string) => boolean, source: string, options: LayerFilesOptions = {}): Promise<LayerFiles> {
  const maxTarSize = options.maxTarSize ?? LAYER_INFLATE_LIMIT;
  const maxFileSize = options.maxFileSize ?? DEFAULT_LAYER_FILE_LIMIT;
  let bytes = Buffer.from(layer.buffer, layer.byteOffset, layer.byteLength);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = inflateGzipMembers(bytes, { name: source, maxTotalSize: maxTarSize });
    } catch (error) {
      if (error instanceof ApkError && error.code === 'APK_LIMIT_EXCEEDED') {
        throw new KilnError('LIMIT_EXCEEDED', `${source}: decompresses to more than ${maxTarSize} bytes (the limit for one layer)`, { cause: error, detail: { source, limit: maxTarSize } });
      }
      throw new OciError('OCI_ARCHIVE_INVALID', `${source}: the layer is not valid gzip`, { cause: error, detail: { source } });
    }
  } else if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0xfd2fb528) {
    throw new OciError('OCI_ARCHIVE_INVALID', `${source}: zstd-compressed layers are not supported`, { detail: { source } });
  }
  let entries;
  try {
    entries = readTarEntries(bytes, source);
  } catch (error) {
    throw new OciError('OCI_ARCHIVE_INVALID', `${source}: not a readable tar: ${(error as Error).message}`, { cause: error, detail: { source } });
  }
  const result: LayerFiles = { files: new Map(), whiteouts: [], opaque: [] };
  for (const { header, content } of entries) {
    const path = clean(header.name);
    const base = path.slice(path.lastIndexOf('/') + 1);
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    const isWhiteout = base.startsWith('.wh.');
    if (base === '.wh..wh..opq') result.opaque.push(dir);
    else if (isWhiteout) result.whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
    if (header.type === 'file' && !isWhiteout && wanted(path)) {
      if (content.length > maxFileSize) {
        throw new KilnError('LIMIT_EXCEEDED', `${source}: ${path} is ${content.length} bytes (limit ${maxFileSize})`, { detail: { source, path, size: content.length, limit: maxFileSize } });
      }
      // A copy: the content is a view of the whole decompressed layer, which must not outlive this call.
      result.files.set(path, Buffer.from(content));
    }
  }
  return result;
}

/** Applies layers bottom to top: later files replace earlier ones, whiteouts remove them. */
export function applyLayers(layers: readonly LayerFiles[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const layer of layers) {
    for (const dir of layer.opaque) for (const path of [...files.keys()]) if (dir === '' || path.startsWith(`${dir}/`)) files.delete(path);
    for (const gone of layer.whiteouts) for (const path of [...files.keys()]) if (path === gone || path.startsWith(`${gone}/`)) files.delete(path);
    for (const [path, data] of layer.files) files.set(path, data);
  }
  return files;
}
