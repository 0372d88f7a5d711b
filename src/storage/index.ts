export type { BlobStore, BlobInfo, StagedUpload } from './port.ts';
export { StorageError, storageErrorCodes } from './errors.ts';
export type { StorageErrorCode } from './errors.ts';
export { FsBlobStore } from './fs/fs-blob-store.ts';
