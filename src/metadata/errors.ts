import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of metadata-store drivers. */
export const metadataErrorCodes = {
  METADATA_OPEN_FAILED: 'the metadata database could not be opened or migrated (path, permissions, or a newer schema)',
  METADATA_UPLOAD_EXISTS: 'an upload session with this id already exists',
  METADATA_CORRUPT: 'a stored metadata row could not be decoded',
  METADATA_UNAVAILABLE: 'the metadata database (PostgreSQL) could not be reached or dropped the connection; the request may be retried',
} as const satisfies ErrorCodeTable<string>;

export type MetadataErrorCode = keyof typeof metadataErrorCodes;

/** A metadata-store failure; `detail` names the database, repository or digest at fault. */
export class MetadataError extends KilnError<MetadataErrorCode> {}
