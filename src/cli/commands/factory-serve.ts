import { access } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { openJobQueue, parseCron, startFactoryService, subprocessFactoryRunner } from '../../factory/index.ts';
import type { FactoryRunner } from '../../factory/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { durationFlag, queueLocationFlag, queueNames } from './factory-options.ts';
import { commandLogger, selfCommand, untilStopped } from './factory-worker.ts';

/** Daily, at 03:00 UTC. */
export const DEFAULT_FACTORY_SCHEDULE = '0 3 * * *';
export const DEFAULT_FACTORY_LISTEN = '127.0.0.1:9470';

/** What serve runs factory runs with; without a runner they wait for `kiln factory worker`. */
export interface FactoryServeDeps {
  runner?: (context: CliContext, options: { queue: string; workerQueueFlag?: string }) => FactoryRunner | undefined;
}

/** Runs go through `kiln factory run --config FILE --json` in a child process (the same composition);
 *  with --distribute-steps, on `queue` too. */
export function defaultFactoryRunner(context: CliContext, options: { queue: string; workerQueueFlag?: string }): FactoryRunner | undefined {
  return subprocessFactoryRunner(selfCommand(context), options);
}

interface ServeFlags {
  config: string;
  schedule: string;
  listen: string;
  queue?: string;
  runNow?: boolean;
  enqueueOnly?: boolean;
  distributeSteps?: boolean;
  stepLease: string;
  claimTimeout: string;
  logLevel?: string;
  json?: boolean;
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65_535) throw new KilnError('USAGE', `--listen ${JSON.stringify(text)}: expected HOST:PORT (127.0.0.1:9470, [::1]:9470)`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `kiln factory serve`: the schedule, the status endpoint and the metrics, until SIGTERM/SIGINT. */
export function registerFactoryServe(factory: Command, context: CliContext, deps: FactoryServeDeps = {}): void {
  factory
    .command('serve')
    .description('run the factory on a schedule, with /status (JSON) and /metrics (Prometheus) over HTTP')
    .requiredOption('--config <FILE>', 'the factory configuration (factory.yaml)')
    .option('--schedule <CRON>', 'when to run: 5-field cron in UTC (ranges, steps, lists, names) or @daily, @hourly …', DEFAULT_FACTORY_SCHEDULE)
    .option('--listen <HOST:PORT>', 'address of /status and /metrics', DEFAULT_FACTORY_LISTEN)
    .option('--queue <LOCATION>', 'job queue: sqlite:PATH, postgres://…, or env:NAME to read it from that variable (default: sqlite:factory-queue.db beside the config)')
    .option('--run-now', 'also enqueue a run for the current minute at start')
    .option('--enqueue-only', 'only enqueue runs; kiln factory worker processes run them')
    .option('--distribute-steps', 'each run hands its steps to kiln factory worker processes on the queue (kiln factory run --queue)')
    .option('--step-lease <DURATION>', 'with --distribute-steps: a worker silent this long on a step is taken for dead and the step retried', '1h')
    .option('--claim-timeout <DURATION>', 'with --distribute-steps: a run whose waiting steps no worker takes for this long fails them (FACTORY_NO_WORKER)', '10m')
    .option('--log-level <LEVEL>', 'trace, debug, info, warn, error or silent', 'info')
    .option('--json', 'print {"url","nextRun"} as JSON once listening')
    .action(async (flags: ServeFlags) => {
      const schedule = parseCron(flags.schedule);
      const listen = parseListen(flags.listen);
      const config = isAbsolute(flags.config) ? flags.config : resolve(context.cwd, flags.config);
      await access(config);
      const logger = commandLogger(context, 'kiln-factory-serve', flags.logLevel ?? 'info');
      durationFlag('--step-lease', flags.stepLease, 1000);
      durationFlag('--claim-timeout', flags.claimTimeout, 1000);
      const queueFlag = flags.queue ?? `sqlite:${join(dirname(config), 'factory-queue.db')}`;
      const location = queueLocationFlag(queueFlag, context.cwd, context.env);
      const queue = await openJobQueue(location, { cwd: context.cwd, onError: (error) => logger.warn({ err: error }, 'queue background error') });
      const stopped = untilStopped(logger);
      try {
        const runner = flags.enqueueOnly ? undefined : (deps.runner ?? defaultFactoryRunner)(context, { queue: location, workerQueueFlag: queueNames(queueFlag, location, context.env).workerFlag });
        const distributeSteps = flags.distributeSteps ? { stepLease: flags.stepLease, claimTimeout: flags.claimTimeout } : undefined;
        const service = await startFactoryService({ queue, config, schedule, listen, registry: new Registry(), logger, ...(runner ? { runner } : {}), ...(distributeSteps ? { distributeSteps } : {}) });
        try {
          if (flags.runNow) await service.tick(new Date(Math.floor(Date.now() / 60_000) * 60_000));
          const { nextRun } = await service.status();
          if (flags.json) printJson(context, { url: service.url, nextRun });
          else context.stderr(`kiln factory serve listening on ${service.url} (next run ${nextRun ?? 'never'}; /status, /metrics)\n`);
          await new Promise<void>((done) => stopped.signal.addEventListener('abort', () => done(), { once: true }));
        } finally {
          await service.close();
        }
      } finally {
        stopped.dispose();
        await queue.close();
      }
    });
}
