// The shared test suite every JobQueue adapter must pass unchanged (SQLite and PostgreSQL/pg-boss).
// Imported only from adapter tests: it uses vitest.
import { describe, expect, it } from 'vitest';
import { FactoryQueueError } from './errors.ts';
import type { ClaimedJob, JobQueue, JsonValue } from './port.ts';

/** How the suite makes and disposes of a fresh, empty queue for each case. */
export interface JobQueueHarness {
  create(): Promise<JobQueue>;
  /** A second handle (connection, pool) on the same queue, as another process would open it. */
  another(queue: JobQueue): Promise<JobQueue>;
  /** After the case closed every handle: what is still there that should not be (open connections,
   *  stray files), described one per entry; empty when clean. */
  leftovers(queue: JobQueue): Promise<string[]>;
  /** Removes the queue's storage. */
  cleanup(queue: JobQueue): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function claimUntil(queue: JobQueue, kinds: string[], timeoutMs: number): Promise<ClaimedJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.claim(kinds);
    if (job) return job;
    if (Date.now() > deadline) throw new Error(`no ${kinds.join(',')} job claimable within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Registers the JobQueue conformance cases under `describe(name)`. */
export function runJobQueueConformance(name: string, harness: JobQueueHarness): void {
  // Every case ends with nothing queued or held, all handles closed, and no leftovers.
  const withQueue = (body: (queue: JobQueue, open: () => Promise<JobQueue>) => Promise<void>) => async () => {
    const queue = await harness.create();
    const handles: JobQueue[] = [];
    const open = async () => {
      const other = await harness.another(queue);
      handles.push(other);
      return other;
    };
    try {
      await body(queue, open);
      const counts = await queue.counts();
      expect({ queued: counts.queued, active: counts.active }, 'jobs left queued or held at the end of the case').toEqual({ queued: 0, active: 0 });
      for (const handle of handles) await handle.close();
      await queue.close();
      expect(await harness.leftovers(queue)).toEqual([]);
    } finally {
      for (const handle of handles) await handle.close();
      await queue.close();
      await harness.cleanup(queue);
    }
  };

  describe(`JobQueue conformance: ${name}`, () => {
    it('runs a job once: claim, complete with a result, and an enqueue of the same key returns that result', withQueue(async (queue) => {
      const first = await queue.enqueue({ kind: 'test.echo', key: 'sha256:aa', payload: { n: 1, list: ['x'] } });
      expect(first).toMatchObject({ created: true, state: 'queued' });
      const job = await queue.claim(['test.echo']);
      expect(job).toEqual({ id: first.id, kind: 'test.echo', key: 'sha256:aa', payload: { n: 1, list: ['x'] }, attempt: 1, maxAttempts: 3, leaseSeconds: 3600 });
      expect(await queue.claim(['test.echo'])).toBeUndefined();
      expect(await queue.complete(job!, { digest: 'sha256:bb', sizes: [1, 2] })).toBe(true);
      expect(await queue.enqueue({ kind: 'test.echo', key: 'sha256:aa', payload: { n: 2 } })).toEqual({ id: first.id, created: false, state: 'completed', result: { digest: 'sha256:bb', sizes: [1, 2] } });
      expect(await queue.claim(['test.echo'])).toBeUndefined();
      expect(await queue.get('test.echo', 'sha256:aa')).toEqual({ id: first.id, kind: 'test.echo', key: 'sha256:aa', state: 'completed', attempts: 1, maxAttempts: 3, result: { digest: 'sha256:bb', sizes: [1, 2] } });
      // The same key under another kind is other work.
      expect((await queue.enqueue({ kind: 'test.other', key: 'sha256:aa', payload: null })).created).toBe(true);
      const other = await queue.claim(['test.other']);
      expect(other?.kind).toBe('test.other');
      expect(await queue.complete(other!, null)).toBe(true);
      expect(await queue.counts()).toEqual({ queued: 0, active: 0, completed: 2, failed: 0 });
      expect(await queue.counts('test.echo')).toEqual({ queued: 0, active: 0, completed: 1, failed: 0 });
    }));

    it('keeps one job per key while it is queued or running', withQueue(async (queue) => {
      const first = await queue.enqueue({ kind: 'test.echo', key: 'k1', payload: 1 });
      expect(await queue.enqueue({ kind: 'test.echo', key: 'k1', payload: 2 })).toEqual({ id: first.id, created: false, state: 'queued' });
      const job = await queue.claim(['test.echo']);
      expect(job?.payload).toBe(1);
      expect(await queue.enqueue({ kind: 'test.echo', key: 'k1', payload: 3 })).toEqual({ id: first.id, created: false, state: 'active' });
      expect(await queue.claim(['test.echo'])).toBeUndefined();
      expect(await queue.counts()).toEqual({ queued: 0, active: 1, completed: 0, failed: 0 });
      expect(await queue.list({ state: 'active' })).toEqual([{ id: first.id, kind: 'test.echo', key: 'k1', state: 'active', attempts: 1, maxAttempts: 3 }]);
      expect(await queue.list({ state: 'queued' })).toEqual([]);
      expect(await queue.complete(job!, 'done')).toBe(true);
      expect(await queue.list({ state: 'active' })).toEqual([]);
    }));

    it('claims only the kinds asked for, oldest first', withQueue(async (queue) => {
      for (const key of ['a', 'b', 'c']) await queue.enqueue({ kind: 'test.one', key, payload: key });
      await queue.enqueue({ kind: 'test.two', key: 'z', payload: 'z' });
      expect(await queue.claim([])).toBeUndefined();
      expect(await queue.claim(['test.none'])).toBeUndefined();
      const order: string[] = [];
      for (;;) {
        const job = await queue.claim(['test.one']);
        if (!job) break;
        order.push(job.key);
        expect(await queue.complete(job, job.key)).toBe(true);
      }
      expect(order).toEqual(['a', 'b', 'c']);
      const two = await queue.claim(['test.one', 'test.two']);
      expect(two?.key).toBe('z');
      expect(await queue.complete(two!, 'z')).toBe(true);
    }));

    it('retries a failed attempt until the attempts run out, then fails for good; a new enqueue starts over', withQueue(async (queue) => {
      await queue.enqueue({ kind: 'test.flaky', key: 'k', payload: {}, maxAttempts: 2, retryDelaySeconds: 0 });
      const first = await claimUntil(queue, ['test.flaky'], 5000);
      expect(first.attempt).toBe(1);
      expect(await queue.fail(first, { message: 'network down' })).toBe('retry');
      expect(await queue.fail(first, { message: 'again' })).toBe('lost');
      const second = await claimUntil(queue, ['test.flaky'], 5000);
      expect({ id: second.id, attempt: second.attempt }).toEqual({ id: first.id, attempt: 2 });
      expect(await queue.complete(first, 'stale')).toBe(false);
      expect(await queue.fail(second, { message: 'still down' })).toBe('failed');
      expect(await queue.claim(['test.flaky'])).toBeUndefined();
      expect(await queue.get('test.flaky', 'k')).toEqual({ id: first.id, kind: 'test.flaky', key: 'k', state: 'failed', attempts: 2, maxAttempts: 2, error: 'still down' });
      expect(await queue.counts()).toEqual({ queued: 0, active: 0, completed: 0, failed: 1 });
      expect((await queue.list({ state: 'failed' })).map((job) => job.key)).toEqual(['k']);
      const again = await queue.enqueue({ kind: 'test.flaky', key: 'k', payload: { fixed: true }, maxAttempts: 1 });
      expect(again).toMatchObject({ created: true, state: 'queued' });
      expect(await queue.counts()).toEqual({ queued: 1, active: 0, completed: 0, failed: 0 });
      const third = await claimUntil(queue, ['test.flaky'], 5000);
      expect({ payload: third.payload, attempt: third.attempt, maxAttempts: third.maxAttempts }).toEqual({ payload: { fixed: true }, attempt: 1, maxAttempts: 1 });
      expect(await queue.complete(third, 'ok')).toBe(true);
      expect((await queue.get('test.flaky', 'k'))?.state).toBe('completed');
    }));

    it('waits the retry delay before the next attempt; a permanent failure skips the remaining attempts', withQueue(async (queue) => {
      await queue.enqueue({ kind: 'test.slow', key: 'k', payload: null, maxAttempts: 3, retryDelaySeconds: 1 });
      const first = await claimUntil(queue, ['test.slow'], 5000);
      const failedAt = Date.now();
      expect(await queue.fail(first, { message: 'busy' })).toBe('retry');
      expect(await queue.claim(['test.slow'])).toBeUndefined();
      expect(await queue.counts()).toEqual({ queued: 1, active: 0, completed: 0, failed: 0 });
      const second = await claimUntil(queue, ['test.slow'], 10_000);
      expect(Date.now() - failedAt).toBeGreaterThanOrEqual(900);
      expect(second.attempt).toBe(2);
      expect(await queue.fail(second, { message: 'malformed payload', permanent: true })).toBe('failed');
      expect(await queue.get('test.slow', 'k')).toMatchObject({ state: 'failed', attempts: 2, error: 'malformed payload' });
    }));

    it('takes a job whose lease expired (its worker died) back and runs it again; the dead claim cannot finish it', withQueue(async (queue) => {
      await queue.enqueue({ kind: 'test.lease', key: 'k', payload: 'p', leaseSeconds: 1, retryDelaySeconds: 0 });
      const dead = await claimUntil(queue, ['test.lease'], 5000);
      expect(await queue.claim(['test.lease'])).toBeUndefined();
      await sleep(1300);
      const retried = await claimUntil(queue, ['test.lease'], 10_000);
      expect({ id: retried.id, attempt: retried.attempt, payload: retried.payload }).toEqual({ id: dead.id, attempt: 2, payload: 'p' });
      expect(await queue.complete(dead, 'from the dead worker')).toBe(false);
      expect(await queue.fail(dead, { message: 'late' })).toBe('lost');
      expect(await queue.complete(retried, 'from the live worker')).toBe(true);
      expect(await queue.get('test.lease', 'k')).toMatchObject({ state: 'completed', attempts: 2, result: 'from the live worker' });
    }));

    it('fails a job for good when the lease of its last attempt expires', withQueue(async (queue) => {
      await queue.enqueue({ kind: 'test.lease', key: 'last', payload: null, leaseSeconds: 1, maxAttempts: 1 });
      await claimUntil(queue, ['test.lease'], 5000);
      await sleep(1300);
      expect(await queue.claim(['test.lease'])).toBeUndefined();
      expect(await queue.get('test.lease', 'last')).toMatchObject({ state: 'failed', attempts: 1, maxAttempts: 1 });
    }));

    it('reports a job whose lease ran out as queued again (or failed) to readers, without a claim', withQueue(async (queue, open) => {
      await queue.enqueue({ kind: 'test.lease', key: 'retry', payload: null, leaseSeconds: 1, maxAttempts: 2, retryDelaySeconds: 0 });
      await queue.enqueue({ kind: 'test.lease', key: 'last', payload: null, leaseSeconds: 1, maxAttempts: 1 });
      await claimUntil(queue, ['test.lease'], 5000);
      await claimUntil(queue, ['test.lease'], 5000);
      expect(await queue.counts('test.lease')).toEqual({ queued: 0, active: 2, completed: 0, failed: 0 });
      await sleep(1300);
      // A watcher that never claims (a run waiting on its steps) must see the worker's death.
      const watcher = await open();
      expect(await watcher.get('test.lease', 'retry')).toMatchObject({ state: 'queued', attempts: 1 });
      expect(await watcher.get('test.lease', 'last')).toMatchObject({ state: 'failed', attempts: 1 });
      expect(await watcher.list({ state: 'active' })).toEqual([]);
      expect(await watcher.counts('test.lease')).toEqual({ queued: 1, active: 0, completed: 0, failed: 1 });
      const retried = await claimUntil(queue, ['test.lease'], 10_000);
      expect({ key: retried.key, attempt: retried.attempt }).toEqual({ key: 'retry', attempt: 2 });
      expect(await queue.complete(retried, null)).toBe(true);
    }));

    it('withdraws a job only while it is queued: no claim takes it after, and a claimed or finished job stays', withQueue(async (queue, open) => {
      await queue.enqueue({ kind: 'test.withdraw', key: 'k', payload: 1 });
      const other = await open();
      expect(await other.withdraw('test.withdraw', 'k', 'run gave up on it')).toBe(true);
      expect(await queue.claim(['test.withdraw'])).toBeUndefined();
      expect(await queue.get('test.withdraw', 'k')).toMatchObject({ state: 'failed', attempts: 0, error: 'run gave up on it' });
      expect(await other.withdraw('test.withdraw', 'k', 'again')).toBe(false);
      expect(await queue.withdraw('test.withdraw', 'absent', 'nothing')).toBe(false);
      // A fresh enqueue after the withdrawal starts over; once claimed it cannot be withdrawn.
      expect((await queue.enqueue({ kind: 'test.withdraw', key: 'k', payload: 2 })).created).toBe(true);
      const job = await claimUntil(queue, ['test.withdraw'], 5000);
      expect(await other.withdraw('test.withdraw', 'k', 'too late')).toBe(false);
      expect(await queue.get('test.withdraw', 'k')).toMatchObject({ state: 'active' });
      expect(await queue.complete(job, 'done')).toBe(true);
      expect(await other.withdraw('test.withdraw', 'k', 'done already')).toBe(false);
      expect(await queue.get('test.withdraw', 'k')).toMatchObject({ state: 'completed', result: 'done' });
      // A job waiting for its retry is queued too.
      await queue.enqueue({ kind: 'test.withdraw', key: 'retrying', payload: null, retryDelaySeconds: 60 });
      const failing = await claimUntil(queue, ['test.withdraw'], 5000);
      expect(await queue.fail(failing, { message: 'flaky' })).toBe('retry');
      expect(await other.withdraw('test.withdraw', 'retrying', 'run gave up')).toBe(true);
      expect(await queue.get('test.withdraw', 'retrying')).toMatchObject({ state: 'failed', attempts: 1, error: 'run gave up' });
      expect(await queue.counts('test.withdraw')).toEqual({ queued: 0, active: 0, completed: 1, failed: 1 });
    }));

    it('hands each job to exactly one claim when several handles claim at once', withQueue(async (queue, open) => {
      const keys = Array.from({ length: 24 }, (_, index) => `job-${String(index).padStart(2, '0')}`);
      const queued = [...keys];
      for (const key of queued) await queue.enqueue({ kind: 'test.race', key, payload: key });
      // Enqueueing the same keys from another handle at the same time adds nothing.
      const other = await open();
      const again = await Promise.all(queued.map((key) => other.enqueue({ kind: 'test.race', key, payload: 'dup' })));
      expect(again.filter((result) => result.created)).toEqual([]);
      const handles = [queue, other, await open()];
      // Fresh keys enqueued from every handle at once: each is created exactly once.
      const fresh = Array.from({ length: 8 }, (_, index) => `fresh-${index}`);
      const created = await Promise.all(handles.flatMap((handle) => fresh.map((key) => handle.enqueue({ kind: 'test.race', key, payload: key }))));
      expect(created.filter((result) => result.created).length).toBe(fresh.length);
      expect(new Set(created.map((result) => result.id)).size).toBe(fresh.length);
      keys.push(...fresh);
      keys.sort();
      const seen: string[] = [];
      await Promise.all(
        handles.flatMap((handle) =>
          [0, 1].map(async () => {
            for (;;) {
              const job = await handle.claim(['test.race']);
              if (!job) return;
              seen.push(job.key);
              expect(job.payload).toBe(job.key);
              expect(await handle.complete(job, job.key)).toBe(true);
            }
          }),
        ),
      );
      expect(seen.slice().sort()).toEqual(keys);
      expect(await queue.counts('test.race')).toEqual({ queued: 0, active: 0, completed: 32, failed: 0 });
      expect((await queue.list({ state: 'completed', kind: 'test.race', limit: 5 })).length).toBe(5);
    }));

    it('refuses malformed jobs and results with QUEUE_JOB_INVALID and stores nothing', withQueue(async (queue) => {
      const invalid = async (promise: Promise<unknown>) => {
        const error = await promise.then(() => undefined, (caught: unknown) => caught);
        expect(error).toBeInstanceOf(FactoryQueueError);
        expect((error as FactoryQueueError).code).toBe('QUEUE_JOB_INVALID');
      };
      await invalid(queue.enqueue({ kind: 'Bad Kind', key: 'k', payload: null }));
      await invalid(queue.enqueue({ kind: 'test.ok', key: '', payload: null }));
      await invalid(queue.enqueue({ kind: 'test.ok', key: 'has space', payload: null }));
      await invalid(queue.enqueue({ kind: 'test.ok', key: 'k', payload: { when: new Date(0) } as unknown as JsonValue }));
      await invalid(queue.enqueue({ kind: 'test.ok', key: 'k', payload: Number.NaN }));
      await invalid(queue.enqueue({ kind: 'test.ok', key: 'k', payload: null, leaseSeconds: 0 }));
      await invalid(queue.enqueue({ kind: 'test.ok', key: 'k', payload: null, maxAttempts: 1.5 }));
      await invalid(queue.claim(['NOPE']));
      expect(await queue.counts()).toEqual({ queued: 0, active: 0, completed: 0, failed: 0 });
      await queue.enqueue({ kind: 'test.ok', key: 'k', payload: null });
      const job = await claimUntil(queue, ['test.ok'], 5000);
      await invalid(queue.complete(job, { bad: undefined } as unknown as JsonValue));
      expect(await queue.complete(job, { good: true })).toBe(true);
    }));

    it('refuses use after close with QUEUE_CLOSED; close is idempotent', withQueue(async (queue, open) => {
      const other = await open();
      await other.close();
      await other.close();
      const error = await other.counts().then(() => undefined, (caught: unknown) => caught);
      expect((error as FactoryQueueError).code).toBe('QUEUE_CLOSED');
      expect(await queue.counts()).toEqual({ queued: 0, active: 0, completed: 0, failed: 0 });
    }));
  });
}
