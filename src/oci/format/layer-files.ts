import { readTarEntries, splitGzipMembers } from '../../apk/index.ts';
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

function clean(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** Reads a layer (gzip or plain tar) keeping the regular files `wanted` accepts (paths without a
 *  leading slash). Symbolic links are not followed. OCI_ARCHIVE_INVALID when it is not a tar. */
export async function readLayerFiles(layer: Uint8Array, wanted: (path: string) => boolean, source: string): Promise<LayerFiles> {
  let bytes = Buffer.from(layer.buffer, layer.byteOffset, layer.byteLength);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = Buffer.concat(splitGzipMembers(bytes, { name: source }).map((member) => member.content));
    } catch (error) {
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
    if (header.type === 'file' && !isWhiteout && wanted(path)) result.files.set(path, content);
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
