import { createHash } from 'node:crypto';
import pg from 'pg';
import { KeyedMutex } from '../../lib/index.ts';
import { MetadataError } from '../errors.ts';
import { redactUrl } from './redact-url.ts';

/** Options of `PostgresKeyedLock`. */
export interface PostgresKeyedLockOptions {
  /** Most keys this process holds at once (one connection each; default 10). */
  maxConnections?: number;
  onIdleError?: (error: Error) => void;
}

/** Mutual exclusion per key across every process on one PostgreSQL database: a session-level advisory
 *  lock on a connection of its own pool, held while `body` runs. Replicas use it as the registry's
 *  digest lock, so a garbage-collection sweep on one never deletes a blob a push on another is
 *  committing and linking. The locks have their own pool: a body that queries the metadata store can
 *  never wait for a connection held by a lock holder. Callers of one key in this process queue here
 *  first, so waiting pushes of one digest do not each hold a connection. If the database drops the
 *  connection, the server releases the lock with it. Matches the registry's KeyedLock interface. */
export class PostgresKeyedLock {
  readonly location: string;
  readonly #pool: pg.Pool;
  /** Callers of one key in this process queue here before taking a connection. */
  readonly #local = new KeyedMutex();
  #closed = false;

  constructor(url: string, options: PostgresKeyedLockOptions = {}) {
    this.location = redactUrl(url);
    this.#pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, connectionTimeoutMillis: 10_000 });
    this.#pool.on('error', (error) => options.onIdleError?.(error));
  }

  run<T>(key: string, body: () => Promise<T>): Promise<T> {
    return this.#local.run(key, () => this.#held(key, body));
  }

  async #held<T>(key: string, body: () => Promise<T>): Promise<T> {
    const id = lockId(key);
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
      await client.query('SELECT pg_advisory_lock($1::bigint)', [id]).catch((error: unknown) => {
        client.release(true);
        throw error;
      });
    } catch (error) {
      throw new MetadataError('METADATA_UNAVAILABLE', `${this.location}: cannot take the lock on ${key}: ${(error as Error).message}`, { cause: error, detail: { url: this.location, key } });
    }
    let broken = false;
    try {
      return await body();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [id]).catch(() => {
        // The connection is gone, and the server released the lock with it.
        broken = true;
      });
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/** A 64-bit advisory-lock id for a key, namespaced so other users of the database do not collide. */
function lockId(key: string): string {
  return createHash('sha256').update(`kiln-registry-lock\0${key}`).digest().readBigInt64BE(0).toString();
}
