// Public API of the OCI formats: the one OCI vocabulary (media types, descriptors, manifests and
// indexes, their validation), deterministic tar, layers, image config/manifest/index, outputs.
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { OciError, ociErrorCodes } from './errors.ts';
export type { OciErrorCode } from './errors.ts';
export { encodeTarHeader, encodeTar, tarPadding, TAR_END } from './format/tar.ts';
export type { TarHeader, TarEntryType, TarMember } from './format/tar.ts';
export { goJson, goJsonBytes, sortedRecord, encodeJson } from './format/json.ts';
export {
  MediaTypes, MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES,
  isIndexMediaType, isManifestMediaType, isLayerMediaType, isNonDistributableLayer, isImageConfigMediaType,
} from './format/media-types.ts';
export { descriptor, imageConfigDocument, imageManifestDocument, imageIndexDocument } from './format/image.ts';
export type { Descriptor, Platform, ImageManifest, ImageIndex, HistoryEntry, RuntimeConfig, ImageConfigInput } from './format/image.ts';
export { parseManifest, readManifestDocument, ManifestProblem, REGISTERED_DIGEST_ALGORITHMS, isRegisteredDigest } from './format/manifest.ts';
export type { ParsedManifest, ManifestDocument } from './format/manifest.ts';
export { LayerBuilder, ParallelGzipWriter, compressLayer, parallelGzip, LAYER_GZIP_OPTIONS, LAYER_GZIP_BLOCK } from './layer.ts';
export type { LayerBlob } from './layer.ts';
export { assembleImage, assembleIndex, allBlobs, blobDescriptor } from './artifacts.ts';
export type { Blob, BuiltImage, BuiltIndex, AssembleImageInput } from './artifacts.ts';
export { LAYOUT_MANIFEST_LIMIT, writeOciLayout, readLayoutBlob, streamLayoutBlob } from './layout.ts';
export { openTarFile } from './tar-file.ts';
export type { TarFile, TarFileMember } from './tar-file.ts';
export type { WriteLayoutOptions } from './layout.ts';
export { writeDockerArchive, dockerArchiveEntries } from './docker-archive.ts';
export { openOciLayout, openDockerArchive, looksLikeTar } from './image-reader.ts';
export type { ImageEntry, LayerSource } from './image-reader.ts';
export { applyLayers, cleanLayerPath } from './format/layer-files.ts';
export { readLayerStream, walkLayerStream } from './format/layer-stream.ts';
export type { LayerEntryBody, LayerStreamOptions, StreamedLayer, WalkedLayer } from './format/layer-stream.ts';
export type { LayerFiles } from './format/layer-files.ts';
export type { DockerArchiveOptions } from './docker-archive.ts';
export {
  parseImageReference, formatReference, formatTaggedReference, referenceIdentifier, withDigest, withTag, DOCKER_HUB,
} from './format/reference.ts';
export type { ImageReference } from './format/reference.ts';
