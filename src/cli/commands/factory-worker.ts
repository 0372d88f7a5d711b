import type { Command } from 'commander';
import pino from 'pino';
import { FACTORY_RUN_KIND, FACTORY_STEP_KIND, FactoryQueueError, factoryRunHandler, factoryStepHandler, openJobQueue, runWorker, subprocessFactoryRunner } from '../../factory/index.ts';
import type { JobHandlers, KilnCommand, WorkerJobEvent, WorkerSummary } from '../../factory/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { durationFlag, queueLocationFlag, queueNames } from './factory-options.ts';

/** What the worker and serve commands run jobs with; tests and other compositions pass their own. */
export interface FactoryCommandDeps {
  /** Handlers by job kind for this process. */
  handlers?: (context: CliContext, options: { queue?: string; workerQueueFlag?: string }) => JobHandlers;
}

/** This kiln as a command (`node [--import tsx] main`), as the process was started. */
export function selfCommand(context: CliContext): KilnCommand {
  return { command: process.execPath, args: [...process.execArgv, process.argv[1] ?? 'kiln'], env: context.env };
}

/** The factory's own job handlers: `factory.run` runs `kiln factory run --config FILE --json` in a
 *  child process (with `--queue QUEUE` when the run distributes its steps); `factory.step` runs one
 *  step of a run started with `--queue`, with the ports `kiln factory run` composes (update detection
 *  off: a step never looks for updates). */
export function defaultFactoryHandlers(context: CliContext, options: { queue?: string; workerQueueFlag?: string } = {}): JobHandlers {
  return {
    [FACTORY_RUN_KIND]: factoryRunHandler(subprocessFactoryRunner(selfCommand(context), options), undefined),
    [FACTORY_STEP_KIND]: factoryStepHandler(async (config, kilnVersion) => {
      const { createFactoryPorts } = await import('./factory-run.ts');
      return createFactoryPorts(config, context, { kilnVersion, updates: false });
    }),
  };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

/** A pino logger on the command's stderr (JSON lines), named for the service. */
export function commandLogger(context: CliContext, service: string, level: string): Logger {
  if (!LEVELS.includes(level)) throw new KilnError('USAGE', `--log-level ${JSON.stringify(level)}: expected one of ${LEVELS.join(', ')}`);
  return pino({ level, base: { service } }, { write: (line: string) => context.stderr(line) });
}

/** Resolves once SIGTERM or SIGINT arrives (or `signal` aborts), then stops listening for them. */
export function untilStopped(logger: Logger): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (name: string) => {
    logger.info({ signal: name }, 'shutting down');
    controller.abort();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    },
  };
}

interface WorkerFlags {
  queue: string;
  concurrency: string;
  untilEmpty?: boolean;
  pollInterval: string;
  logLevel?: string;
  json?: boolean;
}

function positiveInteger(flag: string, text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) throw new KilnError('USAGE', `${flag} ${JSON.stringify(text)}: expected a whole number from 1 to 9999`);
  return Number(text);
}

/** `kiln factory worker`: runs queued factory jobs until SIGTERM/SIGINT (or, with --until-empty, until none is left). */
export function registerFactoryWorker(factory: Command, context: CliContext, deps: FactoryCommandDeps = {}): void {
  factory
    .command('worker')
    .description('run factory jobs from the queue (several workers may share one queue; see docs/factory-queue.md)')
    .requiredOption('--queue <LOCATION>', 'the job queue: sqlite:PATH (one machine), postgres://USER@HOST:PORT/DATABASE (pg-boss), or env:NAME to read it from that variable')
    .option('--concurrency <N>', 'jobs run at once', '1')
    .option('--until-empty', 'exit once no job of the kinds this worker runs is queued or running')
    .option('--poll-interval <DURATION>', 'wait between claims while the queue is empty', '1s')
    .option('--log-level <LEVEL>', 'trace, debug, info, warn, error or silent (default: info, warn on a terminal)')
    .option('--json', 'print what the worker did as JSON when it exits')
    .action(async (flags: WorkerFlags) => {
      const concurrency = positiveInteger('--concurrency', flags.concurrency);
      const pollIntervalMs = durationFlag('--poll-interval', flags.pollInterval, 0);
      const logger = commandLogger(context, 'kiln-factory-worker', flags.logLevel ?? (context.isTTY ? 'warn' : 'info'));
      const location = queueLocationFlag(flags.queue, context.cwd, context.env);
      const handlers = (deps.handlers ?? defaultFactoryHandlers)(context, { queue: location, workerQueueFlag: queueNames(flags.queue, location, context.env).workerFlag });
      if (Object.keys(handlers).length === 0) {
        throw new FactoryQueueError('QUEUE_NO_HANDLER', 'factory worker: this kiln has no factory job handlers wired to the queue yet (see docs/factory-queue.md, "What runs jobs")');
      }
      const queue = await openJobQueue(location, { cwd: context.cwd, onError: (error) => logger.warn({ err: error }, 'queue background error') });
      const stopped = untilStopped(logger);
      let summary: WorkerSummary;
      try {
        const onJob = (event: WorkerJobEvent) => {
          if (context.isTTY) context.stderr(`${event.kind} ${event.key}: ${event.outcome}${event.error ? ` (${event.error})` : ''} in ${(event.durationMs / 1000).toFixed(1)} s\n`);
        };
        summary = await runWorker(queue, handlers, { concurrency, pollIntervalMs, logger, signal: stopped.signal, onJob, ...(flags.untilEmpty ? { untilEmpty: true } : {}) });
      } finally {
        stopped.dispose();
        await queue.close();
      }
      if (flags.json) printJson(context, summary);
      else context.stderr(`kiln factory worker: ${summary.completed} completed, ${summary.retried} to retry, ${summary.failed} failed, ${summary.lost} lost\n`);
    });
}
