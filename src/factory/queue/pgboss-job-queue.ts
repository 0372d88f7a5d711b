// JobQueue on PostgreSQL through pg-boss 10: any number of workers on any number of machines.
//
// How the port maps onto pg-boss (docs/factory-queue.md):
//  - a job kind is a pg-boss queue (policy `stately`), the idempotency key is the job's `singletonKey`:
//    PostgreSQL's own unique index then admits at most one queued and one active job per key;
//  - enqueue, complete and fail run in one transaction of ours that holds a transaction-scoped advisory
//    lock on (kind, key), passing that transaction to pg-boss (`db` option), so "queued or running →
//    not again" holds across processes;
//  - "done → never again" outlives pg-boss's archive and retention: completed results are kept in our
//    own table `kiln_queue.completed` (kind, key, result), written in the same transaction that
//    completes the pg-boss job;
//  - the lease is pg-boss's expiration (`expireInSeconds`); an expired job is failed by pg-boss's
//    `expire()` and so retried or failed like any failed attempt. Claims and reads run it at most once
//    a second (pg-boss's own maintenance runs it every `maintenanceIntervalSeconds`), so a job whose
//    worker died is not reported active past its lease;
//  - attempts are `retryLimit + 1`; retry delay and backoff are pg-boss's;
//  - a claim is fenced by its attempt (pg-boss's `retry_count`), so a worker whose lease expired
//    cannot complete or fail the job after another worker took it over.
import PgBoss from 'pg-boss';
import pg from 'pg';
import { FactoryQueueError } from './errors.ts';
import { checkKind, jsonText, resolveJobSpec } from './job-spec.ts';
import type { ClaimedJob, EnqueueResult, FailOutcome, JobCounts, JobFailure, JobQueue, JobRecord, JobSpec, JobState, JsonValue } from './port.ts';

/** The application name of every connection, so operators (and tests) can find them. */
export const QUEUE_APPLICATION_NAME = 'kiln-queue';
const BOSS_SCHEMA = 'kiln_pgboss';
export const LEDGER_SCHEMA = 'kiln_queue';

/** Options of the PostgreSQL queue. */
export interface PgBossJobQueueOptions {
  /** Connections per pool (two pools: pg-boss's and ours; default 4 each). */
  maxConnections?: number;
  /** Least milliseconds between lease-expiry sweeps made by claims (default 1000). */
  expireCheckMs?: number;
  /** Called with pg-boss's background errors (maintenance, monitoring). */
  onError?: (error: Error) => void;
}

interface PgJobRow {
  id: string;
  name: string;
  singleton_key: string;
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  retry_count: number;
  retry_limit: number;
  started_on: Date | null;
  output: { message?: string; value?: { message?: string } } | null;
}

interface LedgerRow {
  kind: string;
  key: string;
  job_id: string;
  attempts: number;
  max_attempts: number;
  result: string;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

const LEDGER = `
CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA};
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.completed (
  kind text NOT NULL,
  key text NOT NULL,
  job_id uuid NOT NULL,
  attempts integer NOT NULL,
  max_attempts integer NOT NULL,
  result text NOT NULL,
  completed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS completed_at ON ${LEDGER_SCHEMA}.completed (completed_at);
`;

// The latest job per (kind, key) in pg-boss's tables, live and archived.
const LATEST = `
  SELECT DISTINCT ON (name, singleton_key) id, name, singleton_key, state, retry_count, retry_limit, started_on, output, created_on
  FROM (
    SELECT id, name, singleton_key, state, retry_count, retry_limit, started_on, output, created_on FROM ${BOSS_SCHEMA}.job
    UNION ALL
    SELECT id, name, singleton_key, state, retry_count, retry_limit, started_on, output, created_on FROM ${BOSS_SCHEMA}.archive
  ) jobs
  WHERE singleton_key IS NOT NULL AND state <> 'cancelled' AND ($1::text IS NULL OR name = $1)
  ORDER BY name, singleton_key, created_on DESC, id DESC`;

function portState(state: PgJobRow['state']): JobState {
  if (state === 'created' || state === 'retry') return 'queued';
  if (state === 'active') return 'active';
  return state === 'failed' ? 'failed' : 'completed';
}

function attemptsOf(row: PgJobRow): number {
  return row.started_on === null ? 0 : row.retry_count + 1;
}

function jobRecord(row: PgJobRow): JobRecord {
  const message = row.output?.message ?? row.output?.value?.message;
  return {
    id: row.id,
    kind: row.name,
    key: row.singleton_key,
    state: portState(row.state),
    attempts: attemptsOf(row),
    maxAttempts: row.retry_limit + 1,
    ...(message !== undefined && row.state !== 'completed' ? { error: message } : {}),
  };
}

function ledgerRecord(row: LedgerRow): JobRecord {
  return { id: row.job_id, kind: row.kind, key: row.key, state: 'completed', attempts: row.attempts, maxAttempts: row.max_attempts, result: JSON.parse(row.result) as JsonValue };
}

/** The scale-out JobQueue adapter (`postgres://…`). */
export class PgBossJobQueue implements JobQueue {
  readonly url: string;
  readonly #boss: PgBoss;
  readonly #pool: pg.Pool;
  readonly #queues = new Set<string>();
  readonly #expireCheckMs: number;
  #lastExpire = 0;
  #closed = false;

  private constructor(url: string, boss: PgBoss, pool: pg.Pool, options: PgBossJobQueueOptions) {
    this.url = url;
    this.#boss = boss;
    this.#pool = pool;
    this.#expireCheckMs = options.expireCheckMs ?? 1000;
  }

  /** Connects, installs or migrates pg-boss's schema and the completed-results table (safe when
   *  several processes open an empty database at once). */
  static async open(url: string, options: PgBossJobQueueOptions = {}): Promise<PgBossJobQueue> {
    const max = options.maxConnections ?? 4;
    const pool = new pg.Pool({ connectionString: url, max, application_name: QUEUE_APPLICATION_NAME });
    pool.on('error', (error) => options.onError?.(error));
    const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, max, application_name: QUEUE_APPLICATION_NAME, schedule: false, supervise: true, migrate: true });
    boss.on('error', (error) => options.onError?.(error));
    try {
      await boss.start();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('kiln-queue:schema', 0))`);
        await client.query(LEDGER);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    } catch (error) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw new FactoryQueueError('QUEUE_OPEN_FAILED', `${redact(url)}: cannot open job queue: ${(error as Error).message}`, { cause: error, detail: { url: redact(url) } });
    }
    return new PgBossJobQueue(url, boss, pool, options);
  }

  #check(): void {
    if (this.#closed) throw new FactoryQueueError('QUEUE_CLOSED', `${redact(this.url)}: job queue used after close`, { detail: { url: redact(this.url) } });
  }

  // A dropped connection or a restarting server may pass (QUEUE_UNAVAILABLE: callers wait it out);
  // tables or columns that are gone (42P01, 42703) or data PostgreSQL reports corrupt (XX001,
  // XX002) never answer again (QUEUE_DAMAGED: not retried).
  #unavailable(error: unknown, what: string): never {
    if (error instanceof FactoryQueueError) throw error;
    const sqlState = (error as { code?: unknown }).code;
    const damaged = typeof sqlState === 'string' && ['42P01', '42703', 'XX001', 'XX002'].includes(sqlState);
    const message = `${redact(this.url)}: ${what} failed: ${(error as Error).message}${damaged ? ` (SQLSTATE ${sqlState}: the queue's schema or data is damaged; retrying cannot help)` : ''}`;
    throw new FactoryQueueError(damaged ? 'QUEUE_DAMAGED' : 'QUEUE_UNAVAILABLE', message, { cause: error, detail: { url: redact(this.url), ...(typeof sqlState === 'string' ? { sqlState } : {}) } });
  }

  // A read (get, list, counts): expired leases are failed first, as for a claim. A sweep that fails
  // does not fail the read: the next claim or read sweeps again.
  async #query<T extends pg.QueryResultRow>(what: string, text: string, values: unknown[] = []): Promise<T[]> {
    this.#check();
    try {
      await this.#expireDue().catch(() => undefined);
      return (await this.#pool.query<T>(text, values)).rows;
    } catch (error) {
      return this.#unavailable(error, what);
    }
  }

  // One transaction holding the advisory lock of (kind, key); pg-boss runs its statements in it.
  async #locked<T>(what: string, kind: string, key: string, body: (client: pg.PoolClient, db: PgBoss.Db) => Promise<T>): Promise<T> {
    this.#check();
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`kiln-queue:${kind}:${key}`]);
      const tx = client;
      const result = await body(tx, { executeSql: async (text, values) => tx.query(text, values) });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      return this.#unavailable(error, what);
    } finally {
      client?.release();
    }
  }

  async #ensureQueue(kind: string): Promise<void> {
    if (this.#queues.has(kind)) return;
    try {
      if (!(await this.#boss.getQueue(kind))) {
        // Two processes may create it at once: the loser's unique violation is harmless.
        await this.#boss.createQueue(kind, { name: kind, policy: 'stately' }).catch(async (error: unknown) => {
          if (!(await this.#boss.getQueue(kind))) throw error;
        });
      }
    } catch (error) {
      this.#unavailable(error, `creating queue ${kind}`);
    }
    this.#queues.add(kind);
  }

  async enqueue(spec: JobSpec): Promise<EnqueueResult> {
    const job = resolveJobSpec(spec);
    this.#check();
    await this.#ensureQueue(job.kind);
    return this.#locked(`enqueueing ${job.kind} ${job.key}`, job.kind, job.key, async (client, db) => {
      const done = (await client.query<LedgerRow>(`SELECT * FROM ${LEDGER_SCHEMA}.completed WHERE kind = $1 AND key = $2`, [job.kind, job.key])).rows[0];
      if (done) return { id: done.job_id, created: false, state: 'completed' as const, result: JSON.parse(done.result) as JsonValue };
      const live = (
        await client.query<PgJobRow>(`SELECT id, state FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND singleton_key = $2 AND state < 'completed' ORDER BY created_on DESC LIMIT 1`, [job.kind, job.key])
      ).rows[0];
      if (live) return { id: live.id, created: false, state: portState(live.state) };
      const id = await this.#boss.send(job.kind, { payload: job.payloadJson }, {
        singletonKey: job.key,
        retryLimit: job.maxAttempts - 1,
        retryDelay: job.retryDelaySeconds,
        retryBackoff: job.retryBackoff,
        expireInSeconds: job.leaseSeconds,
        db,
      });
      if (!id) throw new Error(`pg-boss refused job ${job.kind} ${job.key}`);
      return { id, created: true, state: 'queued' as const };
    });
  }

  async claim(kinds: readonly string[]): Promise<ClaimedJob | undefined> {
    kinds.forEach(checkKind);
    this.#check();
    if (kinds.length === 0) return undefined;
    try {
      await this.#expireDue();
      for (const kind of kinds) {
        const [job] = await this.#boss.fetch<{ payload: string }>(kind, { includeMetadata: true, batchSize: 1 });
        if (!job) continue;
        return {
          id: job.id,
          kind,
          key: job.singletonKey ?? '',
          payload: JSON.parse(job.data.payload) as JsonValue,
          attempt: job.retryCount + 1,
          maxAttempts: job.retryLimit + 1,
          leaseSeconds: expireSeconds(job.expireIn),
        };
      }
      return undefined;
    } catch (error) {
      return this.#unavailable(error, `claiming ${kinds.join(', ')}`);
    }
  }

  // Fails jobs whose lease ran out (at most once per expireCheckMs), so claims and reads never see a
  // dead worker's job as still running between pg-boss's own maintenance sweeps.
  async #expireDue(): Promise<void> {
    if (Date.now() - this.#lastExpire < this.#expireCheckMs) return;
    this.#lastExpire = Date.now();
    await this.#boss.expire();
  }

  // The claim still holds the job: active, same attempt (pg-boss counts retries from 0).
  async #held(client: pg.PoolClient, job: ClaimedJob): Promise<PgJobRow | undefined> {
    const row = (await client.query<PgJobRow>(`SELECT id, state, retry_count, retry_limit FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND id = $2 FOR UPDATE`, [job.kind, job.id])).rows[0];
    return row && row.state === 'active' && row.retry_count === job.attempt - 1 ? row : undefined;
  }

  async complete(job: ClaimedJob, result: JsonValue): Promise<boolean> {
    const text = jsonText(result, `job ${job.kind} ${job.key}: result`);
    return this.#locked(`completing ${job.kind} ${job.key}`, job.kind, job.key, async (client, db) => {
      if (!(await this.#held(client, job))) return false;
      await client.query(
        `INSERT INTO ${LEDGER_SCHEMA}.completed (kind, key, job_id, attempts, max_attempts, result) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, key) DO NOTHING`,
        [job.kind, job.key, job.id, job.attempt, job.maxAttempts, text],
      );
      await this.#boss.complete(job.kind, job.id, { completed: true }, { db });
      return true;
    });
  }

  async fail(job: ClaimedJob, failure: JobFailure): Promise<FailOutcome> {
    return this.#locked(`failing ${job.kind} ${job.key}`, job.kind, job.key, async (client, db) => {
      if (!(await this.#held(client, job))) return 'lost';
      // pg-boss fails a job for good once its retries are used: a permanent failure uses them all.
      if (failure.permanent) await client.query(`UPDATE ${BOSS_SCHEMA}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [job.kind, job.id]);
      await this.#boss.fail(job.kind, job.id, { message: failure.message }, { db });
      const after = (await client.query<PgJobRow>(`SELECT state FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND id = $2`, [job.kind, job.id])).rows[0];
      return after?.state === 'failed' ? 'failed' : 'retry';
    });
  }

  async withdraw(kind: string, key: string, message: string): Promise<boolean> {
    checkKind(kind);
    return this.#locked(`withdrawing ${kind} ${key}`, kind, key, async (client, db) => {
      // Row-locked, so a claim that has not taken it yet skips it, and one that did is seen as active.
      const live = (
        await client.query<PgJobRow>(`SELECT id FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND singleton_key = $2 AND state < 'active' ORDER BY created_on DESC LIMIT 1 FOR UPDATE`, [kind, key])
      ).rows[0];
      if (!live) return false;
      await client.query(`UPDATE ${BOSS_SCHEMA}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [kind, live.id]);
      await this.#boss.fail(kind, live.id, { message }, { db });
      return true;
    });
  }

  async get(kind: string, key: string): Promise<JobRecord | undefined> {
    const [done] = await this.#query<LedgerRow>('reading a job', `SELECT * FROM ${LEDGER_SCHEMA}.completed WHERE kind = $1 AND key = $2`, [kind, key]);
    if (done) return ledgerRecord(done);
    const [row] = await this.#query<PgJobRow>('reading a job', `SELECT * FROM (${LATEST}) latest WHERE singleton_key = $2`, [kind, key]);
    // Completed between the two reads: its result is in the ledger now.
    if (row?.state === 'completed') {
      const [now] = await this.#query<LedgerRow>('reading a job', `SELECT * FROM ${LEDGER_SCHEMA}.completed WHERE kind = $1 AND key = $2`, [kind, key]);
      if (now) return ledgerRecord(now);
    }
    return row && jobRecord(row);
  }

  async list(options: { state: JobState; kind?: string; limit?: number }): Promise<JobRecord[]> {
    const limit = options.limit ?? 100;
    const kind = options.kind ?? null;
    if (options.state === 'completed') {
      const rows = await this.#query<LedgerRow>('listing jobs', `SELECT * FROM ${LEDGER_SCHEMA}.completed WHERE ($1::text IS NULL OR kind = $1) ORDER BY completed_at, kind, key LIMIT $2`, [kind, limit]);
      return rows.map(ledgerRecord);
    }
    const states = { queued: ['created', 'retry'], active: ['active'], failed: ['failed'] }[options.state];
    const rows = await this.#query<PgJobRow>(
      'listing jobs',
      `SELECT * FROM (${LATEST}) latest
       WHERE state::text = ANY($2) AND NOT EXISTS (SELECT 1 FROM ${LEDGER_SCHEMA}.completed d WHERE d.kind = latest.name AND d.key = latest.singleton_key)
       ORDER BY created_on, id LIMIT $3`,
      [kind, states, limit],
    );
    return rows.map(jobRecord);
  }

  async counts(kind?: string): Promise<JobCounts> {
    const rows = await this.#query<{ state: string; n: string }>(
      'counting jobs',
      `SELECT state::text AS state, count(*) AS n FROM (${LATEST}) latest
       WHERE state <> 'completed' AND NOT EXISTS (SELECT 1 FROM ${LEDGER_SCHEMA}.completed d WHERE d.kind = latest.name AND d.key = latest.singleton_key)
       GROUP BY state
       UNION ALL
       SELECT 'completed', count(*) FROM ${LEDGER_SCHEMA}.completed WHERE ($1::text IS NULL OR kind = $1)`,
      [kind ?? null],
    );
    const counts: JobCounts = { queued: 0, active: 0, completed: 0, failed: 0 };
    for (const row of rows) counts[portState(row.state as PgJobRow['state'])] += Number(row.n);
    return counts;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#boss.stop({ graceful: false, wait: true, close: true });
    await this.#pool.end();
  }
}

function expireSeconds(interval: PgBoss.PostgresInterval | number | undefined): number {
  if (typeof interval === 'number') return interval;
  if (!interval) return 0;
  return (interval.days ?? 0) * 86_400 + (interval.hours ?? 0) * 3600 + (interval.minutes ?? 0) * 60 + (interval.seconds ?? 0);
}
