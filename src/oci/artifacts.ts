import { createHash } from 'node:crypto';
import type { Digest } from '../lib/index.ts';
import { descriptor, imageConfigDocument, imageIndexDocument, imageManifestDocument } from './format/image.ts';
import { MediaTypes } from './format/media-types.ts';
import type { Descriptor, HistoryEntry, Platform, RuntimeConfig } from './format/image.ts';
import { goJsonBytes } from './format/json.ts';
import type { LayerBlob } from './layer.ts';

/** A content-addressed blob held in memory. */
export interface Blob {
  mediaType: string;
  digest: Digest;
  data: Uint8Array;
}

/** One single-platform image: manifest, config and layers. */
export interface BuiltImage {
  platform: Platform;
  manifest: Blob;
  config: Blob;
  layers: LayerBlob[];
}

/** A multi-platform index over built images (always produced, even for one arch). */
export interface BuiltIndex {
  index: Blob;
  images: BuiltImage[];
}

function blob(mediaType: string, data: Uint8Array): Blob {
  return { mediaType, digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, data };
}

/** Descriptor of a blob. */
export function blobDescriptor(item: Blob, extra: Partial<Descriptor> = {}): Descriptor {
  return descriptor({ mediaType: item.mediaType, size: item.data.length, digest: item.digest, ...extra });
}

/** Inputs of {@link assembleImage}. */
export interface AssembleImageInput {
  platform: Platform;
  layers: LayerBlob[];
  created: string;
  history: HistoryEntry[];
  runtime: RuntimeConfig;
  author?: string;
  /** Manifest annotations. */
  annotations: Record<string, string>;
}

/** Builds config and manifest of one image from finished layers (pure apart from hashing). */
export function assembleImage(input: AssembleImageInput): BuiltImage {
  const config = blob(
    MediaTypes.ociConfig,
    goJsonBytes(
      imageConfigDocument({
        platform: input.platform,
        ...(input.author ? { author: input.author } : {}),
        created: input.created,
        history: input.history,
        diffIds: input.layers.map((layer) => layer.diffId),
        config: input.runtime,
      }),
    ),
  );
  const layers = input.layers.map((layer) => descriptor({ mediaType: MediaTypes.ociLayerGzip, size: layer.size, digest: layer.digest }));
  const manifest = blob(MediaTypes.ociManifest, goJsonBytes(imageManifestDocument(blobDescriptor(config), layers, input.annotations)));
  return { platform: input.platform, manifest, config, layers: input.layers };
}

/** Builds the index over images (in the order given) with apko's per-manifest artifactType. */
export function assembleIndex(images: readonly BuiltImage[], annotations: Record<string, string>): BuiltIndex {
  const manifests = images.map((image) => blobDescriptor(image.manifest, { platform: image.platform, artifactType: MediaTypes.ociConfig }));
  const index = blob(MediaTypes.ociIndex, goJsonBytes(imageIndexDocument(manifests, annotations)));
  return { index, images: [...images] };
}

/** Every distinct blob of an index (index, manifests, configs, layers), each once, sorted by digest. */
export function allBlobs(built: BuiltIndex): Blob[] {
  const byDigest = new Map<string, Blob>();
  byDigest.set(built.index.digest, built.index);
  for (const image of built.images) {
    byDigest.set(image.manifest.digest, image.manifest);
    byDigest.set(image.config.digest, image.config);
    for (const layer of image.layers) byDigest.set(layer.digest, { mediaType: MediaTypes.ociLayerGzip, digest: layer.digest, data: layer.data });
  }
  return [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
}
