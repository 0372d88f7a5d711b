import pg from 'pg';
import type { Digest } from '../../lib/index.ts';
import { manifestFromRow } from '../manifest-row.ts';
import type { ManifestRow as ManifestRowFields } from '../manifest-row.ts';
import { MetadataError } from '../errors.ts';
import { redactUrl } from './redact-url.ts';
import type { BlobLink, ManifestRecord, MetadataStore, Page, PutManifestOptions, PutManifestResult, TagRecord, UnlinkBlobResult, UploadSession } from '../port.ts';

/** Ordered schema migrations; entry i brings the schema to version i + 1. Never edit a released one:
 *  append a new entry. Text columns sort with COLLATE "C" so listings are byte-wise, as the port says,
 *  whatever locale the database was created with. Times and sizes are BIGINT (ms since epoch, bytes). */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE blob_links (
    repository TEXT COLLATE "C" NOT NULL, digest TEXT COLLATE "C" NOT NULL, size BIGINT NOT NULL, linked_at BIGINT NOT NULL,
    PRIMARY KEY (repository, digest));
  CREATE INDEX blob_links_digest ON blob_links (digest);
  CREATE TABLE manifests (
    repository TEXT COLLATE "C" NOT NULL, digest TEXT COLLATE "C" NOT NULL, media_type TEXT NOT NULL, size BIGINT NOT NULL,
    subject TEXT COLLATE "C", artifact_type TEXT, annotations TEXT, created_at BIGINT NOT NULL,
    PRIMARY KEY (repository, digest));
  CREATE INDEX manifests_subject ON manifests (repository, subject) WHERE subject IS NOT NULL;
  CREATE INDEX manifests_digest ON manifests (digest);
  CREATE TABLE manifest_refs (
    repository TEXT COLLATE "C" NOT NULL, manifest TEXT COLLATE "C" NOT NULL, target TEXT COLLATE "C" NOT NULL, kind TEXT NOT NULL,
    PRIMARY KEY (repository, manifest, target, kind));
  CREATE INDEX manifest_refs_target ON manifest_refs (repository, target);
  CREATE TABLE tags (
    repository TEXT COLLATE "C" NOT NULL, tag TEXT COLLATE "C" NOT NULL, digest TEXT COLLATE "C" NOT NULL, updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, tag));
  CREATE INDEX tags_digest ON tags (repository, digest);
  CREATE TABLE uploads (
    id TEXT COLLATE "C" PRIMARY KEY, repository TEXT COLLATE "C" NOT NULL, offset_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
  CREATE INDEX uploads_repository ON uploads (repository);
  `,
];

/** The schema version this Kiln writes and understands. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Key of the advisory lock that serialises migrations of replicas starting at once. */
const MIGRATION_LOCK = 0x6b696c6e; // "kiln"

/** SQLSTATEs after which a whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 20;

interface ManifestRow extends ManifestRowFields {
  blobs: string[];
  children: string[];
}

interface UploadRow {
  id: string;
  repository: string;
  offset_bytes: number;
  created_at: number;
  updated_at: number;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Options of `PostgresMetadataStore.open`. */
export interface PostgresMetadataOptions {
  /** Most connections this process opens (default 10). */
  maxConnections?: number;
  /** Called with errors of idle connections (a restarted server); queries report their own errors. */
  onIdleError?: (error: Error) => void;
}

// A whole row's manifest and its references, read by one statement (one snapshot).
const MANIFEST_COLUMNS = `m.repository, m.digest, m.media_type, m.size, m.subject, m.artifact_type, m.annotations, m.created_at,
  ARRAY(SELECT r.target FROM manifest_refs r WHERE r.repository = m.repository AND r.manifest = m.digest AND r.kind = 'blob' ORDER BY r.target) AS blobs,
  ARRAY(SELECT r.target FROM manifest_refs r WHERE r.repository = m.repository AND r.manifest = m.digest AND r.kind = 'manifest' ORDER BY r.target) AS children`;

/** PostgreSQL metadata store for replicated registries (node-postgres pool). Same tables and rules as
 *  the SQLite store; migrations run at `open` under an advisory lock so replicas starting together
 *  migrate once. Methods that are a transaction in the SQLite store run as SERIALIZABLE transactions
 *  here, retried on serialization failures and deadlocks, so concurrent replicas see the same
 *  all-or-nothing behaviour as SQLite's single writer; the others are single statements. */
export class PostgresMetadataStore implements MetadataStore {
  /** The database URL with any password removed, for messages. */
  readonly location: string;
  readonly #pool: pg.Pool;
  #closed = false;

  private constructor(pool: pg.Pool, location: string) {
    this.#pool = pool;
    this.location = location;
  }

  /** Connects, runs pending migrations and returns the store. Throws METADATA_OPEN_FAILED naming the
   *  database (without its password) when it cannot connect or its schema is newer than this Kiln. */
  static async open(url: string, options: PostgresMetadataOptions = {}): Promise<PostgresMetadataStore> {
    const location = redactUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 10_000,
      // BIGINT (int8, oid 20) arrives as text by default; every value here is a size or a time in ms,
      // far below 2^53.
      types: { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    pool.on('error', (error) => options.onIdleError?.(error));
    const store = new PostgresMetadataStore(pool, location);
    try {
      await store.#migrate();
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof MetadataError && error.code === 'METADATA_OPEN_FAILED') throw error;
      const cause = error instanceof MetadataError ? error.cause : error;
      throw new MetadataError('METADATA_OPEN_FAILED', `${location}: cannot open metadata database: ${(cause as Error).message}`, { cause, detail: { url: location } });
    }
    return store;
  }

  async #migrate(): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS kiln_metadata_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM kiln_metadata_migrations');
      const version = rows[0]?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new MetadataError(
          'METADATA_OPEN_FAILED',
          `${this.location}: metadata schema version ${version} is newer than this Kiln understands (${POSTGRES_SCHEMA_VERSION}); use a newer Kiln`,
          { detail: { url: this.location, version, supported: POSTGRES_SCHEMA_VERSION } },
        );
      }
      for (let next = version; next < POSTGRES_SCHEMA_VERSION; next++) {
        await client.query(MIGRATIONS[next]!);
        await client.query('INSERT INTO kiln_metadata_migrations (version) VALUES ($1)', [next + 1]);
      }
    }, 'READ COMMITTED');
  }

  /** Runs `body` in one transaction, again from the start after a serialization failure or deadlock. */
  async #transaction<T>(body: (client: pg.PoolClient) => Promise<T>, isolation: 'SERIALIZABLE' | 'READ COMMITTED' = 'SERIALIZABLE'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect().catch((error: unknown) => {
        throw this.#unavailable(error);
      });
      let broken = false;
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const result = await body(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
          continue;
        }
        throw this.#unavailable(error);
      } finally {
        client.release(broken);
      }
    }
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], client: Queryable = this.#pool): Promise<pg.QueryResult<R>> {
    try {
      return await client.query<R>(text, values);
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /** A lost or refused connection becomes METADATA_UNAVAILABLE (the request may be retried); any
   *  other error is returned as it is. A transaction cut off this way was rolled back by the server,
   *  or — when the connection broke during COMMIT — either committed whole or not at all. */
  #unavailable(error: unknown): unknown {
    if (!isConnectionFailure(error)) return error;
    return new MetadataError('METADATA_UNAVAILABLE', `${this.location}: metadata database unavailable: ${(error as Error).message}`, { cause: error, detail: { url: this.location } });
  }

  async listRepositories(page: Page): Promise<string[]> {
    const { rows } = await this.#query<{ repository: string }>(
      `SELECT repository FROM (SELECT repository FROM blob_links UNION SELECT repository FROM manifests UNION SELECT repository FROM tags) AS names
       WHERE repository > $1 ORDER BY repository LIMIT $2`,
      [page.last ?? '', page.limit],
    );
    return rows.map((row) => row.repository);
  }

  async repositoryExists(name: string): Promise<boolean> {
    const { rows } = await this.#query(
      `SELECT 1 FROM blob_links WHERE repository = $1 UNION ALL SELECT 1 FROM manifests WHERE repository = $1
       UNION ALL SELECT 1 FROM uploads WHERE repository = $1 LIMIT 1`,
      [name],
    );
    return rows.length > 0;
  }

  async linkBlob(repository: string, digest: Digest, size: number, now: number): Promise<void> {
    await this.#query(
      `INSERT INTO blob_links (repository, digest, size, linked_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (repository, digest) DO UPDATE SET linked_at = excluded.linked_at`,
      [repository, digest, size, now],
    );
  }

  async blobLink(repository: string, digest: Digest): Promise<BlobLink | undefined> {
    const { rows } = await this.#query<{ size: number; linked_at: number }>('SELECT size, linked_at FROM blob_links WHERE repository = $1 AND digest = $2', [repository, digest]);
    const row = rows[0];
    return row ? { repository, digest, size: row.size, linkedAt: row.linked_at } : undefined;
  }

  async unlinkBlob(repository: string, digest: Digest): Promise<UnlinkBlobResult> {
    // SERIALIZABLE: a manifest put that lists the blob and commits meanwhile aborts one of the two.
    return this.#transaction(async (client): Promise<UnlinkBlobResult> => {
      const { rows } = await client.query<{ manifest: Digest }>(`SELECT manifest FROM manifest_refs WHERE repository = $1 AND target = $2 AND kind = 'blob' ORDER BY manifest LIMIT 1`, [repository, digest]);
      if (rows[0]) return { unlinked: false, referencedBy: rows[0].manifest };
      return { unlinked: ((await client.query('DELETE FROM blob_links WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount ?? 0) > 0 };
    });
  }

  async isBlobReferenced(digest: Digest): Promise<boolean> {
    const { rows } = await this.#query('SELECT 1 FROM blob_links WHERE digest = $1 UNION ALL SELECT 1 FROM manifests WHERE digest = $1 LIMIT 1', [digest]);
    return rows.length > 0;
  }

  async blobRepositories(digest: Digest, page: Page): Promise<string[]> {
    const { rows } = await this.#query<{ repository: string }>(
      'SELECT repository FROM blob_links WHERE digest = $1 AND ($2::text IS NULL OR repository > $2::text) ORDER BY repository LIMIT $3',
      [digest, page.last ?? null, page.limit],
    );
    return rows.map((row) => row.repository);
  }

  async putManifest(record: ManifestRecord, tags: readonly string[], now: number, options: PutManifestOptions = {}): Promise<PutManifestResult> {
    const repository = record.repository;
    return this.#transaction(async (client): Promise<PutManifestResult> => {
      const linked = new Set(
        (await client.query<{ digest: string }>('SELECT digest FROM blob_links WHERE repository = $1 AND digest = ANY($2::text[])', [repository, [...new Set(record.blobs)]])).rows.map((row) => row.digest),
      );
      const stored = new Set(
        (await client.query<{ digest: string }>('SELECT digest FROM manifests WHERE repository = $1 AND digest = ANY($2::text[])', [repository, [...new Set(record.children)]])).rows.map((row) => row.digest),
      );
      const missingBlobs = record.blobs.filter((digest) => !linked.has(digest));
      const missingManifests = record.children.filter((digest) => !stored.has(digest));
      const fixed = [...new Set(options.immutableTags ?? [])];
      const moved = fixed.length
        ? new Set(
            (await client.query<{ tag: string }>('SELECT tag FROM tags WHERE repository = $1 AND tag = ANY($2::text[]) AND digest <> $3', [repository, fixed, record.digest])).rows.map((row) => row.tag),
          )
        : new Set<string>();
      const immutableTagsMoved = fixed.filter((tag) => moved.has(tag));
      if (missingBlobs.length || missingManifests.length || immutableTagsMoved.length) return { missingBlobs, missingManifests, immutableTagsMoved };
      const inserted = await client.query(
        `INSERT INTO manifests (repository, digest, media_type, size, subject, artifact_type, annotations, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (repository, digest) DO NOTHING`,
        [
          repository,
          record.digest,
          record.mediaType,
          record.size,
          record.subject ?? null,
          record.artifactType ?? null,
          record.annotations && Object.keys(record.annotations).length ? JSON.stringify(record.annotations) : null,
          record.createdAt,
        ],
      );
      if ((inserted.rowCount ?? 0) > 0) {
        const targets = [...[...new Set(record.blobs)].map((target) => [target, 'blob']), ...[...new Set(record.children)].map((target) => [target, 'manifest'])];
        if (targets.length) {
          await client.query(
            `INSERT INTO manifest_refs (repository, manifest, target, kind)
             SELECT $1, $2, t.target, t.kind FROM unnest($3::text[], $4::text[]) AS t(target, kind) ON CONFLICT DO NOTHING`,
            [repository, record.digest, targets.map((target) => target[0]), targets.map((target) => target[1])],
          );
        }
      }
      if (tags.length) {
        await client.query(
          `INSERT INTO tags (repository, tag, digest, updated_at) SELECT $1, t.tag, $3, $4 FROM unnest($2::text[]) AS t(tag)
           ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          [repository, [...new Set(tags)], record.digest, now],
        );
      }
      return { missingBlobs: [], missingManifests: [], immutableTagsMoved: [] };
    });
  }

  async getManifest(repository: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const { rows } = await this.#query<ManifestRow>(`SELECT ${MANIFEST_COLUMNS} FROM manifests m WHERE m.repository = $1 AND m.digest = $2`, [repository, digest]);
    return rows[0] ? this.#manifest(rows[0]) : undefined;
  }

  #manifest(row: ManifestRow): ManifestRecord {
    return manifestFromRow(row, { blobs: row.blobs as Digest[], children: row.children as Digest[] }, this.location);
  }

  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    return this.#transaction((client) => deleteManifestIn(client, repository, digest));
  }

  async resolveTag(repository: string, tag: string): Promise<Digest | undefined> {
    const { rows } = await this.#query<{ digest: Digest }>('SELECT digest FROM tags WHERE repository = $1 AND tag = $2', [repository, tag]);
    return rows[0]?.digest;
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return ((await this.#query('DELETE FROM tags WHERE repository = $1 AND tag = $2', [repository, tag])).rowCount ?? 0) > 0;
  }

  async deleteTagIfUnchanged(repository: string, tag: string, digest: Digest, olderThan: number): Promise<boolean> {
    const result = await this.#query('DELETE FROM tags WHERE repository = $1 AND tag = $2 AND digest = $3 AND updated_at < $4', [repository, tag, digest, olderThan]);
    return (result.rowCount ?? 0) > 0;
  }

  async listTags(repository: string, page: Page): Promise<string[]> {
    const { rows } = await this.#query<{ tag: string }>('SELECT tag FROM tags WHERE repository = $1 AND ($2::text IS NULL OR tag > $2::text) ORDER BY tag LIMIT $3', [
      repository,
      page.last ?? null,
      page.limit,
    ]);
    return rows.map((row) => row.tag);
  }

  async listReferrers(repository: string, subject: Digest): Promise<ManifestRecord[]> {
    const { rows } = await this.#query<ManifestRow>(`SELECT ${MANIFEST_COLUMNS} FROM manifests m WHERE m.repository = $1 AND m.subject = $2 ORDER BY m.created_at, m.digest`, [
      repository,
      subject,
    ]);
    return rows.map((row) => this.#manifest(row));
  }

  async createUpload(session: UploadSession): Promise<void> {
    try {
      await this.#query('INSERT INTO uploads (id, repository, offset_bytes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)', [
        session.id,
        session.repository,
        session.offset,
        session.createdAt,
        session.updatedAt,
      ]);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new MetadataError('METADATA_UPLOAD_EXISTS', `upload session ${session.id} already exists`, { cause: error, detail: { id: session.id } });
      }
      throw error;
    }
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const { rows } = await this.#query<UploadRow>('SELECT * FROM uploads WHERE id = $1', [id]);
    return rows[0] ? uploadOf(rows[0]) : undefined;
  }

  async advanceUpload(id: string, from: number, to: number, now: number): Promise<boolean> {
    const result = await this.#query('UPDATE uploads SET offset_bytes = $3, updated_at = $4 WHERE id = $1 AND offset_bytes = $2', [id, from, to, now]);
    return (result.rowCount ?? 0) > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    return ((await this.#query('DELETE FROM uploads WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async listUploads(): Promise<UploadSession[]> {
    return (await this.#query<UploadRow>('SELECT * FROM uploads ORDER BY created_at, id')).rows.map(uploadOf);
  }

  async listAllManifests(): Promise<ManifestRecord[]> {
    const { rows } = await this.#query<ManifestRow>(`SELECT ${MANIFEST_COLUMNS} FROM manifests m ORDER BY m.repository, m.created_at, m.digest`);
    return rows.map((row) => this.#manifest(row));
  }

  async listAllTags(): Promise<TagRecord[]> {
    const { rows } = await this.#query<{ repository: string; tag: string; digest: Digest; updated_at: number }>('SELECT * FROM tags ORDER BY repository, tag');
    return rows.map((row) => ({ repository: row.repository, tag: row.tag, digest: row.digest, updatedAt: row.updated_at }));
  }

  async listAllBlobLinks(): Promise<BlobLink[]> {
    const { rows } = await this.#query<{ repository: string; digest: Digest; size: number; linked_at: number }>('SELECT * FROM blob_links ORDER BY repository, digest');
    return rows.map((row) => ({ repository: row.repository, digest: row.digest, size: row.size, linkedAt: row.linked_at }));
  }

  async deleteManifestIfUnused(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    return this.#transaction(async (client): Promise<boolean> => {
      const { rows } = await client.query<{ created_at: number; subject: string | null }>('SELECT created_at, subject FROM manifests WHERE repository = $1 AND digest = $2 FOR UPDATE', [
        repository,
        digest,
      ]);
      const row = rows[0];
      if (!row || row.created_at >= olderThan) return false;
      if ((await client.query('SELECT 1 FROM tags WHERE repository = $1 AND digest = $2 LIMIT 1', [repository, digest])).rows.length) return false;
      if ((await client.query(`SELECT 1 FROM manifest_refs WHERE repository = $1 AND target = $2 AND kind = 'manifest' LIMIT 1`, [repository, digest])).rows.length) return false;
      if (row.subject && (await client.query('SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2', [repository, row.subject])).rows.length) return false;
      return deleteManifestIn(client, repository, digest);
    });
  }

  async unlinkBlobIfUnused(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    return this.#transaction(async (client): Promise<boolean> => {
      const { rows } = await client.query<{ linked_at: number }>('SELECT linked_at FROM blob_links WHERE repository = $1 AND digest = $2 FOR UPDATE', [repository, digest]);
      const link = rows[0];
      if (!link || link.linked_at >= olderThan) return false;
      if ((await client.query(`SELECT 1 FROM manifest_refs WHERE repository = $1 AND target = $2 AND kind = 'blob' LIMIT 1`, [repository, digest])).rows.length) return false;
      return ((await client.query('DELETE FROM blob_links WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount ?? 0) > 0;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

async function deleteManifestIn(client: Queryable, repository: string, digest: Digest): Promise<boolean> {
  const changed = ((await client.query('DELETE FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount ?? 0) > 0;
  await client.query('DELETE FROM manifest_refs WHERE repository = $1 AND manifest = $2', [repository, digest]);
  await client.query('DELETE FROM tags WHERE repository = $1 AND digest = $2', [repository, digest]);
  return changed;
}

/** SQLSTATE classes 08 (connection exception) and 57P01-57P03 (server shutting down or starting),
 *  socket errors, and node-postgres's own messages for a dropped connection or a connect timeout. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof MetadataError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (/^08/.test(code) || /^57P0[123]$/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code))) return true;
  const message = (error as Error).message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(message);
}

function uploadOf(row: UploadRow): UploadSession {
  return { id: row.id, repository: row.repository, offset: row.offset_bytes, createdAt: row.created_at, updatedAt: row.updated_at };
}
