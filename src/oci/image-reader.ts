import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError, parseJsonBounded, sha256Hex } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { OciError } from './errors.ts';
import { applyLayers } from './format/layer-files.ts';
import { readLayoutBlob, streamLayoutBlob } from './layout.ts';
import { readLayerStream } from './format/layer-stream.ts';
import { openTarFile } from './tar-file.ts';
import { MediaTypes } from './format/media-types.ts';
import { ManifestProblem, readManifestDocument } from './format/manifest.ts';
import type { ManifestDocument } from './format/manifest.ts';
import type { Descriptor } from './format/image.ts';

/** One layer of an image as stored (compressed), named for messages (`<source> layer <digest or
 *  member>`), read in chunks. A layout's blob stream checks its descriptor's digest at its end; a
 *  docker archive's member has no digest of its own: only the config's `rootfs.diff_ids` ties it to
 *  the image, so a reader checks the uncompressed digest (readLayerStream's `diffId`). */
export interface LayerSource {
  name: string;
  chunks(): AsyncIterable<Uint8Array>;
}

/** One image found in a layout or archive, with a way to read its layers. */
export interface ImageEntry {
  /** `os/architecture[/variant]`, or `unknown` when nothing says. */
  platform: string;
  /** Tag or ref name, when the source records one. */
  ref?: string;
  layerCount: number;
  /** The manifest's digest (layouts; a docker archive records none). */
  manifestDigest?: Digest;
  /** The config blob's digest (checked against the blob). */
  configDigest: Digest;
  /** The image config document as parsed (`config.User`, `config.Labels` …). */
  config: Record<string, unknown>;
  /** Annotations of the index(es) and descriptors that lead to the image, then of its manifest
   *  (later wins), without `org.opencontainers.image.ref.name` (that is `ref`). */
  annotations: Record<string, string>;
  /** The image's files that `wanted` accepts, layers applied with whiteouts. */
  files(wanted: (path: string) => boolean): Promise<Map<string, Buffer>>;
  /** The layers bottom to top, streamed (see {@link LayerSource} for what checks them). */
  layers(): LayerSource[];
}

/** The config's `rootfs.diff_ids`, one per layer: the digests of the uncompressed layers, which is
 *  what the config digest (the image id) fixes. */
function diffIdsOf(config: Record<string, unknown>, layerCount: number, where: string, fail: (why: string) => never): string[] {
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  const ids = rootfs?.diff_ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) return fail(`${where} has no rootfs.diff_ids`);
  if (ids.length !== layerCount) return fail(`${where} lists ${ids.length} diff_ids for ${layerCount} layer(s)`);
  return ids as string[];
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

function json(data: Buffer, where: string, fail: (why: string) => never): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonBounded(data.toString('utf8'), where);
  } catch {
    return fail(`${where} is not JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail(`${where} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** A manifest or index from the layout, validated by the one manifest parser. */
function manifestDocument(bytes: Buffer, mediaType: string | undefined, where: string, fail: (why: string) => never): ManifestDocument {
  try {
    return readManifestDocument(bytes, mediaType);
  } catch (error) {
    if (error instanceof ManifestProblem) return fail(`${where}: ${error.message}`);
    throw error;
  }
}

function platformOf(platform: { os?: unknown; architecture?: unknown; variant?: unknown } | undefined): string {
  if (!platform?.os || !platform.architecture) return 'unknown';
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
}

/** The images of an OCI image layout directory (nested indexes followed; attestation manifests
 *  with platform unknown/unknown skipped). OCI_LAYOUT_INVALID when malformed. */
export async function openOciLayout(dir: string): Promise<ImageEntry[]> {
  const fail = (why: string): never => {
    throw new OciError('OCI_LAYOUT_INVALID', `${dir}: ${why}`, { detail: { dir } });
  };
  let indexBytes: Buffer;
  try {
    indexBytes = await readFile(join(dir, 'index.json'));
  } catch {
    return fail('no index.json (not an OCI image layout)');
  }
  // Every read is by descriptor, so a blob must be the size its descriptor says before it is read.
  const blob = async (descriptor: Pick<Descriptor, 'digest' | 'size'>) => {
    const { digest } = descriptor;
    try {
      return await readLayoutBlob(dir, descriptor);
    } catch (error) {
      if (error instanceof OciError) throw error;
      return fail(`blob ${digest} is missing`);
    }
  };
  const images: ImageEntry[] = [];
  const seen = new Set<string>();
  const visit = async (list: readonly Descriptor[], where: string, inherited: string | undefined, inheritedAnnotations: Record<string, string>, depth: number): Promise<void> => {
    if (depth > 4) fail('indexes nest too deeply');
    for (const descriptor of list) {
      const ref = descriptor.annotations?.[REF_NAME] ?? inherited;
      const annotations = { ...inheritedAnnotations, ...stringRecord(descriptor.annotations) };
      const document = manifestDocument(await blob(descriptor), descriptor.mediaType, `${where} → ${descriptor.digest}`, fail);
      if (document.index) {
        await visit(document.index.manifests, descriptor.digest, ref, { ...annotations, ...stringRecord(document.index.annotations) }, depth + 1);
        continue;
      }
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      const { layers, config } = document.manifest;
      const configDocument = json(await blob(config), `${descriptor.digest} config`, fail);
      let platform = platformOf(descriptor.platform);
      if (platform === 'unknown') platform = platformOf(configDocument);
      if (platform === 'unknown/unknown') continue;
      const { [REF_NAME]: _ref, ...rest } = { ...annotations, ...stringRecord(document.manifest.annotations) };
      images.push({
        platform,
        ...(ref ? { ref } : {}),
        layerCount: layers.length,
        manifestDigest: descriptor.digest,
        configDigest: config.digest,
        config: configDocument,
        annotations: rest,
        files: async (wanted) => {
          // Each layer is streamed (never held whole) and checked against its descriptor's digest
          // and the config's diff id in the same pass.
          const diffIds = diffIdsOf(configDocument, layers.length, `${descriptor.digest} config`, fail);
          const read = [];
          for (const [index, layer] of layers.entries()) {
            read.push(await readLayerStream(layoutLayerChunks(dir, layer, fail), wanted, `${dir} layer ${layer.digest}`, { diffId: diffIds[index]!, diffIdIndex: index }));
          }
          return applyLayers(read);
        },
        layers: () => layers.map((layer) => ({ name: `${dir} layer ${layer.digest}`, chunks: () => layoutLayerChunks(dir, layer, fail) })),
      });
    }
  };
  const index = manifestDocument(indexBytes, MediaTypes.ociIndex, 'index.json', fail);
  if (!index.index) return fail('index.json is not an image index');
  await visit(index.index.manifests, 'index.json', undefined, stringRecord(index.index.annotations), 0);
  return images;
}

/** True when the bytes start like a tar archive (ustar magic at offset 257). */
export function looksLikeTar(bytes: Uint8Array): boolean {
  return bytes.length >= 512 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar';
}

/** The images of a docker-archive tarball (`docker save`, `kiln image build` output): its
 *  manifest.json names each image's config and layers. OCI_ARCHIVE_INVALID when malformed. */
export async function openDockerArchive(path: string, options: { maxBytes?: number } = {}): Promise<ImageEntry[]> {
  const fail = (why: string): never => {
    throw new OciError('OCI_ARCHIVE_INVALID', `${path}: ${why}`, { detail: { path } });
  };
  // Indexed in place: an archive of many gigabytes is never held, only the members read.
  const archive = await openTarFile(path, 'docker archive', options);
  const member = (name: string, where: string) => archive.find(name) ?? fail(`${where} names ${name}, which the archive lacks`);
  const manifestMember = archive.find('manifest.json') ?? fail('no manifest.json (not a docker archive)');
  const manifestBytes = await archive.read(manifestMember, ARCHIVE_MANIFEST_LIMIT);
  let manifest: unknown;
  try {
    manifest = parseJsonBounded(manifestBytes.toString('utf8'), `${path}: manifest.json`);
  } catch {
    return fail('manifest.json is not JSON');
  }
  if (!Array.isArray(manifest)) return fail('manifest.json is not a list');
  const images: ImageEntry[] = [];
  for (const [index, entry] of (manifest as unknown[]).entries()) {
    const item = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown } | null;
    if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every((layer) => typeof layer === 'string')) fail(`manifest.json[${index}] needs Config and Layers`);
    const layers = item!.Layers as string[];
    const configName = item!.Config as string;
    const configBytes = await archive.read(member(configName, `manifest.json[${index}]`), ARCHIVE_CONFIG_LIMIT);
    const hex = /([0-9a-f]{64})(\.json)?$/.exec(configName)?.[1];
    if (hex && sha256Hex(configBytes) !== hex) fail(`${configName} does not match its digest`);
    const config = json(configBytes, configName, fail);
    // the archive's layers are whatever members manifest.json names: only the config's diff ids
    // (fixed by the config digest) tie them to the image
    const diffIds = diffIdsOf(config, layers.length, configName, fail);
    const layerMembers = layers.map((name) => member(name, `manifest.json[${index}]`));
    const tags = Array.isArray(item!.RepoTags) ? (item!.RepoTags as unknown[]).filter((tag): tag is string => typeof tag === 'string') : [];
    images.push({
      platform: platformOf(config),
      ...(tags[0] ? { ref: tags[0] } : {}),
      layerCount: layers.length,
      configDigest: `sha256:${sha256Hex(configBytes)}` as Digest,
      config,
      annotations: {},
      layers: () => layers.map((name, position) => ({ name: `${path}: layer ${name}`, chunks: () => archive.stream(layerMembers[position]!) })),
      files: async (wanted: (path: string) => boolean) => {
        const read = [];
        for (const [position, name] of layers.entries()) {
          read.push(await readLayerStream(archive.stream(layerMembers[position]!), wanted, `${path}: layer ${name}`, { diffId: diffIds[position]!, diffIdIndex: position }));
        }
        return applyLayers(read);
      },
    });
  }
  return images;
}

/** Largest manifest.json and image config read from a docker archive. */
const ARCHIVE_MANIFEST_LIMIT = 16 * 1024 * 1024;
const ARCHIVE_CONFIG_LIMIT = 16 * 1024 * 1024;

/** A layout layer's chunks; a missing blob is OCI_LAYOUT_INVALID naming it. */
async function* layoutLayerChunks(dir: string, layer: Descriptor, fail: (why: string) => never): AsyncGenerator<Buffer> {
  try {
    yield* streamLayoutBlob(dir, layer);
  } catch (error) {
    if (error instanceof KilnError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') fail(`blob ${layer.digest} is missing`);
    throw error;
  }
}
