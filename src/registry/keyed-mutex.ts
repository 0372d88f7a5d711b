/** Mutual exclusion per key (a blob digest): `run` calls `body` while no other holder of the key runs.
 *  lib's KeyedMutex provides it within one process (upload ids, digests: the commit/link of one digest
 *  against the GC sweep of that digest); a database lock (PostgresKeyedLock in metadata/postgres)
 *  provides it across replicas. */
export interface KeyedLock {
  run<T>(key: string, body: () => Promise<T>): Promise<T>;
}

export { KeyedMutex } from '../lib/index.ts';
