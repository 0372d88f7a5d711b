import { createHash } from 'node:crypto';
import { parseInstalledDb } from '../apk/index.ts';
import { ImageError, parseOsRelease } from '../image/index.ts';
import { isDigest, KilnError, parseJsonBounded, sha256Hex } from '../lib/index.ts';
import { cleanLayerPath, walkLayerStream } from '../oci/index.ts';
import type { ImageSnapshot, SnapshotFile, SnapshotLayer } from './format/image-diff.ts';

// Reads what the image diff compares out of an image, whatever holds it: every layer is streamed
// (never held whole) and its tar headers applied in order (OCI whiteouts included) into one file
// table with content digests; the apk database and os-release are kept for the package and CVE diffs.

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
  /** A config blob by digest, verified against it and, when its descriptor gives one, against its
   *  size before it is read. */
  blob(digest: string, size?: number): Promise<Uint8Array>;
  /** A layer blob by digest in chunks, checked as {@link blob} is; the digest is checked at the end
   *  of the stream (the iteration throws there), so nothing read is trusted before it ends. */
  layer(digest: string, size?: number): AsyncIterable<Uint8Array>;
}

/** A snapshot plus what the CVE diff needs. */
export interface ReadSnapshot extends ImageSnapshot {
  /** os-release fields, when the image has one. */
  os?: Record<string, string>;
  /** Installed packages with their origin (for matching). */
  installed: Array<{ name: string; version: string; origin?: string }>;
}

const KEPT = new Set(['etc/os-release', 'usr/lib/os-release', 'lib/apk/db/installed', 'usr/lib/apk/db/installed']);
/** Largest kept file (an apk database of thousands of packages is a few MiB). */
const KEPT_LIMIT = 64 * 1024 * 1024;

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

function platformText(platform: { os?: unknown; architecture?: unknown; variant?: unknown } | undefined): string | undefined {
  if (typeof platform?.os !== 'string' || typeof platform.architecture !== 'string') return undefined;
  return `${platform.os}/${platform.architecture}${typeof platform.variant === 'string' && platform.variant ? `/${platform.variant}` : ''}`;
}

/** One entry of a layer as the snapshot keeps it: metadata and content digest, and the content of
 *  the few files the diff reads (os-release, the apk database). */
interface LayerEntry {
  path: string;
  file: SnapshotFile;
  content?: Buffer;
}

/** Streams one layer into its entries and whiteouts, never holding the layer. */
async function readLayer(chunks: AsyncIterable<Uint8Array>, index: number, where: string): Promise<{ entries: LayerEntry[]; removed: Array<{ path: string; self: boolean }>; compressedSize: number; uncompressedSize: number }> {
  const entries: LayerEntry[] = [];
  const removed: Array<{ path: string; self: boolean }> = [];
  let compressedSize = 0;
  const counted = (async function* () {
    for await (const chunk of chunks) {
      compressedSize += chunk.byteLength;
      yield chunk;
    }
  })();
  let walked;
  try {
    walked = await walkLayerStream(counted, where, async (header, body) => {
      const path = cleanLayerPath(header.name);
      const base = path.slice(path.lastIndexOf('/') + 1);
      const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      if (base === '.wh..wh..opq') removed.push({ path: dir, self: false });
      else if (base.startsWith('.wh.')) removed.push({ path: dir ? `${dir}/${base.slice(4)}` : base.slice(4), self: true });
      if (path === '' || path === '.' || base.startsWith('.wh.')) return;
      const file: SnapshotFile = {
        type: header.type,
        mode: header.mode & 0o7777,
        uid: header.uid,
        gid: header.gid,
        size: header.type === 'file' ? header.size : 0,
        ...(header.linkName ? { linkName: header.linkName } : {}),
        mtime: header.mtime,
        layer: index,
      };
      const entry: LayerEntry = { path, file };
      if (header.type === 'file') {
        if (KEPT.has(path) && header.size <= KEPT_LIMIT) {
          // a copy: the content may be a view of a larger decompressed chunk
          const content = Buffer.from(await body.content());
          file.digest = `sha256:${sha256Hex(content)}`;
          entry.content = content;
        } else {
          const hash = createHash('sha256');
          for await (const part of body.chunks()) hash.update(part);
          file.digest = `sha256:${hash.digest('hex')}`;
        }
      }
      entries.push(entry);
    });
  } catch (error) {
    if (error instanceof ImageError || (error instanceof KilnError && error.code === 'LIMIT_EXCEEDED')) throw error;
    if (error instanceof KilnError) throw invalid(where, (error.message.startsWith(`${where}: `) ? error.message.slice(where.length + 2) : error.message), error);
    throw error;
  }
  return { entries, removed, compressedSize, uncompressedSize: walked.size };
}

/** Applies one layer onto `files` (whiteouts first, as the OCI spec orders them within a layer). */
function applyLayer(files: Map<string, SnapshotFile>, kept: Map<string, Buffer>, layer: { entries: LayerEntry[]; removed: Array<{ path: string; self: boolean }> }): void {
  const remove = (prefix: string, self: boolean) => {
    for (const path of [...files.keys()]) {
      if ((self && path === prefix) || prefix === '' || path.startsWith(`${prefix}/`)) {
        files.delete(path);
        kept.delete(path);
      }
    }
  };
  for (const { path, self } of layer.removed) remove(path, self);
  for (const { path, file, content } of layer.entries) {
    const existing = files.get(path);
    // A directory entry repeated in a later layer keeps the directory's contents.
    if (existing && existing.type !== 'directory' && file.type === 'directory') remove(path, false);
    if (existing && existing.type === 'directory' && file.type !== 'directory') remove(path, false);
    files.set(path, file);
    if (content) kept.set(path, content);
    else kept.delete(path);
  }
}

/** A descriptor's size when it is a usable one; a missing or odd size is left to the digest check. */
function descriptorSize(size: unknown): number | undefined {
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

async function readImage(source: ImageBlobSource, manifestDigest: string | undefined, manifest: Record<string, unknown>, descriptorPlatform: string | undefined): Promise<ReadSnapshot> {
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
    const read = await readLayer(source.layer(layer.digest, descriptorSize(layer.size)), index, `${where} layer ${layer.digest}`);
    layers.push({ digest: layer.digest, compressedSize: read.compressedSize, uncompressedSize: read.uncompressedSize });
    applyLayer(files, kept, read);
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
    const snapshot = await readImage(source, synthetic ? undefined : digest, document, platform);
    if (snapshot.platform === 'unknown/unknown') return;
    if (wanted && snapshot.platform !== wanted) return;
    snapshots.push(snapshot);
  };
  for (const root of await source.roots()) await visit(root.digest, platformText(root.platform), 0, root.synthetic);
  if (snapshots.length === 0) throw invalid(source.name, wanted ? `holds no image for platform ${wanted}` : 'holds no image');
  return snapshots;
}
