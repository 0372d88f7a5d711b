// JobQueue on an embedded SQLite database (better-sqlite3, WAL): one machine, any number of worker
// processes. Every state change is one IMMEDIATE transaction, so two processes never claim the same
// job; SQLite's busy timeout queues writers. Leases are wall-clock deadlines, checked on each claim
// and before every read, so no reader sees a dead worker's job as still running.
import Database from 'better-sqlite3';
import { FactoryQueueError } from './errors.ts';
import { checkKind, jsonText, resolveJobSpec, retryDelaySeconds } from './job-spec.ts';
import type { ClaimedJob, EnqueueResult, FailOutcome, JobCounts, JobFailure, JobQueue, JobRecord, JobSpec, JobState, JsonValue } from './port.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'active', 'completed', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  retry_delay INTEGER NOT NULL,
  retry_backoff INTEGER NOT NULL,
  lease_seconds INTEGER NOT NULL,
  run_after INTEGER NOT NULL,
  lease_until INTEGER,
  result TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (state, kind, run_after, id);
`;

interface JobRow {
  id: number;
  kind: string;
  key: string;
  payload: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
  retry_delay: number;
  retry_backoff: number;
  lease_seconds: number;
  result: string | null;
  error: string | null;
}

/** Options of the SQLite queue; `now` and `random` are for tests. */
export interface SqliteJobQueueOptions {
  /** Milliseconds to wait for another process's write transaction (default 10 000). */
  busyTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
}

/** The embedded JobQueue adapter (`sqlite:PATH`). */
export class SqliteJobQueue implements JobQueue {
  readonly path: string;
  #db: Database.Database | undefined;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(path: string, options: SqliteJobQueueOptions = {}) {
    this.path = path;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: options.busyTimeoutMs ?? 10_000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw new Error(`written by a newer Kiln (schema ${version}, this one reads ${SCHEMA_VERSION})`);
      db.transaction(() => {
        db!.exec(SCHEMA);
        db!.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    } catch (error) {
      db?.close();
      throw new FactoryQueueError('QUEUE_OPEN_FAILED', `${path}: cannot open job queue database: ${(error as Error).message}`, { cause: error, detail: { path } });
    }
    this.#db = db;
  }

  #open(): Database.Database {
    if (!this.#db) throw new FactoryQueueError('QUEUE_CLOSED', `${this.path}: job queue used after close`, { detail: { path: this.path } });
    return this.#db;
  }

  #run<T>(body: (db: Database.Database) => T): T {
    const db = this.#open();
    try {
      return db.transaction(() => body(db)).immediate();
    } catch (error) {
      throw this.#failure(error, 'job queue operation');
    }
  }

  async enqueue(spec: JobSpec): Promise<EnqueueResult> {
    const job = resolveJobSpec(spec);
    return this.#run((db) => {
      const existing = db.prepare<[string, string], JobRow>('SELECT * FROM jobs WHERE kind = ? AND key = ?').get(job.kind, job.key);
      if (existing && existing.state !== 'failed') {
        return { id: String(existing.id), created: false, state: existing.state, ...(existing.state === 'completed' && existing.result !== null ? { result: JSON.parse(existing.result) as JsonValue } : {}) };
      }
      if (existing) db.prepare('DELETE FROM jobs WHERE id = ?').run(existing.id);
      const now = this.#now();
      const info = db
        .prepare(
          `INSERT INTO jobs (kind, key, payload, state, max_attempts, retry_delay, retry_backoff, lease_seconds, run_after, created_at, updated_at)
           VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(job.kind, job.key, job.payloadJson, job.maxAttempts, job.retryDelaySeconds, job.retryBackoff ? 1 : 0, job.leaseSeconds, now, now, now);
      return { id: String(info.lastInsertRowid), created: true, state: 'queued' as const };
    });
  }

  async claim(kinds: readonly string[]): Promise<ClaimedJob | undefined> {
    kinds.forEach(checkKind);
    if (kinds.length === 0) return undefined;
    return this.#run((db) => {
      const now = this.#now();
      this.#expireLeases(db, now);
      const marks = kinds.map(() => '?').join(', ');
      const row = db
        .prepare<unknown[], JobRow>(`SELECT * FROM jobs WHERE state = 'queued' AND kind IN (${marks}) AND run_after <= ? ORDER BY run_after, id LIMIT 1`)
        .get(...kinds, now);
      if (!row) return undefined;
      db.prepare(`UPDATE jobs SET state = 'active', attempts = attempts + 1, lease_until = ?, updated_at = ? WHERE id = ?`).run(now + row.lease_seconds * 1000, now, row.id);
      return { id: String(row.id), kind: row.kind, key: row.key, payload: JSON.parse(row.payload) as JsonValue, attempt: row.attempts + 1, maxAttempts: row.max_attempts, leaseSeconds: row.lease_seconds };
    });
  }

  // A lease that ran out is a failed attempt: the job is retried or, out of attempts, failed.
  #expireLeases(db: Database.Database, now: number): void {
    const expired = db.prepare<[number], JobRow>(`SELECT * FROM jobs WHERE state = 'active' AND lease_until <= ?`).all(now);
    for (const row of expired) this.#recordFailure(db, row, `lease of attempt ${row.attempts} expired after ${row.lease_seconds} s (worker stopped or stalled)`, false, now);
  }

  #recordFailure(db: Database.Database, row: JobRow, message: string, permanent: boolean, now: number): 'retry' | 'failed' {
    if (!permanent && row.attempts < row.max_attempts) {
      const delayMs = Math.round(retryDelaySeconds(row.retry_delay, row.retry_backoff === 1, row.attempts, this.#random()) * 1000);
      db.prepare(`UPDATE jobs SET state = 'queued', lease_until = NULL, run_after = ?, error = ?, updated_at = ? WHERE id = ?`).run(now + delayMs, message, now, row.id);
      return 'retry';
    }
    db.prepare(`UPDATE jobs SET state = 'failed', lease_until = NULL, error = ?, updated_at = ? WHERE id = ?`).run(message, now, row.id);
    return 'failed';
  }

  // The claim still holds the job: same attempt, still active (fencing by attempt number).
  #held(db: Database.Database, job: ClaimedJob): JobRow | undefined {
    const row = db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?').get(job.id);
    return row && row.state === 'active' && row.attempts === job.attempt ? row : undefined;
  }

  async complete(job: ClaimedJob, result: JsonValue): Promise<boolean> {
    const text = jsonText(result, `job ${job.kind} ${job.key}: result`);
    return this.#run((db) => {
      const row = this.#held(db, job);
      if (!row) return false;
      db.prepare(`UPDATE jobs SET state = 'completed', lease_until = NULL, result = ?, error = NULL, updated_at = ? WHERE id = ?`).run(text, this.#now(), row.id);
      return true;
    });
  }

  async fail(job: ClaimedJob, failure: JobFailure): Promise<FailOutcome> {
    return this.#run((db) => {
      const row = this.#held(db, job);
      if (!row) return 'lost';
      return this.#recordFailure(db, row, failure.message, failure.permanent ?? false, this.#now());
    });
  }

  async withdraw(kind: string, key: string, message: string): Promise<boolean> {
    checkKind(kind);
    return this.#run((db) => {
      const info = db.prepare(`UPDATE jobs SET state = 'failed', error = ?, updated_at = ? WHERE kind = ? AND key = ? AND state = 'queued'`).run(message, this.#now(), kind, key);
      return info.changes === 1;
    });
  }

  // Expires run-out leases before a read; the write transaction is taken only when one is due.
  // Before a read: a sweep that fails (the database busy) does not fail the read; the next one sweeps.
  #expireDue(): void {
    try {
      this.#sweepDue();
    } catch {
      // Read anyway.
    }
  }

  #sweepDue(): void {
    const now = this.#now();
    const due = this.#open().prepare<[number], { id: number }>(`SELECT id FROM jobs WHERE state = 'active' AND lease_until <= ? LIMIT 1`).get(now);
    if (due) this.#run((db) => this.#expireLeases(db, this.#now()));
  }

  // A read that fails is reported as a write is (#failure).
  #read<T>(body: (db: Database.Database) => T): T {
    this.#expireDue();
    try {
      return body(this.#open());
    } catch (error) {
      throw this.#failure(error, 'job queue read');
    }
  }

  // Busy, locked, I/O and schema-changed errors may pass (QUEUE_UNAVAILABLE: callers wait them
  // out); a file that is corrupt, not a database, or whose tables do not match the statements
  // (SQLITE_ERROR: no such table or column) never answers again (QUEUE_DAMAGED: not retried).
  #failure(error: unknown, what: string): FactoryQueueError {
    if (error instanceof FactoryQueueError) return error;
    const sqliteCode = (error as { code?: unknown }).code;
    const damaged = typeof sqliteCode === 'string' && /^SQLITE_(CORRUPT|NOTADB|ERROR$)/.test(sqliteCode);
    const hint = sqliteCode === 'SQLITE_ERROR' ? 'its tables do not match this Kiln (changed by hand, or by another version of Kiln: run the same version everywhere)' : 'the database is damaged (move it aside and let the queue start afresh, or restore it)';
    const message = `${this.path}: ${what} failed: ${(error as Error).message}${damaged ? ` (${hint}; retrying cannot help)` : ''}`;
    return new FactoryQueueError(damaged ? 'QUEUE_DAMAGED' : 'QUEUE_UNAVAILABLE', message, { cause: error, detail: { path: this.path, ...(typeof sqliteCode === 'string' ? { sqliteCode } : {}) } });
  }

  async get(kind: string, key: string): Promise<JobRecord | undefined> {
    const row = this.#read((db) => db.prepare<[string, string], JobRow>('SELECT * FROM jobs WHERE kind = ? AND key = ?').get(kind, key));
    return row && toRecord(row);
  }

  async list(options: { state: JobState; kind?: string; limit?: number }): Promise<JobRecord[]> {
    const limit = options.limit ?? 100;
    const rows = this.#read((db) =>
      options.kind === undefined
        ? db.prepare<[string, number], JobRow>('SELECT * FROM jobs WHERE state = ? ORDER BY updated_at, id LIMIT ?').all(options.state, limit)
        : db.prepare<[string, string, number], JobRow>('SELECT * FROM jobs WHERE state = ? AND kind = ? ORDER BY updated_at, id LIMIT ?').all(options.state, options.kind, limit),
    );
    return rows.map(toRecord);
  }

  async counts(kind?: string): Promise<JobCounts> {
    const rows = this.#read((db) =>
      kind === undefined
        ? db.prepare<[], { state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state').all()
        : db.prepare<[string], { state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs WHERE kind = ? GROUP BY state').all(kind),
    );
    const counts: JobCounts = { queued: 0, active: 0, completed: 0, failed: 0 };
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: String(row.id),
    kind: row.kind,
    key: row.key,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    ...(row.state === 'completed' && row.result !== null ? { result: JSON.parse(row.result) as JsonValue } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}
