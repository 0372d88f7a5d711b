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
import { runFactoryStep } from './run.ts';
import type { FactoryPorts, StepExecutor, StepOutcome } from './run.ts';

export const FACTORY_STEP_KIND = 'factory.step';

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
}

/** Runs each step as a `factory.step` job on `queue` and waits for its outcome. A step job that fails
 *  for good (its attempts used up by workers that died) is the step's failure. */
export function queueStepExecutor(queue: JobQueue, options: QueueStepOptions = {}): StepExecutor {
  return {
    concurrency: options.concurrency ?? 16,
    async run(step, context) {
      const started = Date.now();
      const key = `${step.key}@${context.runId}`;
      const payload: FactoryStepJob = { config: context.config.file, runId: context.runId, kilnVersion: context.kilnVersion, step };
      const job = await queue.enqueue({ kind: FACTORY_STEP_KIND, key, payload: payload as unknown as JsonValue, leaseSeconds: options.leaseSeconds ?? 3600, maxAttempts: options.maxAttempts ?? 3, retryDelaySeconds: 0 });
      let record: Pick<JobRecord, 'state' | 'result' | 'attempts' | 'error'> | undefined = job.state === 'completed' ? { state: job.state, ...(job.result !== undefined ? { result: job.result } : {}), attempts: 1 } : undefined;
      while (!record || (record.state !== 'completed' && record.state !== 'failed')) {
        await delay(options.pollMs ?? 250);
        record = await queue.get(FACTORY_STEP_KIND, key);
      }
      const outcome = record.result as unknown as StepOutcome | undefined;
      // Keys are input hashes: a result for another step means two steps claimed one key.
      if (record.state === 'completed' && outcome?.id === step.id) return outcome;
      if (record.state === 'completed') return { id: step.id, kind: step.kind, status: 'failed', error: { code: 'FACTORY_STEP_FAILED', message: `step ${step.id}: job ${key} holds the result of ${outcome?.id ?? 'nothing'}` }, durationMs: Date.now() - started };
      const message = `step ${step.id}: job ${key} failed after ${record.attempts} attempt${record.attempts === 1 ? '' : 's'}: ${record.error ?? 'no error recorded'}`;
      return { id: step.id, kind: step.kind, status: 'failed', error: { code: 'FACTORY_STEP_FAILED', message }, durationMs: Date.now() - started };
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
