// A worker: claims jobs of the kinds it has handlers for, runs them, records results and failures.
// Any number of workers (in one process or many, on one machine or many) share one queue.
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { FactoryQueueError } from './errors.ts';
import type { ClaimedJob, JobQueue, JsonValue } from './port.ts';

/** What a handler gets besides the payload. */
export interface JobContext {
  id: string;
  kind: string;
  /** The idempotency key (input hash): a handler's result must depend only on the payload, so a
   *  retried job, or one run twice after a lost lease, gives the identical result. */
  key: string;
  attempt: number;
  /** Aborted when the worker is asked to stop; a handler may finish or give up (the job is retried). */
  signal: AbortSignal;
  logger: Logger;
}

/** Runs one job: resolves to its result (JSON) or throws; an error with `permanent: true` (or a
 *  QUEUE_JOB_INVALID FactoryQueueError) fails the job without using the remaining attempts. */
export type JobHandler = (payload: JsonValue, context: JobContext) => Promise<JsonValue>;

/** Handlers by job kind. */
export type JobHandlers = Readonly<Record<string, JobHandler>>;

/** One finished job, as the worker reports it to `onJob`. */
export interface WorkerJobEvent {
  id: string;
  kind: string;
  key: string;
  attempt: number;
  outcome: 'completed' | 'retry' | 'failed' | 'lost';
  durationMs: number;
  error?: string;
}

/** How a worker runs. */
export interface WorkerOptions {
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** Stops claiming when aborted; runWorker resolves once the jobs in hand are finished. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Milliseconds between claims while there is nothing to do (default 1000). */
  pollIntervalMs?: number;
  /** Return once no job of the handled kinds is queued or held (by anyone): for batch runs and tests. */
  untilEmpty?: boolean;
  onJob?: (event: WorkerJobEvent) => void;
}

/** What a worker did before it returned. */
export interface WorkerSummary {
  completed: number;
  retried: number;
  failed: number;
  /** Jobs whose lease expired while they ran, so another claim finished them. */
  lost: number;
}

function isPermanent(error: unknown): boolean {
  if (error instanceof FactoryQueueError && error.code === 'QUEUE_JOB_INVALID') return true;
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs jobs from `queue` with `handlers` until `signal` aborts (or, with `untilEmpty`, the work is done). */
export async function runWorker(queue: JobQueue, handlers: JobHandlers, options: WorkerOptions = {}): Promise<WorkerSummary> {
  const kinds = Object.keys(handlers).sort();
  if (kinds.length === 0) throw new FactoryQueueError('QUEUE_NO_HANDLER', 'worker has no job handlers: nothing to run');
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new FactoryQueueError('QUEUE_JOB_INVALID', `worker concurrency must be a positive integer, got ${String(concurrency)}`);
  const logger = options.logger ?? silentLogger;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  // Stops on the caller's signal, or when a slot hits a queue failure (the others then finish their jobs).
  const stopping = new AbortController();
  const stop = stopping.signal;
  const onAbort = () => stopping.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stopping.abort();
  const summary: WorkerSummary = { completed: 0, retried: 0, failed: 0, lost: 0 };

  const isIdle = async (): Promise<boolean> => {
    for (const kind of kinds) {
      const counts = await queue.counts(kind);
      if (counts.queued + counts.active > 0) return false;
    }
    return true;
  };

  const run = async (job: ClaimedJob): Promise<void> => {
    const handler = handlers[job.kind];
    const started = Date.now();
    const fields = { id: job.id, kind: job.kind, key: job.key, attempt: job.attempt };
    logger.info(fields, 'job started');
    let outcome: WorkerJobEvent['outcome'];
    let error: string | undefined;
    try {
      if (!handler) throw new FactoryQueueError('QUEUE_NO_HANDLER', `no handler for job kind ${job.kind}`, { detail: { kind: job.kind } });
      const result = await handler(job.payload, { id: job.id, kind: job.kind, key: job.key, attempt: job.attempt, signal: stop, logger });
      outcome = (await queue.complete(job, result)) ? 'completed' : 'lost';
    } catch (caught) {
      // The queue's own failures are not the job's: a queue that is down is waited out by the slot,
      // one closed or damaged stops the worker (a damaged one must not mark good work for retry).
      if (caught instanceof FactoryQueueError && (caught.code === 'QUEUE_UNAVAILABLE' || caught.code === 'QUEUE_CLOSED' || caught.code === 'QUEUE_DAMAGED')) throw caught;
      error = messageOf(caught);
      outcome = await queue.fail(job, { message: error, permanent: isPermanent(caught) });
    }
    summary[outcome === 'retry' ? 'retried' : outcome] += 1;
    const durationMs = Date.now() - started;
    const done = { ...fields, outcome, durationMs, ...(error === undefined ? {} : { error }) };
    if (outcome === 'completed') logger.info(done, 'job completed');
    else logger.warn(done, outcome === 'lost' ? 'job lease lost' : 'job failed');
    options.onJob?.(done);
  };

  // A queue that is down (QUEUE_UNAVAILABLE) is waited out, doubling the wait up to a minute; a job
  // whose result could not be recorded then is retried once its lease runs out. Anything else stops.
  const slot = async (): Promise<void> => {
    let outage = 0;
    while (!stop.aborted) {
      try {
        const job = await queue.claim(kinds);
        if (job) await run(job);
        else if (options.untilEmpty && (await isIdle())) return;
        outage = 0;
        if (job) continue;
      } catch (error) {
        if (!(error instanceof FactoryQueueError && error.code === 'QUEUE_UNAVAILABLE')) throw error;
        outage += 1;
        logger.warn({ err: error, outage }, 'queue unavailable');
      }
      const wait = outage === 0 ? pollIntervalMs : Math.min(60_000, pollIntervalMs * 2 ** Math.min(outage, 16));
      await delay(wait, undefined, { signal: stop }).catch(() => undefined);
    }
  };

  logger.info({ kinds, concurrency }, 'worker started');
  let failure: unknown;
  await Promise.all(
    Array.from({ length: concurrency }, () =>
      slot().catch((error: unknown) => {
        failure ??= error;
        stopping.abort();
      }),
    ),
  );
  options.signal?.removeEventListener('abort', onAbort);
  if (failure !== undefined) throw failure;
  logger.info({ ...summary }, 'worker stopped');
  return summary;
}
