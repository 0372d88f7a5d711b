// The seam between the queue and the factory run: a port for "run the whole factory once", and the
// job handler that runs it for a `factory.run` job and records the run's metrics.
import type { Logger } from '../../lib/index.ts';
import type { JsonValue } from '../queue/port.ts';
import type { JobHandler } from '../queue/worker.ts';
import type { FactoryMetrics } from './metrics.ts';

/** The job kind of one scheduled factory run. */
export const FACTORY_RUN_KIND = 'factory.run';

/** Payload of a `factory.run` job. */
export interface FactoryRunRequest {
  /** Absolute path of the factory configuration. */
  config: string;
  /** The scheduled minute this run is for (ISO 8601, UTC): with the config it is the job's key. */
  scheduledAt: string;
  /** Run the steps as `factory.step` jobs on the runner's own queue, for `kiln factory worker`s
   *  (`kiln factory run --queue`); durations as the flags take them. */
  distributeSteps?: { stepLease?: string; claimTimeout?: string };
}

/** What a run reports back, stored as the job's result (JSON). */
export interface FactoryRunSummary {
  runId: string;
  /** Images that got a new digest and were published. */
  imagesPublished: number;
  /** Open CVEs across the catalog after the run, when the run scanned. */
  cvesOpen?: number;
  /** Recipes, packages and images that failed (the run went on without them). */
  failed: string[];
}

/** Port: runs the factory once for a configuration (implemented over the factory run service). */
export interface FactoryRunner {
  run(request: FactoryRunRequest, context: { signal: AbortSignal; logger: Logger }): Promise<FactoryRunSummary>;
}

/** The `factory.run` job handler: runs the factory and counts the run, its duration, the images it
 *  published and the CVEs left open. A run that throws counts as `error`, one with failures as
 *  `failure`; the job itself completes either way unless the runner threw (then it is retried). */
export function factoryRunHandler(runner: FactoryRunner, metrics: FactoryMetrics | undefined, now: () => number = Date.now): JobHandler {
  return async (payload, context) => {
    const request = payload as unknown as FactoryRunRequest;
    const started = now();
    try {
      const summary = await runner.run(request, { signal: context.signal, logger: context.logger });
      metrics?.runsTotal.inc({ result: summary.failed.length === 0 ? 'success' : 'failure' });
      metrics?.imagesPublished.inc(summary.imagesPublished);
      if (summary.cvesOpen !== undefined) metrics?.cvesOpen.set(summary.cvesOpen);
      return summary as unknown as JsonValue;
    } catch (error) {
      metrics?.runsTotal.inc({ result: 'error' });
      throw error;
    } finally {
      metrics?.runDuration.observe((now() - started) / 1000);
    }
  };
}
