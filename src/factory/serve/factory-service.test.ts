import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { silentLogger } from '../../lib/index.ts';
import { parseCron } from '../format/cron.ts';
import { SqliteJobQueue } from '../queue/sqlite-job-queue.ts';
import { factoryRunKey, startFactoryService } from './factory-service.ts';
import type { FactoryStatus } from './factory-service.ts';
import type { FactoryRunner } from './factory-runner.ts';
import { startScheduler } from './scheduler.ts';

let dir: string;
let queue: SqliteJobQueue;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-serve-'));
  queue = new SqliteJobQueue(join(dir, 'queue.db'));
});

afterEach(async () => {
  vi.useRealTimers();
  await queue.close();
  await rm(dir, { recursive: true, force: true });
});

// A runner doing real work: records each run in a file and reports what a run reports.
const recordingRunner = (runs: string): FactoryRunner => ({
  run: async (request) => {
    await writeFile(runs, `${request.scheduledAt}\n`, { flag: 'a' });
    return { runId: `run-${request.scheduledAt}`, imagesPublished: 2, cvesOpen: 5, failed: [] };
  },
});

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let tries = 0; ; tries++) {
    const value = await read();
    if (done(value) || tries > 200) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it('enqueues one run per scheduled minute, runs it, and reports it on /status and /metrics', async () => {
  const config = join(dir, 'factory.yaml');
  const runs = join(dir, 'runs.log');
  const registry = new Registry();
  const service = await startFactoryService({ queue, config, schedule: parseCron('0 3 * * *'), listen: { host: '127.0.0.1', port: 0 }, registry, logger: silentLogger, runner: recordingRunner(runs), pollIntervalMs: 20 });
  try {
    const at = new Date('2026-12-05T03:00:00Z');
    expect(await service.tick(at)).toMatchObject({ created: true, state: 'queued' });
    const status = await waitFor(async () => (await (await fetch(`${service.url}/status`)).json()) as FactoryStatus, (value) => value.lastRun?.job?.state === 'completed');
    expect(status).toEqual({
      config,
      schedule: '0 3 * * *',
      nextRun: expect.stringMatching(/T03:00:00\.000Z$/),
      lastRun: {
        config,
        scheduledAt: '2026-12-05T03:00:00.000Z',
        job: { id: expect.any(String), kind: 'factory.run', key: factoryRunKey(config, at), state: 'completed', attempts: 1, maxAttempts: 3, result: { runId: 'run-2026-12-05T03:00:00.000Z', imagesPublished: 2, cvesOpen: 5, failed: [] } },
      },
      queue: { queued: 0, active: 0, completed: 1, failed: 0 },
      runsInProcess: true,
    });
    // The same minute again (a second replica, a restart) adds nothing.
    expect(await service.tick(at)).toMatchObject({ created: false, state: 'completed' });
    expect(await readFile(runs, 'utf8')).toBe('2026-12-05T03:00:00.000Z\n');
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('kiln_factory_runs_total{result="success"} 1');
    expect(metrics).toContain('kiln_factory_images_published_total 2');
    expect(metrics).toContain('kiln_factory_cves_open 5');
    expect(metrics).toContain('kiln_factory_run_duration_seconds_count 1');
    expect(metrics).toContain('kiln_factory_queue_jobs{state="completed"} 1');
    expect(metrics).toContain('kiln_factory_queue_jobs{state="queued"} 0');
    expect((await fetch(`${service.url}/nope`)).status).toBe(404);
    expect((await fetch(`${service.url}/status`, { method: 'POST' })).status).toBe(405);
    expect(await (await fetch(`${service.url}/healthz`)).text()).toBe('ok\n');
  } finally {
    await service.close();
  }
});

it('reports the last run after a restart, read from the durable queue; another config has none', async () => {
  const config = join(dir, 'factory.yaml');
  const runs = join(dir, 'runs.log');
  const first = await startFactoryService({ queue, config, schedule: parseCron('0 3 * * *'), listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), logger: silentLogger, runner: recordingRunner(runs), pollIntervalMs: 20 });
  try {
    await first.tick(new Date('2026-12-04T03:00:00Z'));
    await first.tick(new Date('2026-12-05T03:00:00Z'));
    await waitFor(() => queue.counts(), (counts) => counts.completed === 2);
  } finally {
    await first.close();
  }
  await queue.close();
  // A new process: a new queue handle on the same database, nothing carried over in memory.
  queue = new SqliteJobQueue(join(dir, 'queue.db'));
  const restarted = await startFactoryService({ queue, config, schedule: parseCron('0 3 * * *'), listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), logger: silentLogger });
  const other = await startFactoryService({ queue, config: join(dir, 'other.yaml'), schedule: parseCron('0 3 * * *'), listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), logger: silentLogger });
  try {
    const status = (await (await fetch(`${restarted.url}/status`)).json()) as FactoryStatus;
    expect(status.lastRun).toMatchObject({ config, scheduledAt: '2026-12-05T03:00:00.000Z', job: { state: 'completed', result: { runId: 'run-2026-12-05T03:00:00.000Z' } } });
    expect((await other.status()).lastRun).toBeNull();
  } finally {
    await restarted.close();
    await other.close();
  }
});

it('counts a run that throws as an error and leaves it to be retried', async () => {
  const registry = new Registry();
  const runner: FactoryRunner = { run: async () => Promise.reject(new Error('state directory locked by pid 42')) };
  const service = await startFactoryService({ queue, config: join(dir, 'f.yaml'), schedule: parseCron('@daily'), listen: { host: '127.0.0.1', port: 0 }, registry, logger: silentLogger, runner, pollIntervalMs: 20 });
  try {
    await service.tick(new Date('2026-12-05T00:00:00Z'));
    const status = await waitFor(() => service.status(), (value) => value.lastRun?.job?.attempts === 1 && value.lastRun.job.state === 'queued');
    expect(status.lastRun?.job).toMatchObject({ state: 'queued', attempts: 1, error: 'state directory locked by pid 42' });
    expect(await registry.getSingleMetricAsString('kiln_factory_runs_total')).toContain('kiln_factory_runs_total{result="error"} 1');
  } finally {
    await service.close();
  }
});

it('without a runner, enqueues runs for workers and says so', async () => {
  const service = await startFactoryService({ queue, config: join(dir, 'f.yaml'), schedule: parseCron('@daily'), listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), logger: silentLogger });
  try {
    await service.tick(new Date('2026-12-05T00:00:00Z'));
    expect(await service.status()).toMatchObject({ runsInProcess: false, queue: { queued: 1, active: 0, completed: 0, failed: 0 }, lastRun: { job: { state: 'queued', attempts: 0 } } });
  } finally {
    await service.close();
  }
});

it('with distributeSteps, puts the step options in each run it enqueues, for whoever runs it', async () => {
  const config = join(dir, 'f.yaml');
  const service = await startFactoryService({ queue, config, schedule: parseCron('@daily'), listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), logger: silentLogger, distributeSteps: { stepLease: '2h', claimTimeout: '5m' } });
  try {
    await service.tick(new Date('2026-12-05T00:00:00Z'));
    const job = await queue.claim(['factory.run']);
    expect(job?.key).toBe(factoryRunKey(config, new Date('2026-12-05T00:00:00Z')));
    expect(job?.payload).toEqual({ config, scheduledAt: '2026-12-05T00:00:00.000Z', distributeSteps: { stepLease: '2h', claimTimeout: '5m' } });
  } finally {
    await service.close();
  }
});

it('refuses an address it cannot listen on with SERVE_LISTEN_FAILED', async () => {
  const first = await startFactoryService({ queue, config: join(dir, 'f.yaml'), schedule: parseCron('@daily'), listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), logger: silentLogger });
  try {
    const port = Number(new URL(first.url).port);
    await expect(startFactoryService({ queue, config: join(dir, 'f.yaml'), schedule: parseCron('@daily'), listen: { host: '127.0.0.1', port }, registry: new Registry(), logger: silentLogger })).rejects.toMatchObject({
      code: 'SERVE_LISTEN_FAILED',
      message: expect.stringContaining(`cannot listen on 127.0.0.1:${port}`),
    });
  } finally {
    await first.close();
  }
});

it('fires at each scheduled minute and reports the next one', async () => {
  vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 10, 2, 30), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const ticks: string[] = [];
  const scheduler = startScheduler({ schedule: parseCron('*/5 * * * *'), logger: silentLogger, onTick: async (at) => void ticks.push(at.toISOString()) });
  expect(scheduler.nextRun()?.toISOString()).toBe('2026-12-04T10:05:00.000Z');
  await vi.advanceTimersByTimeAsync(150_000);
  expect(ticks).toEqual(['2026-12-04T10:05:00.000Z']);
  expect(scheduler.nextRun()?.toISOString()).toBe('2026-12-04T10:10:00.000Z');
  await vi.advanceTimersByTimeAsync(600_000);
  expect(ticks).toEqual(['2026-12-04T10:05:00.000Z', '2026-12-04T10:10:00.000Z', '2026-12-04T10:15:00.000Z']);
  scheduler.stop();
  expect(scheduler.nextRun()).toBeUndefined();
  await vi.advanceTimersByTimeAsync(600_000);
  expect(ticks.length).toBe(3);
});
