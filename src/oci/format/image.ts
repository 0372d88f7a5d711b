import type { Digest } from '../../lib/index.ts';
import { sortedRecord } from './json.ts';
import { MediaTypes } from './media-types.ts';

// The OCI vocabulary's shapes (descriptor, platform, manifest, index) and pure builders of image
// config, manifest and index documents with apko's field order (image-config.md §10).

/** An OCI platform. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor (field order as Go's ggcr writes it). */
export interface Descriptor {
  mediaType: string;
  size: number;
  digest: Digest;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
  urls?: string[];
  data?: string;
}

/** An OCI image manifest (also used for artifacts: signatures, bundles, attestations). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index (multi-platform image, or a referrers list). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** One history entry of an image config. */
export interface HistoryEntry {
  author?: string;
  created: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The runtime part of an image config (`config`), before ordering. */
export interface RuntimeConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  User?: string;
  Volumes?: string[];
  WorkingDir?: string;
  StopSignal?: string;
}

/** Inputs of an image config document. */
export interface ImageConfigInput {
  platform: Platform;
  author?: string;
  created: string;
  history: HistoryEntry[];
  diffIds: Digest[];
  config: RuntimeConfig;
}

/** The image config document (MediaTypes.ociConfig) in apko's key order. */
export function imageConfigDocument(input: ImageConfigInput): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  const runtime = input.config;
  if (runtime.Cmd?.length) config.Cmd = runtime.Cmd;
  if (runtime.Entrypoint?.length) config.Entrypoint = runtime.Entrypoint;
  if (runtime.Env?.length) config.Env = runtime.Env;
  if (runtime.Labels && Object.keys(runtime.Labels).length) config.Labels = sortedRecord(runtime.Labels);
  if (runtime.User) config.User = runtime.User;
  if (runtime.Volumes?.length) config.Volumes = Object.fromEntries([...runtime.Volumes].sort().map((volume) => [volume, {}]));
  if (runtime.WorkingDir) config.WorkingDir = runtime.WorkingDir;
  if (runtime.StopSignal) config.StopSignal = runtime.StopSignal;
  const document: Record<string, unknown> = {
    architecture: input.platform.architecture,
    ...(input.author ? { author: input.author } : {}),
    created: input.created,
    history: input.history.map((entry) => ({
      ...(entry.author ? { author: entry.author } : {}),
      created: entry.created,
      ...(entry.created_by ? { created_by: entry.created_by } : {}),
      ...(entry.comment ? { comment: entry.comment } : {}),
      ...(entry.empty_layer ? { empty_layer: true } : {}),
    })),
    os: input.platform.os,
    rootfs: { type: 'layers', diff_ids: input.diffIds },
    config,
  };
  if (input.platform.variant) document.variant = input.platform.variant;
  return document;
}

/** A descriptor with fields in Go order. */
export function descriptor(input: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: input.mediaType, size: input.size, digest: input.digest };
  if (input.platform) {
    out.platform = { architecture: input.platform.architecture, os: input.platform.os, ...(input.platform.variant ? { variant: input.platform.variant } : {}) };
  }
  if (input.annotations && Object.keys(input.annotations).length) out.annotations = sortedRecord(input.annotations);
  if (input.artifactType) out.artifactType = input.artifactType;
  return out;
}

/** An image manifest document. */
export function imageManifestDocument(config: Descriptor, layers: readonly Descriptor[], annotations: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: descriptor(config),
    layers: layers.map(descriptor),
    ...(Object.keys(annotations).length ? { annotations: sortedRecord(annotations) } : {}),
  };
}

/** An image index document. */
export function imageIndexDocument(manifests: readonly Descriptor[], annotations: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: manifests.map(descriptor),
    ...(Object.keys(annotations).length ? { annotations: sortedRecord(annotations) } : {}),
  };
}
