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

it('reports a read the database cannot answer as QUEUE_UNAVAILABLE naming the file, so callers wait it out', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-queue-read-'));
  const queue = new SqliteJobQueue(join(dir, 'q.db'));
  try {
    await queue.enqueue({ kind: 'test.read', key: 'k', payload: null });
    // Broken underneath by another connection: every read fails inside SQLite.
    const other = new Database(join(dir, 'q.db'));
    other.exec('DROP TABLE jobs');
    other.close();
    const unavailable = { code: 'QUEUE_UNAVAILABLE', message: expect.stringContaining(`${join(dir, 'q.db')}: job queue read failed: no such table: jobs`) };
    await expect(queue.get('test.read', 'k')).rejects.toMatchObject(unavailable);
    await expect(queue.list({ state: 'queued' })).rejects.toMatchObject(unavailable);
    await expect(queue.counts('test.read')).rejects.toMatchObject(unavailable);
  } finally {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});
