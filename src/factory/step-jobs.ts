// The steps of a factory run as queue jobs: the run (which holds the state's run lock) plans, then
// enqueues each step once the steps it waits for are done and waits for the outcome; workers on any
// machine that shares the state, output and recipe directories run them. A step job's key is its input
// hash with the run's id: a worker killed mid-step leaves the job to be retried under the same key
// (the step checks the state first, so finished work is not redone), and a step that failed in one
// run is tried afresh by the next.
import { setTimeout as delay } from 'node:timers/promises';
import { loadFactoryConfig } from './config.ts';
import type { FactoryConfig } from './config.ts';
import type { FactoryStep } from './format/run-plan.ts';
import type { JobQueue, JobRecord, JsonValue } from './queue/port.ts';
import type { JobHandler } from './queue/worker.ts';
import { FactoryQueueError } from './queue/errors.ts';
import { formatDuration } from '../lib/index.ts';
import { checkRunLock } from './run-lock.ts';
import { runFactoryStep } from './run.ts';
import type { FactoryPorts, StepExecutor, StepOutcome } from './run.ts';

export const FACTORY_STEP_KIND = 'factory.step';

/** A failed attempt (a run lock that could not be read) waits this long before the next. */
const STEP_RETRY_DELAY_SECONDS = 5;

/** Payload of a `factory.step` job. */
export interface FactoryStepJob {
  /** Absolute path of the factory configuration (the same file on every machine). */
  config: string;
  runId: string;
  kilnVersion: string;
  step: FactoryStep;
}

/** Options of the queue executor. */
export interface QueueStepOptions {
  /** Steps queued at once (default 16: workers decide how many run). */
  concurrency?: number;
  /** Lease of a step job: a worker silent for this long is taken for dead (default 1 hour). */
  leaseSeconds?: number;
  /** Attempts of a step job, counting expired leases (default 3). */
  maxAttempts?: number;
  /** Wait between looks at a queued step (default 250 ms). */
  pollMs?: number;
  /** With no step running, how long the queue may hold waiting step jobs that no worker takes before
   *  the run gives up on them with FACTORY_NO_WORKER (default 10 minutes). */
  claimTimeoutMs?: number;
  /** The queue's location, named in FACTORY_NO_WORKER's message (passwords redacted). */
  queueName?: string;
  /** What `kiln factory worker --queue` takes to reach the queue (`env:NAME` when the run was given
   *  one), for FACTORY_NO_WORKER's hint; defaults to queueName. */
  workerQueueFlag?: string;
}

/** How long a queue may fail every call (QUEUE_UNAVAILABLE) before the run gives up on it. */
const QUEUE_OUTAGE_LIMIT_MS = 10 * 60_000;

/** After an outage, workers may still be in their own back-off, which doubles with the outage up to
 *  a minute (worker.ts). */
const WORKER_OUTAGE_BACKOFF_MS = 60_000;

/** Calls `call` until the queue answers: QUEUE_UNAVAILABLE (the database restarting, a dropped
 *  connection) is waited out, doubling the wait up to 30 s, for at most QUEUE_OUTAGE_LIMIT_MS;
 *  `recovered` is told how long the outage lasted when an answer came after one. */
async function patiently<T>(call: () => Promise<T>, recovered: (outageMs: number) => void, outageLimitMs = QUEUE_OUTAGE_LIMIT_MS): Promise<T> {
  const since = Date.now();
  for (let failures = 0; ; failures++) {
    try {
      const answer = await call();
      if (failures > 0) recovered(Date.now() - since);
      return answer;
    } catch (error) {
      if (!(error instanceof FactoryQueueError && error.code === 'QUEUE_UNAVAILABLE') || Date.now() - since >= outageLimitMs) throw error;
      await delay(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
    }
  }
}

/** Runs each step as a `factory.step` job on `queue` and waits for its outcome. A step job that fails
 *  for good (its attempts used up by workers that died) is the step's failure; a queue that fails for
 *  a while is waited out.
 *
 *  No worker: while none of the queue's step jobs is running (this run's or another's) and none of
 *  this run's has moved (been taken, retried or finished) for claimTimeoutMs, a waiting step is
 *  withdrawn from the queue and fails with FACTORY_NO_WORKER; once that happened, each later step
 *  is withdrawn after a short grace (a tenth of claimTimeoutMs, at most 5 s) unless a worker shows
 *  up. A job withdrawn is never run later; one a worker took first is waited for. */
export function queueStepExecutor(queue: JobQueue, options: QueueStepOptions = {}): StepExecutor {
  const claimTimeoutMs = options.claimTimeoutMs ?? 10 * 60_000;
  const graceMs = Math.min(claimTimeoutMs / 10, 5_000);
  const pollMs = options.pollMs ?? 250;
  const queueName = options.queueName ?? 'the queue';
  const seen = new Map<string, string>();
  let lastMove: number | undefined;
  let noWorker = false;
  let noWorkerSince = 0;
  // An outage is nobody's silence: the claim clocks stop for its length, and as long again for
  // workers still backing off (their waits double), plus a second; a minute ahead at most. Brief
  // errors only delay the verdict by about their length.
  const recovered = (outageMs: number) => {
    const now = Date.now();
    const pause = 2 * outageMs + 1000;
    lastMove = Math.min(now + WORKER_OUTAGE_BACKOFF_MS, (lastMove ?? now) + pause);
    noWorkerSince = Math.min(now + WORKER_OUTAGE_BACKOFF_MS, noWorkerSince + pause);
  };
  const ask = <T>(call: () => Promise<T>) => patiently(call, recovered);
  const markNoWorker = () => {
    if (!noWorker) noWorkerSince = Date.now();
    noWorker = true;
  };
  // A first sighting as queued is not movement (a new step enqueued); anything a worker did is.
  const observe = (key: string, record: Pick<JobRecord, 'state' | 'attempts'>) => {
    const mark = `${record.state}/${record.attempts}`;
    const previous = seen.get(key);
    if (previous === mark) return;
    seen.set(key, mark);
    if (previous !== undefined || record.state !== 'queued') {
      lastMove = Date.now();
      noWorker = false;
    }
  };
  const stepRunning = async () => [...seen.values()].some((mark) => mark.startsWith('active/')) || (await ask(() => queue.counts(FACTORY_STEP_KIND))).active > 0;
  return {
    concurrency: options.concurrency ?? 16,
    async run(step, context) {
      const started = Date.now();
      lastMove ??= started;
      const key = `${step.key}@${context.runId}`;
      const failed = (code: 'FACTORY_NO_WORKER' | 'FACTORY_STEP_FAILED', message: string): StepOutcome => {
        seen.delete(key);
        return { id: step.id, kind: step.kind, status: 'failed', error: { code, message }, durationMs: Date.now() - started };
      };
      const payload: FactoryStepJob = { config: context.config.file, runId: context.runId, kilnVersion: context.kilnVersion, step };
      const job = await ask(() => queue.enqueue({ kind: FACTORY_STEP_KIND, key, payload: payload as unknown as JsonValue, leaseSeconds: options.leaseSeconds ?? 3600, maxAttempts: options.maxAttempts ?? 3, retryDelaySeconds: STEP_RETRY_DELAY_SECONDS }));
      let record: Pick<JobRecord, 'state' | 'result' | 'attempts' | 'error'> | undefined = job.state === 'completed' ? { state: job.state, ...(job.result !== undefined ? { result: job.result } : {}), attempts: 1 } : undefined;
      let withdrawal: string | undefined;
      while (!record || (record.state !== 'completed' && record.state !== 'failed')) {
        await delay(pollMs);
        record = await ask(() => queue.get(FACTORY_STEP_KIND, key));
        if (!record) return failed('FACTORY_STEP_FAILED', `step ${step.id}: job ${key} vanished from ${queueName} before it finished (removed by hand?)`);
        observe(key, record);
        if (record.state !== 'queued') continue;
        // Once no worker was seen, the steps still waiting get a short grace for one that just started.
        const due = noWorker ? Date.now() - Math.max(started, noWorkerSince) >= graceMs : Date.now() - lastMove! >= claimTimeoutMs;
        if (!due) continue;
        // A worker busy on any step job is alive: wait for it.
        if (await stepRunning()) {
          lastMove = Date.now();
          noWorker = false;
          continue;
        }
        const message = `step ${step.id}: no kiln factory worker took its job from ${queueName} in ${formatDuration(Date.now() - started)} (no step job ran meanwhile); start \`kiln factory worker --queue ${options.workerQueueFlag ?? options.queueName ?? 'LOCATION'}\``;
        withdrawal = message;
        if (await ask(() => queue.withdraw(FACTORY_STEP_KIND, key, message))) {
          markNoWorker();
          return failed('FACTORY_NO_WORKER', message);
        }
        // Taken between the look and the withdrawal: a worker has it, wait for the outcome.
      }
      seen.delete(key);
      // Withdrawn: by this run (a withdrawal whose answer was lost: its message is the job's error, after
      // any number of attempts), or by another run of the same step before any attempt.
      if (record.state === 'failed' && (record.attempts === 0 || (withdrawal !== undefined && record.error === withdrawal))) {
        markNoWorker();
        return failed('FACTORY_NO_WORKER', record.error ?? `step ${step.id}: job ${key} was withdrawn from ${queueName} before any worker took it`);
      }
      const outcome = record.result as unknown as StepOutcome | undefined;
      // Keys are input hashes: a result for another step means two steps claimed one key.
      if (record.state === 'completed' && outcome?.id === step.id) return outcome;
      if (record.state === 'completed') return failed('FACTORY_STEP_FAILED', `step ${step.id}: job ${key} holds the result of ${outcome?.id ?? 'nothing'}`);
      return failed('FACTORY_STEP_FAILED', `step ${step.id}: job ${key} failed after ${record.attempts} attempt${record.attempts === 1 ? '' : 's'}: ${record.error ?? 'no error recorded'}`);
    },
  };
}

/** The `factory.step` handler: composes the factory's ports for the job's configuration (as `kiln
 *  factory run` does) and runs the one step. A step that fails is a completed job whose outcome says
 *  so; an error outside the step (the configuration cannot be read) fails the attempt. */
export function factoryStepHandler(openPorts: (config: FactoryConfig, kilnVersion: string) => Promise<{ ports: FactoryPorts; close: () => void }>): JobHandler {
  return async (payload, context) => {
    const job = payload as unknown as FactoryStepJob;
    const config = await loadFactoryConfig(job.config);
    // Only the run that holds the state may change it: a job left behind by a run that gave up
    // (or died) is refused, not run beside the next run.
    // A lock that cannot be read throws here: the attempt fails and is retried.
    const lock = await checkRunLock(config.stateDir, job.runId);
    if (!lock.held) {
      context.logger.warn({ step: job.step.id, runId: job.runId, why: lock.why }, 'factory step refused: its run is over');
      const message = `step ${job.step.id} of run ${job.runId}: refused, the run no longer holds ${config.stateDir} (${lock.why})`;
      return { id: job.step.id, kind: job.step.kind, status: 'failed', error: { code: 'FACTORY_STEP_FAILED', message }, durationMs: 0 } satisfies StepOutcome as unknown as JsonValue;
    }
    const { ports, close } = await openPorts(config, job.kilnVersion);
    try {
      context.logger.info({ step: job.step.id, runId: job.runId }, 'factory step started');
      const outcome = await runFactoryStep(job.step, { config, runId: job.runId, kilnVersion: job.kilnVersion }, ports);
      return outcome as unknown as JsonValue;
    } finally {
      close();
    }
  };
}
