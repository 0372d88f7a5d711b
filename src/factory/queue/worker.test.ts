import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FactoryQueueError } from './errors.ts';
import type { JobQueue, JsonValue } from './port.ts';
import { SqliteJobQueue } from './sqlite-job-queue.ts';
import { runWorker } from './worker.ts';
import type { JobHandler, WorkerJobEvent } from './worker.ts';

let dir: string;
let queue: SqliteJobQueue;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-worker-'));
  queue = new SqliteJobQueue(join(dir, 'queue.db'));
});

afterEach(async () => {
  await queue.close();
  await rm(dir, { recursive: true, force: true });
});

// Real work: writes the payload's text content-addressed (temporary name, then rename).
const writeBlob: JobHandler = async (payload) => {
  const text = (payload as { text: string }).text;
  const digest = createHash('sha256').update(text).digest('hex');
  const temporary = join(dir, `.tmp-${digest}-${process.pid}-${Math.random()}`);
  await writeFile(temporary, text);
  await rename(temporary, join(dir, `sha256-${digest}`));
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
};

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

it('drains the queue with several jobs at once, each exactly once, and returns when it is empty', async () => {
  const texts = Array.from({ length: 10 }, (_, index) => `blob ${index}`);
  for (const text of texts) await queue.enqueue({ kind: 'test.blob', key: sha(text), payload: { text } });
  const events: WorkerJobEvent[] = [];
  const summary = await runWorker(queue, { 'test.blob': writeBlob }, { concurrency: 3, untilEmpty: true, pollIntervalMs: 20, onJob: (event) => events.push(event) });
  expect(summary).toEqual({ completed: 10, retried: 0, failed: 0, lost: 0 });
  expect(events.map((event) => event.key).sort()).toEqual(texts.map(sha).sort());
  expect(new Set(events.map((event) => event.outcome))).toEqual(new Set(['completed']));
  for (const text of texts) {
    expect((await queue.get('test.blob', sha(text)))?.result).toEqual({ digest: sha(text), size: Buffer.byteLength(text) });
    expect(await readFile(join(dir, `sha256-${sha(text).slice(7)}`), 'utf8')).toBe(text);
  }
  expect((await readdir(dir)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
});

it('retries a failing handler, and fails for good on a permanent error without further attempts', async () => {
  let calls = 0;
  const flaky: JobHandler = async (payload, context) => {
    calls += 1;
    if (context.attempt === 1) throw new Error('mirror timed out');
    return writeBlob(payload, context);
  };
  const broken: JobHandler = async () => {
    throw Object.assign(new Error('payload names no recipe'), { permanent: true });
  };
  await queue.enqueue({ kind: 'test.flaky', key: 'a', payload: { text: 'a' }, retryDelaySeconds: 0 });
  await queue.enqueue({ kind: 'test.broken', key: 'b', payload: null, maxAttempts: 5 });
  const summary = await runWorker(queue, { 'test.flaky': flaky, 'test.broken': broken }, { untilEmpty: true, pollIntervalMs: 20 });
  expect(summary).toEqual({ completed: 1, retried: 1, failed: 1, lost: 0 });
  expect(calls).toBe(2);
  expect(await queue.get('test.flaky', 'a')).toMatchObject({ state: 'completed', attempts: 2, result: { digest: sha('a') } });
  expect(await queue.get('test.broken', 'b')).toMatchObject({ state: 'failed', attempts: 1, maxAttempts: 5, error: 'payload names no recipe' });
});

it('stops claiming when its signal aborts and finishes the job in hand', async () => {
  const stop = new AbortController();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow: JobHandler = async (payload, context) => {
    stop.abort();
    await held;
    return writeBlob(payload, context);
  };
  await queue.enqueue({ kind: 'test.slow', key: 'one', payload: { text: 'one' } });
  await queue.enqueue({ kind: 'test.slow', key: 'two', payload: { text: 'two' } });
  const running = runWorker(queue, { 'test.slow': slow }, { signal: stop.signal, pollIntervalMs: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  expect(await running).toEqual({ completed: 1, retried: 0, failed: 0, lost: 0 });
  expect(await queue.counts()).toEqual({ queued: 1, active: 0, completed: 1, failed: 0 });
  const rest = await queue.claim(['test.slow']);
  expect(await queue.complete(rest!, 'x' as JsonValue)).toBe(true);
});

it('refuses to start without handlers or with a bad concurrency', async () => {
  await expect(runWorker(queue, {})).rejects.toMatchObject({ code: 'QUEUE_NO_HANDLER' });
  await expect(runWorker(queue, { 'test.x': writeBlob }, { concurrency: 0 })).rejects.toBeInstanceOf(FactoryQueueError);
});

it('stops every slot and reports the queue failure when the queue goes away', async () => {
  await queue.close();
  await expect(runWorker(queue, { 'test.x': writeBlob }, { concurrency: 2 })).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
});

it('stops on a queue that is damaged when it records a result, and does not mark the finished job for retry', async () => {
  await queue.enqueue({ kind: 'test.blob', key: 'k', payload: { text: 'k' } });
  const failed: string[] = [];
  // The real queue, whose ledger is gone: results cannot be recorded, claims still work.
  const damaged = new Proxy(queue, {
    get(target, name, receiver) {
      if (name === 'complete') return () => Promise.reject(new FactoryQueueError('QUEUE_DAMAGED', 'postgres://kiln@db/kiln: completing a job failed: relation "kiln_queue.completed" does not exist'));
      if (name === 'fail') return (job: Parameters<JobQueue['fail']>[0], failure: Parameters<JobQueue['fail']>[1]) => (failed.push(failure.message), target.fail(job, failure));
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  await expect(runWorker(damaged, { 'test.blob': writeBlob }, { untilEmpty: true, pollIntervalMs: 5 })).rejects.toMatchObject({ code: 'QUEUE_DAMAGED' });
  expect(failed).toEqual([]);
});

it('waits out a queue that is unavailable for a while, then carries on', async () => {
  await queue.enqueue({ kind: 'test.blob', key: 'k', payload: { text: 'k' } });
  let failures = 2;
  // The real queue, whose claims fail twice as a dropped connection would.
  const flaky: JobQueue = {
    enqueue: (spec) => queue.enqueue(spec),
    claim: async (kinds) => {
      if (failures > 0) {
        failures -= 1;
        throw new FactoryQueueError('QUEUE_UNAVAILABLE', 'connection reset');
      }
      return queue.claim(kinds);
    },
    complete: (job, result) => queue.complete(job, result),
    fail: (job, failure) => queue.fail(job, failure),
    withdraw: (kind, key, message) => queue.withdraw(kind, key, message),
    get: (kind, key) => queue.get(kind, key),
    list: (options) => queue.list(options),
    counts: (kind) => queue.counts(kind),
    close: () => queue.close(),
  };
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (_fields: Record<string, unknown>, message: string) => void warnings.push(message) };
  const summary = await runWorker(flaky, { 'test.blob': writeBlob }, { untilEmpty: true, pollIntervalMs: 5, logger });
  expect(summary).toEqual({ completed: 1, retried: 0, failed: 0, lost: 0 });
  expect(warnings).toEqual(['queue unavailable', 'queue unavailable']);
});
