import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of blob-store drivers. */
export const storageErrorCodes = {
  STORAGE_BLOB_NOT_FOUND: 'the requested blob is not in the blob store',
  STORAGE_DIGEST_MISMATCH: 'written bytes did not hash to the digest they were stored under; nothing was committed',
  STORAGE_SIZE_MISMATCH: 'written bytes did not have the announced length; nothing was committed',
  STORAGE_UPLOAD_NOT_FOUND: 'the staged upload does not exist (expired, committed or cancelled)',
  STORAGE_UPLOAD_OFFSET: 'an append did not start at the current end of the staged upload',
  STORAGE_RANGE_INVALID: 'a read range lies outside the blob',
  STORAGE_INVALID_ID: 'an upload id or digest is malformed and cannot name a stored object',
  STORAGE_BACKEND_FAILED: 'the object store (S3) refused a request or could not be reached; the message names the operation and the service error',
} as const satisfies ErrorCodeTable<string>;

export type StorageErrorCode = keyof typeof storageErrorCodes;

/** A blob-store failure; `detail` carries the digest or upload id at fault. */
export class StorageError extends KilnError<StorageErrorCode> {}
