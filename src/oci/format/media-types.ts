// The OCI and Docker media types Kiln reads and writes: the one place they are spelled
// (src/lib/one-home.test.ts keeps it so). Registry, client, image builder, signing and SBOMs import
// them from here.

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** Every manifest type a pull accepts, in the order sent in `Accept`. */
export const MANIFEST_ACCEPT: readonly string[] = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest];

/** Manifest media types a registry stores and serves as manifests. */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set(MANIFEST_ACCEPT);

/** An index: a list of manifests (multi-platform image, referrers list). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerManifestList;
}

/** A single image (or artifact) manifest. */
export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociManifest || mediaType === MediaTypes.dockerManifest;
}

/** A filesystem layer, compressed or not, OCI or Docker. */
export function isLayerMediaType(mediaType: string): boolean {
  return mediaType.startsWith('application/vnd.oci.image.layer.') || mediaType.startsWith('application/vnd.docker.image.rootfs.');
}

/** A layer that may legitimately be absent from a registry (it carries `urls`). */
export function isNonDistributableLayer(mediaType: string): boolean {
  return mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.') || mediaType === MediaTypes.dockerForeignLayerGzip;
}

/** A runnable image's config (as opposed to an artifact's). */
export function isImageConfigMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociConfig || mediaType === MediaTypes.dockerConfig;
}
