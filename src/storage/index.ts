// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export type { BlobStore, BlobInfo, StagedUpload } from './port.ts';
export { StorageError, storageErrorCodes } from './errors.ts';
export type { StorageErrorCode } from './errors.ts';
export { FsBlobStore } from './fs/fs-blob-store.ts';
import type { S3BlobStore } from './s3/s3-blob-store.ts';
export type { S3BlobStore, S3BlobStoreOptions } from './s3/s3-blob-store.ts';

/** Loads the S3 driver on demand: the AWS SDK takes about 300 ms to import, paid only by S3 configs. */
export async function loadS3BlobStore(): Promise<typeof S3BlobStore> {
  return (await import('./s3/s3-blob-store.ts')).S3BlobStore;
}
