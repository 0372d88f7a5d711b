// FactoryRunner over `kiln factory run --config FILE --json` in a child process: scheduled and queued
// runs use exactly the composition the command uses (builders, registry, scanner, history), and a run
// that crashes takes only its own process down, never the scheduler or the worker.
import { spawn } from 'node:child_process';
import { FactoryError } from '../errors.ts';
import type { FactoryRunner, FactoryRunSummary } from './factory-runner.ts';

/** How to start the CLI: `node [execArgv…] main.js` as this process was started. */
export interface KilnCommand {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** The part of `kiln factory run --json`'s report a run summary needs. */
interface RunReport {
  runId: string;
  published: unknown[];
  failed: string[];
}

const STDERR_TAIL = 4000;

/** The variable a distributed run's child reads its queue location from (`--queue env:…`). */
export const STEP_QUEUE_VARIABLE = 'KILN_FACTORY_STEP_QUEUE';

/** The variable that tells a distributed run's child how workers reach its queue (`--queue` as its
 *  operator gave it: `env:NAME`, a URL without password, or `URL`), for FACTORY_NO_WORKER's hint. */
export const WORKER_QUEUE_VARIABLE = 'KILN_FACTORY_WORKER_QUEUE';

/** Runs each factory run as `kiln factory run --config FILE --json`; a run that asks for its steps to
 *  be distributed gets `--queue` with `queue`, the queue this runner's process serves, and
 *  `workerQueueFlag`, how a worker is told to reach it. */
export function subprocessFactoryRunner(kiln: KilnCommand, options: { queue?: string; workerQueueFlag?: string } = {}): FactoryRunner {
  return {
    run: (request, { signal, logger }) =>
      new Promise<FactoryRunSummary>((resolve, reject) => {
        const args = [...kiln.args, 'factory', 'run', '--config', request.config, '--json'];
        if (request.distributeSteps) {
          if (!options.queue) {
            reject(new FactoryError('FACTORY_RUN_FAILED', `factory run of ${request.config}: its steps are to go to the queue, and this runner was given none`, { detail: { config: request.config } }));
            return;
          }
          const { stepLease, claimTimeout } = request.distributeSteps;
          // Through the environment: a PostgreSQL URL may carry a password, which `ps` would show.
          args.push('--queue', `env:${STEP_QUEUE_VARIABLE}`, ...(stepLease ? ['--step-lease', stepLease] : []), ...(claimTimeout ? ['--claim-timeout', claimTimeout] : []));
        }
        const env = {
          ...(kiln.env ?? process.env),
          ...(request.distributeSteps && options.queue ? { [STEP_QUEUE_VARIABLE]: options.queue, ...(options.workerQueueFlag ? { [WORKER_QUEUE_VARIABLE]: options.workerQueueFlag } : {}) } : {}),
        };
        const child = spawn(kiln.command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL)));
        const onAbort = () => child.kill('SIGTERM');
        signal.addEventListener('abort', onAbort, { once: true });
        logger.info({ pid: child.pid, config: request.config, scheduledAt: request.scheduledAt }, 'factory run started');
        child.once('error', (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(new FactoryError('FACTORY_RUN_FAILED', `factory run of ${request.config}: cannot start ${kiln.command}: ${error.message}`, { cause: error, detail: { config: request.config } }));
        });
        child.once('close', (code, killedBy) => {
          signal.removeEventListener('abort', onAbort);
          let report: RunReport | undefined;
          try {
            report = JSON.parse(stdout) as RunReport;
          } catch {
            report = undefined;
          }
          // Exit 1 with a report is a run that finished with failed items (FACTORY_RUN_FAILED).
          if (report && Array.isArray(report.failed) && (code === 0 || code === 1)) {
            resolve({ runId: report.runId, imagesPublished: report.published.length, failed: report.failed });
            return;
          }
          const why = killedBy ? `killed by ${killedBy}` : `exit ${String(code)}`;
          reject(new FactoryError('FACTORY_RUN_FAILED', `factory run of ${request.config} did not finish (${why}): ${stderr.trim().split('\n').slice(-5).join(' | ') || 'no output'}`, { detail: { config: request.config, code, signal: killedBy } }));
        });
      }),
  };
}
