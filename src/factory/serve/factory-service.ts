// `kiln factory serve` as a service: a cron schedule that enqueues one factory run per scheduled
// minute (keyed by config and minute, so several serve replicas on one queue enqueue it once), an
// in-process worker for those runs when a runner is wired, and an HTTP endpoint with /status (JSON),
// /metrics (Prometheus) and /healthz.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/index.ts';
import type { CronSchedule } from '../format/cron.ts';
import type { EnqueueResult, JobCounts, JobQueue, JobRecord } from '../queue/port.ts';
import { FactoryQueueError } from '../queue/errors.ts';
import { runWorker } from '../queue/worker.ts';
import { FACTORY_RUN_KIND, factoryRunHandler } from './factory-runner.ts';
import type { FactoryRunner, FactoryRunRequest } from './factory-runner.ts';
import { startScheduler } from './scheduler.ts';

/** Attempts of a scheduled run (a run refused because another holds the state is tried again). */
const RUN_ATTEMPTS = 3;
const RUN_RETRY_DELAY_SECONDS = 600;
/** A run not finished within this is taken for dead (its process gone) and retried. */
const RUN_LEASE_SECONDS = 6 * 3600;

/** What the service needs. */
export interface FactoryServiceOptions {
  queue: JobQueue;
  /** Absolute path of the factory configuration; runs get it in their payload. */
  config: string;
  schedule: CronSchedule;
  listen: { host: string; port: number };
  registry: Registry;
  logger: Logger;
  /** Runs `factory.run` jobs in this process; without it they wait for a `kiln factory worker`. */
  runner?: FactoryRunner;
  /** Each scheduled run hands its steps to `kiln factory worker`s on the queue. */
  distributeSteps?: FactoryRunRequest['distributeSteps'];
  now?: () => Date;
  /** Worker poll interval (default 1000 ms). */
  pollIntervalMs?: number;
}

/** The `/status` document. */
export interface FactoryStatus {
  config: string;
  schedule: string;
  nextRun: string | null;
  lastRun: (FactoryRunRequest & { job: JobRecord | null }) | null;
  queue: JobCounts;
  /** True when this process runs the factory itself; false when workers must. */
  runsInProcess: boolean;
}

/** A running service. */
export interface RunningFactoryService {
  url: string;
  /** Enqueues the run for this scheduled minute now (what the schedule does at each tick). */
  tick(scheduledAt: Date): Promise<EnqueueResult>;
  status(): Promise<FactoryStatus>;
  close(): Promise<void>;
}

/** The job key of the run of `config` for `scheduledAt`. */
export function factoryRunKey(config: string, scheduledAt: Date): string {
  return `${createHash('sha256').update(config).digest('hex').slice(0, 16)}@${scheduledAt.toISOString()}`;
}

/** The newest run of `config` the durable queue knows (in any state), so /status reports the last
 *  run after a restart. Keys end in the scheduled ISO time, which sorts as time does. */
async function lastRunInQueue(queue: JobQueue, config: string): Promise<FactoryRunRequest | undefined> {
  const prefix = factoryRunKey(config, new Date(0)).split('@')[0]!;
  let newest: string | undefined;
  for (const state of ['queued', 'active', 'completed', 'failed'] as const) {
    for (const job of await queue.list({ state, kind: FACTORY_RUN_KIND, limit: 100_000 })) {
      const [hash, at] = job.key.split('@');
      if (hash === prefix && at && (newest === undefined || at > newest)) newest = at;
    }
  }
  return newest === undefined ? undefined : { config, scheduledAt: newest };
}

/** Starts the schedule, the worker (with a runner) and the HTTP endpoint. */
export async function startFactoryService(options: FactoryServiceOptions): Promise<RunningFactoryService> {
  const { queue, logger, registry } = options;
  // prom-client is loaded only here: it costs every importer of the factory's index a third of a second.
  const { createFactoryMetrics } = await import('./metrics.ts');
  const metrics = createFactoryMetrics(registry, queue);
  let lastRun: FactoryRunRequest | undefined = await lastRunInQueue(queue, options.config);

  const tick = async (scheduledAt: Date): Promise<EnqueueResult> => {
    const request: FactoryRunRequest = { config: options.config, scheduledAt: scheduledAt.toISOString(), ...(options.distributeSteps ? { distributeSteps: options.distributeSteps } : {}) };
    const result = await queue.enqueue({
      kind: FACTORY_RUN_KIND,
      key: factoryRunKey(options.config, scheduledAt),
      payload: { ...request },
      maxAttempts: RUN_ATTEMPTS,
      retryDelaySeconds: RUN_RETRY_DELAY_SECONDS,
      leaseSeconds: RUN_LEASE_SECONDS,
    });
    lastRun = request;
    logger.info({ scheduledAt: request.scheduledAt, id: result.id, created: result.created }, 'factory run enqueued');
    return result;
  };

  const scheduler = startScheduler({ schedule: options.schedule, logger, onTick: async (at) => void (await tick(at)), ...(options.now ? { now: options.now } : {}) });
  const stopping = new AbortController();
  const worker = options.runner
    ? runWorker(queue, { [FACTORY_RUN_KIND]: factoryRunHandler(options.runner, metrics) }, { signal: stopping.signal, logger, pollIntervalMs: options.pollIntervalMs ?? 1000 }).catch((error: unknown) => {
        logger.error({ err: error }, 'factory run worker stopped');
      })
    : undefined;
  if (!options.runner) logger.warn({ kind: FACTORY_RUN_KIND }, 'no factory runner in this process: runs wait for a worker');

  const status = async (): Promise<FactoryStatus> => ({
    config: options.config,
    schedule: options.schedule.source,
    nextRun: scheduler.nextRun()?.toISOString() ?? null,
    lastRun: lastRun ? { ...lastRun, job: (await queue.get(FACTORY_RUN_KIND, factoryRunKey(lastRun.config, new Date(lastRun.scheduledAt)))) ?? null } : null,
    queue: await queue.counts(),
    runsInProcess: options.runner !== undefined,
  });

  const send = (response: ServerResponse, code: number, type: string, body: string) => {
    response.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(body);
  };
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }));
    if (path === '/status') return send(response, 200, 'application/json', `${JSON.stringify(await status())}\n`);
    if (path === '/metrics') return send(response, 200, registry.contentType, await registry.metrics());
    if (path === '/healthz') return send(response, 200, 'text/plain', 'ok\n');
    return send(response, 404, 'application/json', JSON.stringify({ error: 'not found', paths: ['/status', '/metrics', '/healthz'] }));
  };
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'status request failed');
      if (!response.headersSent) send(response, 503, 'application/json', JSON.stringify({ error: (error as Error).message }));
      else response.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    scheduler.stop();
    stopping.abort();
    await worker;
    throw new FactoryQueueError('SERVE_LISTEN_FAILED', `cannot listen on ${options.listen.host}:${options.listen.port}: ${(error as Error).message}`, { cause: error, detail: { ...options.listen } });
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    tick,
    status,
    close: async () => {
      scheduler.stop();
      stopping.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await worker;
    },
  };
}
