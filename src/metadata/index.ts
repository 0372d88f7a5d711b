// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export type { MetadataStore, ManifestRecord, UploadSession, TagRecord, BlobLink, PutManifestResult, PutManifestOptions, Page, UnlinkBlobResult } from './port.ts';
export { MetadataError, metadataErrorCodes } from './errors.ts';
export type { MetadataErrorCode } from './errors.ts';
export { SqliteMetadataStore } from './sqlite/sqlite-metadata-store.ts';
import type { PostgresMetadataStore } from './postgres/postgres-metadata-store.ts';
import type { PostgresKeyedLock } from './postgres/postgres-keyed-lock.ts';
export type { PostgresMetadataStore, PostgresMetadataOptions } from './postgres/postgres-metadata-store.ts';
export type { PostgresKeyedLock, PostgresKeyedLockOptions } from './postgres/postgres-keyed-lock.ts';
export { redactUrl } from './postgres/redact-url.ts';

/** Loads the PostgreSQL driver on demand (node-postgres), so SQLite-only registries never import it:
 *  the metadata store and the advisory lock replicas share as their digest lock. */
export async function loadPostgresDriver(): Promise<{ PostgresMetadataStore: typeof PostgresMetadataStore; PostgresKeyedLock: typeof PostgresKeyedLock }> {
  const [store, lock] = await Promise.all([import('./postgres/postgres-metadata-store.ts'), import('./postgres/postgres-keyed-lock.ts')]);
  return { PostgresMetadataStore: store.PostgresMetadataStore, PostgresKeyedLock: lock.PostgresKeyedLock };
}
