import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AffectedRecord, CpeRange, EpssEntry, KevEntry, ParsedFeed, VulnerabilityInfo } from '../format/model.ts';
import type { FeedState, VulnIndex } from '../port.ts';
import { VulnError } from '../errors.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS feeds (
  name TEXT PRIMARY KEY, type TEXT NOT NULL, location TEXT NOT NULL, updated_at TEXT NOT NULL, checked_at TEXT NOT NULL,
  records INTEGER NOT NULL, warnings INTEGER NOT NULL, sha256 TEXT NOT NULL, etag TEXT, last_modified TEXT);
CREATE TABLE IF NOT EXISTS affected (
  feed TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL, vulnerability TEXT NOT NULL, aliases TEXT NOT NULL,
  status TEXT NOT NULL, ranges TEXT NOT NULL, versions TEXT NOT NULL, note TEXT);
CREATE INDEX IF NOT EXISTS affected_package ON affected (ecosystem, package);
CREATE INDEX IF NOT EXISTS affected_feed ON affected (feed);
CREATE TABLE IF NOT EXISTS vulnerabilities (
  feed TEXT NOT NULL, id TEXT NOT NULL, aliases TEXT NOT NULL, summary TEXT, published TEXT, modified TEXT, cvss TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS vulnerabilities_id ON vulnerabilities (id);
CREATE INDEX IF NOT EXISTS vulnerabilities_feed ON vulnerabilities (feed);
CREATE TABLE IF NOT EXISTS cpes (
  feed TEXT NOT NULL, cve TEXT NOT NULL, vendor TEXT NOT NULL, product TEXT NOT NULL, version TEXT,
  start_including TEXT, start_excluding TEXT, end_including TEXT, end_excluding TEXT);
CREATE INDEX IF NOT EXISTS cpes_product ON cpes (product);
CREATE INDEX IF NOT EXISTS cpes_feed ON cpes (feed);
CREATE TABLE IF NOT EXISTS kev (feed TEXT NOT NULL, cve TEXT NOT NULL, date_added TEXT NOT NULL, due_date TEXT, ransomware TEXT);
CREATE INDEX IF NOT EXISTS kev_cve ON kev (cve);
CREATE INDEX IF NOT EXISTS kev_feed ON kev (feed);
CREATE TABLE IF NOT EXISTS epss (feed TEXT NOT NULL, cve TEXT NOT NULL, epss REAL NOT NULL, percentile REAL NOT NULL);
CREATE INDEX IF NOT EXISTS epss_cve ON epss (cve);
CREATE INDEX IF NOT EXISTS epss_feed ON epss (feed);
`;

interface FeedRow {
  name: string;
  type: string;
  location: string;
  updated_at: string;
  checked_at: string;
  records: number;
  warnings: number;
  sha256: string;
  etag: string | null;
  last_modified: string | null;
}

interface AffectedRow {
  feed: string;
  ecosystem: string;
  package: string;
  vulnerability: string;
  aliases: string;
  status: string;
  ranges: string;
  versions: string;
  note: string | null;
}

// SQLite allows 32766 bound parameters; lookups are chunked well below that.
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += CHUNK) out.push(items.slice(index, index + CHUNK));
  return out;
}

/** The vulnerability index in one SQLite file (better-sqlite3, WAL). Each feed's rows are replaced
 *  in one transaction, so a reader sees a feed either before or after an update, never half. */
export class SqliteVulnIndex implements VulnIndex {
  readonly path: string;
  readonly #db: Database.Database;
  // Prepared lookups by SQL text (one per chunk size): preparing costs more than a small lookup.
  // Lives as long as the connection and cannot change a result.
  readonly #statements = new Map<string, Database.Statement>();

  #prepared(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  constructor(path: string, options: { readonly?: boolean } = {}) {
    this.path = path;
    if (options.readonly && !existsSync(path)) throw new VulnError('VULN_DB_MISSING', `${path}: no vulnerability index (run kiln vuln db update --config FILE)`, { detail: { path } });
    if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    if (!options.readonly) {
      this.#db.pragma('journal_mode = WAL');
      this.#db.exec(SCHEMA);
      this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
  }

  replaceFeed(state: FeedState, data: ParsedFeed): void {
    const db = this.#db;
    const insertAffected = db.prepare('INSERT INTO affected VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insertVuln = db.prepare('INSERT INTO vulnerabilities VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertCpe = db.prepare('INSERT INTO cpes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insertKev = db.prepare('INSERT INTO kev VALUES (?, ?, ?, ?, ?)');
    const insertEpss = db.prepare('INSERT INTO epss VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      this.#delete(state.name);
      for (const record of data.affected) {
        insertAffected.run(state.name, record.ecosystem, record.package, record.vulnerability, JSON.stringify(record.aliases), record.status, JSON.stringify(record.ranges), JSON.stringify(record.versions), record.note ?? null);
      }
      for (const vuln of data.vulnerabilities) insertVuln.run(state.name, vuln.id, JSON.stringify(vuln.aliases), vuln.summary ?? null, vuln.published ?? null, vuln.modified ?? null, JSON.stringify(vuln.cvss));
      for (const cpe of data.cpes) insertCpe.run(state.name, cpe.cve, cpe.vendor, cpe.product, cpe.version ?? null, cpe.startIncluding ?? null, cpe.startExcluding ?? null, cpe.endIncluding ?? null, cpe.endExcluding ?? null);
      for (const kev of data.kev) insertKev.run(state.name, kev.cve, kev.dateAdded, kev.dueDate ?? null, kev.knownRansomwareCampaignUse ?? null);
      for (const epss of data.epss) insertEpss.run(state.name, epss.cve, epss.epss, epss.percentile);
      this.#putState(state);
    })();
  }

  touchFeed(state: FeedState): void {
    this.#putState(state);
  }

  removeFeed(name: string): void {
    this.#db.transaction(() => this.#delete(name))();
  }

  #delete(name: string): void {
    for (const table of ['affected', 'vulnerabilities', 'cpes', 'kev', 'epss']) this.#db.prepare(`DELETE FROM ${table} WHERE feed = ?`).run(name);
    this.#db.prepare('DELETE FROM feeds WHERE name = ?').run(name);
  }

  #putState(state: FeedState): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(state.name, state.type, state.location, state.updatedAt, state.checkedAt, state.records, state.warnings, state.sha256, state.etag ?? null, state.lastModified ?? null);
  }

  feeds(): FeedState[] {
    return (this.#db.prepare('SELECT * FROM feeds ORDER BY name').all() as FeedRow[]).map((row) => ({
      name: row.name,
      type: row.type,
      location: row.location,
      updatedAt: row.updated_at,
      checkedAt: row.checked_at,
      records: row.records,
      warnings: row.warnings,
      sha256: row.sha256,
      ...(row.etag !== null ? { etag: row.etag } : {}),
      ...(row.last_modified !== null ? { lastModified: row.last_modified } : {}),
    }));
  }

  covers(ecosystem: string): boolean {
    return this.#prepared('SELECT 1 FROM affected WHERE ecosystem = ? LIMIT 1').get(ecosystem) !== undefined;
  }

  affected(ecosystem: string, packages: readonly string[]): AffectedRecord[] {
    const out: AffectedRecord[] = [];
    for (const part of chunks([...new Set(packages)])) {
      const rows = this.#prepared(`SELECT * FROM affected WHERE ecosystem = ? AND package IN (${part.map(() => '?').join(',')})`).all(ecosystem, ...part) as AffectedRow[];
      for (const row of rows) {
        out.push({
          feed: row.feed,
          ecosystem: row.ecosystem,
          package: row.package,
          vulnerability: row.vulnerability,
          aliases: JSON.parse(row.aliases) as string[],
          status: row.status as AffectedRecord['status'],
          ranges: JSON.parse(row.ranges) as AffectedRecord['ranges'],
          versions: JSON.parse(row.versions) as string[],
          ...(row.note !== null ? { note: row.note } : {}),
        });
      }
    }
    return out;
  }

  cpes(products: readonly string[]): CpeRange[] {
    const out: CpeRange[] = [];
    for (const part of chunks([...new Set(products)])) {
      const rows = this.#prepared(`SELECT * FROM cpes WHERE product IN (${part.map(() => '?').join(',')})`).all(...part) as Array<Record<string, string | null>>;
      for (const row of rows) {
        const range: CpeRange = { cve: row.cve!, vendor: row.vendor!, product: row.product! };
        if (row.version !== null) range.version = row.version!;
        if (row.start_including !== null) range.startIncluding = row.start_including!;
        if (row.start_excluding !== null) range.startExcluding = row.start_excluding!;
        if (row.end_including !== null) range.endIncluding = row.end_including!;
        if (row.end_excluding !== null) range.endExcluding = row.end_excluding!;
        out.push(range);
      }
    }
    return out;
  }

  vulnerabilities(ids: readonly string[]): VulnerabilityInfo[] {
    const out: VulnerabilityInfo[] = [];
    for (const part of chunks([...new Set(ids)])) {
      const rows = this.#prepared(`SELECT * FROM vulnerabilities WHERE id IN (${part.map(() => '?').join(',')}) ORDER BY feed`).all(...part) as Array<Record<string, string | null>>;
      for (const row of rows) {
        out.push({
          id: row.id!,
          aliases: JSON.parse(row.aliases!) as string[],
          ...(row.summary !== null ? { summary: row.summary! } : {}),
          ...(row.published !== null ? { published: row.published! } : {}),
          ...(row.modified !== null ? { modified: row.modified! } : {}),
          cvss: JSON.parse(row.cvss!) as VulnerabilityInfo['cvss'],
        });
      }
    }
    return out;
  }

  kev(cves: readonly string[]): KevEntry[] {
    const out: KevEntry[] = [];
    for (const part of chunks([...new Set(cves)])) {
      const rows = this.#prepared(`SELECT * FROM kev WHERE cve IN (${part.map(() => '?').join(',')})`).all(...part) as Array<Record<string, string | null>>;
      for (const row of rows) out.push({ cve: row.cve!, dateAdded: row.date_added!, ...(row.due_date !== null ? { dueDate: row.due_date! } : {}), ...(row.ransomware !== null ? { knownRansomwareCampaignUse: row.ransomware! } : {}) });
    }
    return out;
  }

  epss(cves: readonly string[]): EpssEntry[] {
    const out: EpssEntry[] = [];
    for (const part of chunks([...new Set(cves)])) {
      out.push(...(this.#prepared(`SELECT cve, epss, percentile FROM epss WHERE cve IN (${part.map(() => '?').join(',')})`).all(...part) as EpssEntry[]));
    }
    return out;
  }

  /** Writes a consistent copy of the whole index to `path` (SQLite's VACUUM INTO: compact, no WAL). */
  snapshotTo(path: string): void {
    this.#db.prepare('VACUUM INTO ?').run(path);
  }

  close(): void {
    this.#db.close();
  }
}

/** True when the file is a Kiln vulnerability index of this schema version (for imports). */
export function isVulnIndexFile(path: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((row) => row.name));
    return version === SCHEMA_VERSION && ['feeds', 'affected', 'vulnerabilities', 'cpes', 'kev', 'epss'].every((table) => tables.has(table));
  } catch {
    return false;
  } finally {
    db?.close();
  }
}
