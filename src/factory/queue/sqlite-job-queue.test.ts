import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { FactoryQueueError } from './errors.ts';
import { runJobQueueConformance } from './job-queue-conformance.ts';
import type { JobQueue } from './port.ts';
import { SqliteJobQueue } from './sqlite-job-queue.ts';

const pathOf = (queue: JobQueue) => (queue as SqliteJobQueue).path;

runJobQueueConformance('sqlite', {
  create: async () => new SqliteJobQueue(join(await mkdtemp(join(tmpdir(), 'kiln-queue-')), 'queue.db')),
  another: async (queue) => new SqliteJobQueue(pathOf(queue)),
  // Once every connection closed, SQLite folds the WAL back: only the database file remains.
  leftovers: async (queue) => (await readdir(dirname(pathOf(queue)))).filter((name) => name !== basename(pathOf(queue))),
  cleanup: async (queue) => rm(dirname(pathOf(queue)), { recursive: true, force: true }),
});

it('names the file when the queue database cannot be opened or is newer than this Kiln', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-queue-bad-'));
  try {
    await mkdir(join(dir, 'dir.db'));
    expect(() => new SqliteJobQueue(join(dir, 'dir.db'))).toThrow(/dir\.db: cannot open job queue database/);
    const future = new Database(join(dir, 'future.db'));
    future.pragma('user_version = 9');
    future.close();
    let error: unknown;
    try {
      new SqliteJobQueue(join(dir, 'future.db'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FactoryQueueError);
    expect((error as FactoryQueueError).code).toBe('QUEUE_OPEN_FAILED');
    expect((error as Error).message).toMatch(/future\.db: .*newer Kiln \(schema 9, this one reads 1\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('doubles the retry delay per attempt with jitter when asked to back off (pg-boss rule)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-queue-backoff-'));
  let now = 1_000_000;
  const queue = new SqliteJobQueue(join(dir, 'q.db'), { now: () => now, random: () => 0.5 });
  try {
    await queue.enqueue({ kind: 'test.backoff', key: 'k', payload: null, maxAttempts: 4, retryDelaySeconds: 10, retryBackoff: true });
    // After attempt n fails the wait is 10·2^n/2·1.5 s: 15 s, 30 s, 60 s.
    for (const waitMs of [15_000, 30_000]) {
      const job = await queue.claim(['test.backoff']);
      expect(job).toBeDefined();
      expect(await queue.fail(job!, { message: 'no' })).toBe('retry');
      now += waitMs - 1;
      expect(await queue.claim(['test.backoff'])).toBeUndefined();
      now += 1;
    }
    const last = await queue.claim(['test.backoff']);
    expect(last?.attempt).toBe(3);
    expect(await queue.complete(last!, 'ok')).toBe(true);
  } finally {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('reports a database whose tables are gone as QUEUE_DAMAGED naming the file, reads and writes alike, so no caller waits on it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-queue-read-'));
  const queue = new SqliteJobQueue(join(dir, 'q.db'));
  try {
    await queue.enqueue({ kind: 'test.read', key: 'k', payload: null });
    // Broken underneath by another connection: every read fails inside SQLite.
    const other = new Database(join(dir, 'q.db'));
    other.exec('DROP TABLE jobs');
    other.close();
    const damaged = (what: string) => ({ code: 'QUEUE_DAMAGED', message: expect.stringContaining(`${join(dir, 'q.db')}: job queue ${what} failed: no such table: jobs`), detail: expect.objectContaining({ sqliteCode: 'SQLITE_ERROR' }) });
    await expect(queue.get('test.read', 'k')).rejects.toMatchObject(damaged('read'));
    await expect(queue.list({ state: 'queued' })).rejects.toMatchObject(damaged('read'));
    await expect(queue.counts('test.read')).rejects.toMatchObject(damaged('read'));
    await expect(queue.enqueue({ kind: 'test.read', key: 'k2', payload: null })).rejects.toMatchObject(damaged('operation'));
  } finally {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('reports a database another connection keeps busy as QUEUE_UNAVAILABLE, which callers wait out, and answers again once it is free', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-queue-busy-'));
  const queue = new SqliteJobQueue(join(dir, 'q.db'), { busyTimeoutMs: 50 });
  const other = new Database(join(dir, 'q.db'));
  try {
    other.exec('BEGIN EXCLUSIVE');
    await expect(queue.enqueue({ kind: 'test.busy', key: 'k', payload: null })).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE', detail: expect.objectContaining({ sqliteCode: expect.stringMatching(/^SQLITE_BUSY/) }) });
    other.exec('COMMIT');
    await expect(queue.enqueue({ kind: 'test.busy', key: 'k', payload: null })).resolves.toMatchObject({ created: true });
  } finally {
    other.close();
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});
