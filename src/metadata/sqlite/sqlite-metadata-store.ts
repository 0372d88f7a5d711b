import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Digest } from '../../lib/index.ts';
import { manifestFromRow } from '../manifest-row.ts';
import type { ManifestRow } from '../manifest-row.ts';
import { MetadataError } from '../errors.ts';
import type { BlobLink, ManifestRecord, MetadataStore, Page, PutManifestOptions, PutManifestResult, TagRecord, UnlinkBlobResult, UploadSession } from '../port.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blob_links (
  repository TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, linked_at INTEGER NOT NULL,
  PRIMARY KEY (repository, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_links_digest ON blob_links (digest);
CREATE TABLE IF NOT EXISTS manifests (
  repository TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  subject TEXT, artifact_type TEXT, annotations TEXT, created_at INTEGER NOT NULL,
  PRIMARY KEY (repository, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repository, subject) WHERE subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS manifests_digest ON manifests (digest);
CREATE TABLE IF NOT EXISTS manifest_refs (
  repository TEXT NOT NULL, manifest TEXT NOT NULL, target TEXT NOT NULL, kind TEXT NOT NULL,
  PRIMARY KEY (repository, manifest, target, kind)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifest_refs_target ON manifest_refs (repository, target);
CREATE TABLE IF NOT EXISTS tags (
  repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (repository, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_digest ON tags (repository, digest);
CREATE TABLE IF NOT EXISTS uploads (
  id TEXT PRIMARY KEY, repository TEXT NOT NULL, offset INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
`;

interface UploadRow {
  id: string;
  repository: string;
  offset: number;
  created_at: number;
  updated_at: number;
}

/** SQLite metadata store (better-sqlite3, WAL). `synchronous: 'full'` (default) makes every committed
 *  transaction survive power loss; `'normal'` survives process crashes but may lose the last
 *  transactions on power loss (never corrupting the database). Every port method is one transaction;
 *  the port is async so networked drivers fit. */
export class SqliteMetadataStore implements MetadataStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #stmts: ReturnType<typeof prepare>;

  constructor(path: string, options: { synchronous?: 'full' | 'normal' } = {}) {
    this.path = path;
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new MetadataError('METADATA_OPEN_FAILED', `${path}: metadata schema version ${version} is newer than this Kiln understands (${SCHEMA_VERSION}); use a newer Kiln`, {
          detail: { path, version, supported: SCHEMA_VERSION },
        });
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      db?.close();
      if (error instanceof MetadataError) throw error;
      throw new MetadataError('METADATA_OPEN_FAILED', `${path}: cannot open metadata database: ${(error as Error).message}`, { cause: error, detail: { path } });
    }
    this.#db = db;
    this.#stmts = prepare(this.#db);
  }

  async listRepositories(page: Page): Promise<string[]> {
    const rows = this.#stmts.listRepositories.all({ last: page.last ?? '', limit: page.limit }) as { repository: string }[];
    return rows.map((row) => row.repository);
  }

  async repositoryExists(name: string): Promise<boolean> {
    return this.#stmts.repositoryExists.get({ name }) !== undefined;
  }

  async linkBlob(repository: string, digest: Digest, size: number, now: number): Promise<void> {
    this.#stmts.linkBlob.run({ repository, digest, size, now });
  }

  async blobLink(repository: string, digest: Digest): Promise<BlobLink | undefined> {
    const row = this.#stmts.blobLink.get({ repository, digest }) as { size: number; linked_at: number } | undefined;
    return row ? { repository, digest, size: row.size, linkedAt: row.linked_at } : undefined;
  }

  async unlinkBlob(repository: string, digest: Digest): Promise<UnlinkBlobResult> {
    return this.#db.transaction((): UnlinkBlobResult => {
      const referrer = this.#stmts.blobReferrer.get({ repository, target: digest }) as { manifest: Digest } | undefined;
      if (referrer) return { unlinked: false, referencedBy: referrer.manifest };
      return { unlinked: this.#stmts.unlinkBlob.run({ repository, digest }).changes > 0 };
    }).immediate();
  }

  async isBlobReferenced(digest: Digest): Promise<boolean> {
    return this.#stmts.blobReferenced.get({ digest }) !== undefined;
  }

  async blobRepositories(digest: Digest, page: Page): Promise<string[]> {
    const rows = this.#stmts.blobRepositories.all({ digest, last: page.last ?? null, limit: page.limit }) as { repository: string }[];
    return rows.map((row) => row.repository);
  }

  async putManifest(record: ManifestRecord, tags: readonly string[], now: number, options: PutManifestOptions = {}): Promise<PutManifestResult> {
    return this.#db.transaction((): PutManifestResult => {
      const repository = record.repository;
      const missingBlobs = record.blobs.filter((digest) => this.#stmts.blobLink.get({ repository, digest }) === undefined);
      const missingManifests = record.children.filter((digest) => this.#stmts.getManifest.get({ repository, digest }) === undefined);
      const immutableTagsMoved = (options.immutableTags ?? []).filter((tag) => {
        const current = this.#stmts.resolveTag.get({ repository, tag }) as { digest: Digest } | undefined;
        return current !== undefined && current.digest !== record.digest;
      });
      if (missingBlobs.length || missingManifests.length || immutableTagsMoved.length) return { missingBlobs, missingManifests, immutableTagsMoved };
      const inserted = this.#stmts.insertManifest.run({
        repository,
        digest: record.digest,
        media_type: record.mediaType,
        size: record.size,
        subject: record.subject ?? null,
        artifact_type: record.artifactType ?? null,
        annotations: record.annotations && Object.keys(record.annotations).length ? JSON.stringify(record.annotations) : null,
        created_at: record.createdAt,
      });
      if (inserted.changes > 0) {
        for (const target of new Set(record.blobs)) this.#stmts.insertRef.run({ repository, manifest: record.digest, target, kind: 'blob' });
        for (const target of new Set(record.children)) this.#stmts.insertRef.run({ repository, manifest: record.digest, target, kind: 'manifest' });
      }
      for (const tag of tags) this.#stmts.setTag.run({ repository, tag, digest: record.digest, now });
      return { missingBlobs: [], missingManifests: [], immutableTagsMoved: [] };
    }).immediate();
  }

  async getManifest(repository: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const row = this.#stmts.getManifest.get({ repository, digest }) as ManifestRow | undefined;
    return row ? this.#manifest(row) : undefined;
  }

  #manifest(row: ManifestRow): ManifestRecord {
    const refs = this.#stmts.refsOf.all({ repository: row.repository, manifest: row.digest }) as { target: Digest; kind: string }[];
    return manifestFromRow(row, { blobs: refs.filter((ref) => ref.kind === 'blob').map((ref) => ref.target), children: refs.filter((ref) => ref.kind === 'manifest').map((ref) => ref.target) }, this.path);
  }

  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    return this.#db.transaction(() => this.#deleteManifest(repository, digest)).immediate();
  }

  #deleteManifest(repository: string, digest: Digest): boolean {
    const changed = this.#stmts.deleteManifest.run({ repository, digest }).changes > 0;
    this.#stmts.deleteRefs.run({ repository, manifest: digest });
    this.#stmts.deleteTagsOf.run({ repository, digest });
    return changed;
  }

  async resolveTag(repository: string, tag: string): Promise<Digest | undefined> {
    const row = this.#stmts.resolveTag.get({ repository, tag }) as { digest: Digest } | undefined;
    return row?.digest;
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.#stmts.deleteTag.run({ repository, tag }).changes > 0;
  }

  async deleteTagIfUnchanged(repository: string, tag: string, digest: Digest, olderThan: number): Promise<boolean> {
    return this.#stmts.deleteTagIfUnchanged.run({ repository, tag, digest, older_than: olderThan }).changes > 0;
  }

  async listTags(repository: string, page: Page): Promise<string[]> {
    const rows = this.#stmts.listTags.all({ repository, last: page.last ?? null, limit: page.limit }) as { tag: string }[];
    return rows.map((row) => row.tag);
  }

  async listReferrers(repository: string, subject: Digest): Promise<ManifestRecord[]> {
    const rows = this.#stmts.listReferrers.all({ repository, subject }) as ManifestRow[];
    return rows.map((row) => this.#manifest(row));
  }

  async createUpload(session: UploadSession): Promise<void> {
    try {
      this.#stmts.createUpload.run({ id: session.id, repository: session.repository, offset: session.offset, created_at: session.createdAt, updated_at: session.updatedAt });
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new MetadataError('METADATA_UPLOAD_EXISTS', `upload session ${session.id} already exists`, { cause: error, detail: { id: session.id } });
      }
      throw error;
    }
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const row = this.#stmts.getUpload.get({ id }) as UploadRow | undefined;
    return row ? uploadOf(row) : undefined;
  }

  async advanceUpload(id: string, from: number, to: number, now: number): Promise<boolean> {
    return this.#stmts.advanceUpload.run({ id, from, to, now }).changes > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    return this.#stmts.deleteUpload.run({ id }).changes > 0;
  }

  async listUploads(): Promise<UploadSession[]> {
    return (this.#stmts.listUploads.all() as UploadRow[]).map(uploadOf);
  }

  async listAllManifests(): Promise<ManifestRecord[]> {
    return (this.#stmts.allManifests.all() as ManifestRow[]).map((row) => this.#manifest(row));
  }

  async listAllTags(): Promise<TagRecord[]> {
    const rows = this.#stmts.allTags.all() as { repository: string; tag: string; digest: Digest; updated_at: number }[];
    return rows.map((row) => ({ repository: row.repository, tag: row.tag, digest: row.digest, updatedAt: row.updated_at }));
  }

  async listAllBlobLinks(): Promise<BlobLink[]> {
    const rows = this.#stmts.allBlobLinks.all() as { repository: string; digest: Digest; size: number; linked_at: number }[];
    return rows.map((row) => ({ repository: row.repository, digest: row.digest, size: row.size, linkedAt: row.linked_at }));
  }

  async deleteManifestIfUnused(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      const row = this.#stmts.getManifest.get({ repository, digest }) as ManifestRow | undefined;
      if (!row || row.created_at >= olderThan) return false;
      if (this.#stmts.taggedDigest.get({ repository, digest })) return false;
      if (this.#stmts.isChild.get({ repository, target: digest })) return false;
      if (row.subject && this.#stmts.getManifest.get({ repository, digest: row.subject })) return false;
      return this.#deleteManifest(repository, digest);
    }).immediate();
  }

  async unlinkBlobIfUnused(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      const link = this.#stmts.blobLink.get({ repository, digest }) as { linked_at: number } | undefined;
      if (!link || link.linked_at >= olderThan) return false;
      if (this.#stmts.isBlobRef.get({ repository, target: digest })) return false;
      return this.#stmts.unlinkBlob.run({ repository, digest }).changes > 0;
    }).immediate();
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function uploadOf(row: UploadRow): UploadSession {
  return { id: row.id, repository: row.repository, offset: row.offset, createdAt: row.created_at, updatedAt: row.updated_at };
}

function prepare(db: Database.Database) {
  return {
    listRepositories: db.prepare(
      `SELECT repository FROM (SELECT repository FROM blob_links UNION SELECT repository FROM manifests UNION SELECT repository FROM tags)
       WHERE repository > @last ORDER BY repository LIMIT @limit`,
    ),
    repositoryExists: db.prepare(
      `SELECT 1 FROM blob_links WHERE repository = @name UNION ALL SELECT 1 FROM manifests WHERE repository = @name
       UNION ALL SELECT 1 FROM uploads WHERE repository = @name LIMIT 1`,
    ),
    linkBlob: db.prepare(
      `INSERT INTO blob_links (repository, digest, size, linked_at) VALUES (@repository, @digest, @size, @now)
       ON CONFLICT (repository, digest) DO UPDATE SET linked_at = excluded.linked_at`,
    ),
    blobLink: db.prepare(`SELECT size, linked_at FROM blob_links WHERE repository = @repository AND digest = @digest`),
    unlinkBlob: db.prepare(`DELETE FROM blob_links WHERE repository = @repository AND digest = @digest`),
    blobRepositories: db.prepare(`SELECT repository FROM blob_links WHERE digest = @digest AND (@last IS NULL OR repository > @last) ORDER BY repository LIMIT @limit`),
    blobReferenced: db.prepare(`SELECT 1 FROM blob_links WHERE digest = @digest UNION ALL SELECT 1 FROM manifests WHERE digest = @digest LIMIT 1`),
    insertManifest: db.prepare(
      `INSERT OR IGNORE INTO manifests (repository, digest, media_type, size, subject, artifact_type, annotations, created_at)
       VALUES (@repository, @digest, @media_type, @size, @subject, @artifact_type, @annotations, @created_at)`,
    ),
    insertRef: db.prepare(`INSERT OR IGNORE INTO manifest_refs (repository, manifest, target, kind) VALUES (@repository, @manifest, @target, @kind)`),
    refsOf: db.prepare(`SELECT target, kind FROM manifest_refs WHERE repository = @repository AND manifest = @manifest`),
    setTag: db.prepare(
      `INSERT INTO tags (repository, tag, digest, updated_at) VALUES (@repository, @tag, @digest, @now)
       ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
    ),
    getManifest: db.prepare(`SELECT * FROM manifests WHERE repository = @repository AND digest = @digest`),
    deleteManifest: db.prepare(`DELETE FROM manifests WHERE repository = @repository AND digest = @digest`),
    deleteRefs: db.prepare(`DELETE FROM manifest_refs WHERE repository = @repository AND manifest = @manifest`),
    deleteTagsOf: db.prepare(`DELETE FROM tags WHERE repository = @repository AND digest = @digest`),
    resolveTag: db.prepare(`SELECT digest FROM tags WHERE repository = @repository AND tag = @tag`),
    deleteTag: db.prepare(`DELETE FROM tags WHERE repository = @repository AND tag = @tag`),
    deleteTagIfUnchanged: db.prepare(`DELETE FROM tags WHERE repository = @repository AND tag = @tag AND digest = @digest AND updated_at < @older_than`),
    listTags: db.prepare(`SELECT tag FROM tags WHERE repository = @repository AND (@last IS NULL OR tag > @last) ORDER BY tag LIMIT @limit`),
    listReferrers: db.prepare(`SELECT * FROM manifests WHERE repository = @repository AND subject = @subject ORDER BY created_at, digest`),
    createUpload: db.prepare(`INSERT INTO uploads (id, repository, offset, created_at, updated_at) VALUES (@id, @repository, @offset, @created_at, @updated_at)`),
    getUpload: db.prepare(`SELECT * FROM uploads WHERE id = @id`),
    advanceUpload: db.prepare(`UPDATE uploads SET offset = @to, updated_at = @now WHERE id = @id AND offset = @from`),
    deleteUpload: db.prepare(`DELETE FROM uploads WHERE id = @id`),
    listUploads: db.prepare(`SELECT * FROM uploads ORDER BY created_at, id`),
    allManifests: db.prepare(`SELECT * FROM manifests ORDER BY repository, created_at, digest`),
    allTags: db.prepare(`SELECT * FROM tags ORDER BY repository, tag`),
    allBlobLinks: db.prepare(`SELECT * FROM blob_links ORDER BY repository, digest`),
    taggedDigest: db.prepare(`SELECT 1 FROM tags WHERE repository = @repository AND digest = @digest LIMIT 1`),
    isChild: db.prepare(`SELECT 1 FROM manifest_refs WHERE repository = @repository AND target = @target AND kind = 'manifest' LIMIT 1`),
    blobReferrer: db.prepare(`SELECT manifest FROM manifest_refs WHERE repository = @repository AND target = @target AND kind = 'blob' ORDER BY manifest LIMIT 1`),
    isBlobRef: db.prepare(`SELECT 1 FROM manifest_refs WHERE repository = @repository AND target = @target AND kind = 'blob' LIMIT 1`),
  };
}
