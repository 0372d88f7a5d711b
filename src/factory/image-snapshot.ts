import { ApkError, inflateGzipMembers, LAYER_INFLATE_LIMIT, parseInstalledDb, readTarEntries } from '../apk/index.ts';
import { ImageError, parseOsRelease } from '../image/index.ts';
import { isDigest, KilnError, parseJsonBounded, sha256Hex } from '../lib/index.ts';
import type { ImageSnapshot, SnapshotFile, SnapshotLayer } from './format/image-diff.ts';

// Reads what the image diff compares out of an image, whatever holds it: every layer is
// decompressed and its tar headers applied in order (OCI whiteouts included) into one file table
// with content digests; the apk database and os-release are kept for the package and CVE diffs.

/** A top-level entry of an image source: an OCI layout's index.json entry, a registry reference's
 *  manifest, a docker archive's image. */
export interface SourceRoot {
  digest: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  /** Tag or ref name the source records, if any. */
  ref?: string;
  /** The adapter made the manifest up (a docker archive has none): it has no digest to report. */
  synthetic?: boolean;
}

/** Where an image's manifests and blobs come from (port; adapters in image-source.ts). */
export interface ImageBlobSource {
  /** How to name it in messages: what the user typed. */
  readonly name: string;
  /** The images or indexes it holds at the top. */
  roots(): Promise<SourceRoot[]>;
  /** A manifest or index by digest, verified against it. */
  manifest(digest: string): Promise<Uint8Array>;
  /** A config or layer blob by digest, verified against it and, when its descriptor gives one,
   *  against its size before it is read. */
  blob(digest: string, size?: number): Promise<Uint8Array>;
}

/** A snapshot plus what the CVE diff needs. */
export interface ReadSnapshot extends ImageSnapshot {
  /** os-release fields, when the image has one. */
  os?: Record<string, string>;
  /** Installed packages with their origin (for matching). */
  installed: Array<{ name: string; version: string; origin?: string }>;
}

const KEPT = new Set(['etc/os-release', 'usr/lib/os-release', 'lib/apk/db/installed', 'usr/lib/apk/db/installed']);

function invalid(source: string, why: string, cause?: unknown): ImageError {
  return new ImageError('IMAGE_SOURCE_INVALID', `${source}: ${why}`, { ...(cause ? { cause } : {}), detail: { source } });
}

function jsonObject(bytes: Uint8Array, source: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonBounded(Buffer.from(bytes).toString('utf8'), `${source}: ${what}`);
  } catch (error) {
    throw invalid(source, `${what} is not JSON`, error);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(source, `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function clean(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

function platformText(platform: { os?: unknown; architecture?: unknown; variant?: unknown } | undefined): string | undefined {
  if (typeof platform?.os !== 'string' || typeof platform.architecture !== 'string') return undefined;
  return `${platform.os}/${platform.architecture}${typeof platform.variant === 'string' && platform.variant ? `/${platform.variant}` : ''}`;
}

/** Decompresses (gzip) or takes (plain tar) one layer; LIMIT_EXCEEDED past `maxSize` decompressed bytes. */
function layerTar(bytes: Uint8Array, where: string, maxSize: number): Buffer {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer[0] === 0x1f && buffer[1] === 0x8b) {
    try {
      return inflateGzipMembers(buffer, { name: where, maxTotalSize: maxSize });
    } catch (error) {
      if (error instanceof ApkError && error.code === 'APK_LIMIT_EXCEEDED') {
        throw new KilnError('LIMIT_EXCEEDED', `${where}: decompresses to more than ${maxSize} bytes (the limit for one layer)`, { cause: error, detail: { source: where, limit: maxSize } });
      }
      throw invalid(where, 'the layer is not valid gzip', error);
    }
  }
  if (buffer.length >= 4 && buffer.readUInt32LE(0) === 0xfd2fb528) throw invalid(where, 'zstd-compressed layers are not supported');
  return buffer;
}

/** Applies one layer's tar onto `files` (whiteouts first, as the OCI spec orders them within a layer). */
function applyLayer(files: Map<string, SnapshotFile>, kept: Map<string, Buffer>, tar: Buffer, index: number, where: string): void {
  let entries;
  try {
    entries = readTarEntries(tar, where);
  } catch (error) {
    throw invalid(where, `not a readable tar: ${(error as Error).message}`, error);
  }
  const remove = (prefix: string, self: boolean) => {
    for (const path of [...files.keys()]) {
      if ((self && path === prefix) || prefix === '' || path.startsWith(`${prefix}/`)) {
        files.delete(path);
        kept.delete(path);
      }
    }
  };
  for (const { header } of entries) {
    const path = clean(header.name);
    const base = path.slice(path.lastIndexOf('/') + 1);
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    if (base === '.wh..wh..opq') remove(dir, false);
    else if (base.startsWith('.wh.')) remove(dir ? `${dir}/${base.slice(4)}` : base.slice(4), true);
  }
  for (const { header, content } of entries) {
    const path = clean(header.name);
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (path === '' || path === '.' || base.startsWith('.wh.')) continue;
    const existing = files.get(path);
    // A directory entry repeated in a later layer keeps the directory's contents.
    if (existing && existing.type !== 'directory' && header.type === 'directory') remove(path, false);
    if (existing && existing.type === 'directory' && header.type !== 'directory') remove(path, false);
    files.set(path, {
      type: header.type,
      mode: header.mode & 0o7777,
      uid: header.uid,
      gid: header.gid,
      size: header.type === 'file' ? content.length : 0,
      ...(header.type === 'file' ? { digest: `sha256:${sha256Hex(content)}` } : {}),
      ...(header.linkName ? { linkName: header.linkName } : {}),
      mtime: header.mtime,
      layer: index,
    });
    // A copy: the content is a view of the whole decompressed layer, which must not outlive it.
    if (header.type === 'file' && KEPT.has(path)) kept.set(path, Buffer.from(content));
    else kept.delete(path);
  }
}

/** A descriptor's size when it is a usable one; a missing or odd size is left to the digest check. */
function descriptorSize(size: unknown): number | undefined {
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

async function readImage(source: ImageBlobSource, manifestDigest: string | undefined, manifest: Record<string, unknown>, descriptorPlatform: string | undefined, maxLayerSize: number): Promise<ReadSnapshot> {
  const where = `${source.name}${manifestDigest ? `@${manifestDigest}` : ''}`;
  const config = manifest.config as { digest?: unknown; size?: unknown } | undefined;
  if (typeof config?.digest !== 'string' || !isDigest(config.digest)) throw invalid(where, 'the manifest names no config digest');
  const configDocument = jsonObject(await source.blob(config.digest, descriptorSize(config.size)), where, `config ${config.digest}`);
  const platform = descriptorPlatform ?? platformText(configDocument as { os?: unknown; architecture?: unknown; variant?: unknown }) ?? 'unknown';
  if (!Array.isArray(manifest.layers)) throw invalid(where, 'the manifest has no layer list');
  const files = new Map<string, SnapshotFile>();
  const kept = new Map<string, Buffer>();
  const layers: SnapshotLayer[] = [];
  for (const [index, layer] of (manifest.layers as Array<{ digest?: unknown; size?: unknown }>).entries()) {
    if (typeof layer?.digest !== 'string' || !isDigest(layer.digest)) throw invalid(where, `layer ${index} has no digest`);
    const stored = await source.blob(layer.digest, descriptorSize(layer.size));
    const tar = layerTar(stored, `${where} layer ${layer.digest}`, maxLayerSize);
    layers.push({ digest: layer.digest, compressedSize: stored.byteLength, uncompressedSize: tar.length });
    applyLayer(files, kept, tar, index, `${where} layer ${layer.digest}`);
  }
  const osBytes = kept.get('etc/os-release') ?? kept.get('usr/lib/os-release');
  const dbPath = ['lib/apk/db/installed', 'usr/lib/apk/db/installed'].find((path) => kept.has(path));
  const installed = dbPath
    ? parseInstalledDb(kept.get(dbPath)!.toString('utf8'), { source: `${where}:${dbPath}` }).map(({ record }) => ({ name: record.name, version: record.version, ...(record.origin ? { origin: record.origin } : {}) }))
    : [];
  const runtime = configDocument.config && typeof configDocument.config === 'object' && !Array.isArray(configDocument.config) ? (configDocument.config as Record<string, unknown>) : {};
  return {
    platform,
    ...(manifestDigest ? { manifestDigest } : {}),
    configDigest: config.digest,
    layers,
    files,
    packages: installed.map(({ name, version }) => ({ name, version })),
    installed,
    runtime,
    ...(osBytes ? { os: parseOsRelease(osBytes.toString('utf8')) } : {}),
  };
}

/** Options of {@link readImageSnapshots}. */
export interface ReadSnapshotOptions {
  /** Only this platform (`linux/amd64` or `amd64`). */
  platform?: string;
  /** Largest decompressed layer (default {@link LAYER_INFLATE_LIMIT}). */
  maxLayerSize?: number;
}

/** Every single-platform image the source holds (indexes followed; attestation manifests of
 *  platform unknown/unknown skipped), read into snapshots. IMAGE_SOURCE_INVALID when malformed. */
export async function readImageSnapshots(source: ImageBlobSource, options: ReadSnapshotOptions = {}): Promise<ReadSnapshot[]> {
  const wanted = options.platform ? (options.platform.includes('/') ? options.platform : `linux/${options.platform}`) : undefined;
  const snapshots: ReadSnapshot[] = [];
  const seen = new Set<string>();
  const visit = async (digest: string, platform: string | undefined, depth: number, synthetic = false): Promise<void> => {
    if (depth > 4) throw invalid(source.name, 'indexes nest too deeply');
    const document = jsonObject(await source.manifest(digest), source.name, `manifest ${digest}`);
    if (Array.isArray(document.manifests)) {
      for (const child of document.manifests as Array<{ digest?: unknown; platform?: SourceRoot['platform'] }>) {
        if (typeof child?.digest !== 'string' || !isDigest(child.digest)) throw invalid(source.name, `index ${digest} lists a manifest without a digest`);
        const childPlatform = platformText(child.platform);
        if (childPlatform === 'unknown/unknown') continue;
        if (wanted && childPlatform && childPlatform !== wanted) continue;
        await visit(child.digest, childPlatform, depth + 1);
      }
      return;
    }
    if (seen.has(digest)) return;
    seen.add(digest);
    const snapshot = await readImage(source, synthetic ? undefined : digest, document, platform, options.maxLayerSize ?? LAYER_INFLATE_LIMIT);
    if (snapshot.platform === 'unknown/unknown') return;
    if (wanted && snapshot.platform !== wanted) return;
    snapshots.push(snapshot);
  };
  for (const root of await source.roots()) await visit(root.digest, platformText(root.platform), 0, root.synthetic);
  if (snapshots.length === 0) throw invalid(source.name, wanted ? `holds no image for platform ${wanted}` : 'holds no image');
  return snapshots;
}
