/**
 * Kiln's OCI distribution client, used by `kiln image publish` and the trust commands.
 *
 *   const client = new RegistryClient({ credentials: dockerConfigCredentials(), allowInsecure });
 *   const ref = parseImageReference('localhost:5000/team/app:1.0'); // from src/oci
 *   const layer = await client.pushBlob(ref, bytes, { mediaType: MediaTypes.ociLayerGzip });
 *   const { digest } = await client.putManifest(ref, manifestBytes, MediaTypes.ociManifest);
 *   const pulled = await client.getManifest(withDigest(ref, digest)); // bytes verified
 *
 * Everything pulled is verified against its digest; manifests are pushed and returned verbatim.
 */
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { RegistryClient, parseChallenge } from './client.ts';
export type { RegistryClientOptions, RepositoryRef, PulledManifest, ReferrersResult, BlobSource } from './client.ts';
export { dockerConfigCredentials, staticCredentials } from './docker-config.ts';
export type { CredentialLookup, RegistryCredentials } from './docker-config.ts';
// Image references and the OCI vocabulary (media types, descriptors, manifests) are src/oci's:
// import them from there.
export { isLoopbackRegistry, referrersFallbackTag, registryApiHost } from './format/endpoints.ts';
export { RegistryClientError, registryClientErrorTable } from './errors.ts';
export type { RegistryClientErrorCode } from './errors.ts';
