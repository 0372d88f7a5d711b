export type { MetadataStore, ManifestRecord, UploadSession, TagRecord, BlobLink, PutManifestResult, Page } from './port.ts';
export { MetadataError, metadataErrorCodes } from './errors.ts';
export type { MetadataErrorCode } from './errors.ts';
export { SqliteMetadataStore } from './sqlite/sqlite-metadata-store.ts';
