// Pure: the files picked out of image layers (a scanner needs /etc/os-release and the apk
// database, not the whole filesystem; layer-stream.ts reads them) applied in order with OCI whiteouts.

/** Files found in one layer, and what it deletes. */
export interface LayerFiles {
  files: Map<string, Buffer>;
  /** Paths removed by `.wh.<name>` entries. */
  whiteouts: string[];
  /** Directories emptied by `.wh..wh..opq`. */
  opaque: string[];
}

/** Largest wanted file a layer reader keeps by default. */
export const DEFAULT_LAYER_FILE_LIMIT = 64 * 1024 ** 2;

/** A tar member's path as the image sees it: no leading `./` or `/`, no trailing slash. */
export function cleanLayerPath(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
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
