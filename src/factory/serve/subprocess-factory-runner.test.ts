import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../lib/index.ts';
import { subprocessFactoryRunner } from './subprocess-factory-runner.ts';

// A stand-in for `kiln`: a real process that prints what `kiln factory run --json` prints.
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-subprocess-runner-'));
  script = join(dir, 'kiln.mjs');
  await writeFile(
    script,
    `const [,, factory, run, flag, config, json] = process.argv;
if (factory !== 'factory' || run !== 'run' || flag !== '--config' || json !== '--json') { console.error('bad args ' + process.argv.slice(2)); process.exit(2); }
if (config.endsWith('steps.yaml')) { console.log(JSON.stringify({ runId: 'r3', published: [], failed: [...process.argv.slice(7), 'env=' + (process.env.KILN_FACTORY_STEP_QUEUE ?? ''), 'worker=' + (process.env.KILN_FACTORY_WORKER_QUEUE ?? '')] })); process.exit(1); }
if (config.endsWith('ok.yaml')) { console.log(JSON.stringify({ runId: 'r1', published: [{}, {}], failed: [] })); process.exit(0); }
if (config.endsWith('partial.yaml')) { console.log(JSON.stringify({ runId: 'r2', published: [], failed: ['zlib'] })); console.error('kiln: factory run r2: 1 failed: zlib'); process.exit(1); }
if (config.endsWith('hang.yaml')) { setInterval(() => {}, 1000); }
else { console.error('kiln: factory.yaml: recipes: required'); process.exit(1); }
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const context = () => ({ signal: new AbortController().signal, logger: silentLogger });

it('summarizes a run from the report kiln factory run --json prints, also when items failed', async () => {
  const runner = subprocessFactoryRunner({ command: process.execPath, args: [script] });
  expect(await runner.run({ config: '/x/ok.yaml', scheduledAt: '2026-12-05T03:00:00.000Z' }, context())).toEqual({ runId: 'r1', imagesPublished: 2, failed: [] });
  expect(await runner.run({ config: '/x/partial.yaml', scheduledAt: '2026-12-05T03:00:00.000Z' }, context())).toEqual({ runId: 'r2', imagesPublished: 0, failed: ['zlib'] });
});

it('fails with FACTORY_RUN_FAILED quoting the command when there is no report, or when stopped', async () => {
  const runner = subprocessFactoryRunner({ command: process.execPath, args: [script] });
  await expect(runner.run({ config: '/x/bad.yaml', scheduledAt: 't' }, context())).rejects.toMatchObject({ code: 'FACTORY_RUN_FAILED', message: expect.stringContaining('did not finish (exit 1): kiln: factory.yaml: recipes: required') });
  const stop = new AbortController();
  const running = runner.run({ config: '/x/hang.yaml', scheduledAt: 't' }, { signal: stop.signal, logger: silentLogger });
  setTimeout(() => stop.abort(), 200);
  await expect(running).rejects.toMatchObject({ code: 'FACTORY_RUN_FAILED', message: expect.stringContaining('killed by SIGTERM') });
  await expect(subprocessFactoryRunner({ command: join(dir, 'missing'), args: [] }).run({ config: '/x/ok.yaml', scheduledAt: 't' }, context())).rejects.toMatchObject({ message: expect.stringContaining('cannot start') });
});

it('starts a run that distributes its steps with --queue on the runner\'s queue (through the environment, never argv) and the durations asked for; refuses one when the runner has no queue', async () => {
  const url = 'postgres://kiln:s3cret@db.internal:5432/kiln';
  const runner = subprocessFactoryRunner({ command: process.execPath, args: [script] }, { queue: url, workerQueueFlag: 'env:KILN_QUEUE' });
  // The stand-in reports the arguments after --json, then the variable, as the run's failed items.
  const distributed = await runner.run({ config: '/x/steps.yaml', scheduledAt: 't', distributeSteps: { stepLease: '2h', claimTimeout: '5m' } }, context());
  // How workers reach the queue goes along, for the run's FACTORY_NO_WORKER hint.
  expect(distributed.failed).toEqual(['--queue', 'env:KILN_FACTORY_STEP_QUEUE', '--step-lease', '2h', '--claim-timeout', '5m', `env=${url}`, 'worker=env:KILN_QUEUE']);
  expect(distributed.failed.slice(0, -2).join(' ')).not.toContain('s3cret');
  expect(await runner.run({ config: '/x/steps.yaml', scheduledAt: 't', distributeSteps: {} }, context())).toMatchObject({ failed: ['--queue', 'env:KILN_FACTORY_STEP_QUEUE', `env=${url}`, 'worker=env:KILN_QUEUE'] });
  expect(await runner.run({ config: '/x/steps.yaml', scheduledAt: 't' }, context())).toMatchObject({ failed: ['env=', 'worker='] });
  const noQueue = subprocessFactoryRunner({ command: process.execPath, args: [script] });
  await expect(noQueue.run({ config: '/x/steps.yaml', scheduledAt: 't', distributeSteps: {} }, context())).rejects.toMatchObject({ code: 'FACTORY_RUN_FAILED', message: expect.stringContaining('this runner was given none') });
});
