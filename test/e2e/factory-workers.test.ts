// A factory run whose steps are queue jobs on PostgreSQL (pg-boss), run by two `kiln factory worker`
// processes, against the same run in one process: every image gets the same digest. Then a Debian
// update of zlib, with the worker that took zlib's build killed (SIGKILL) in the middle: the other
// worker builds it once the lease runs out, and the images come out with the same digests as the
// one-process run. Last, a run with no worker on its queue, and one scheduled by `kiln factory serve
// --distribute-steps`. Both factories start from the cached Kiln OS (test/e2e/kiln-os.test.ts builds it).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactoryRunReport, JobQueue } from '../../src/factory/index.ts';
import { openJobQueue } from '../../src/factory/index.ts';
import { startTestPostgres } from '../../src/metadata/postgres/testing.ts';
import type { TestPostgres } from '../../src/metadata/postgres/testing.ts';
import { makeZlibUpdateArchive, ZLIB_BUMP } from '../fixtures/factory/debian-repo.ts';
import { runKiln } from './cli-support.ts';
import { KILN_OS_BUILD_TIMEOUT, prepareFactoryWorkspace } from './kiln-os-support.ts';
import { root, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

const env = { ...process.env, COSIGN_PASSWORD: 'factory-test', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
const WITH_ZLIB = ['curl', 'curl-dev', 'nginx', 'nginx-dev'];

interface Worker {
  process: ChildProcess;
  log: () => string;
  exit: Promise<unknown>;
}

let postgres: TestPostgres;
let queueUrl: string;
let registry: ServerProcess;
let one: string;
let many: string;
const workers: Worker[] = [];

function startWorker(): Worker {
  // From the project's root, where `--import tsx` resolves; the steps carry absolute paths.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'factory', 'worker', '--queue', queueUrl, '--poll-interval', '200ms', '--log-level', 'info'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  const worker = { process: child, log: () => log, exit: new Promise((done) => child.once('exit', done)) };
  workers.push(worker);
  return worker;
}

/** The steps a worker started, from its log (JSON lines). */
function stepsStarted(worker: Worker): string[] {
  return worker
    .log()
    .split('\n')
    .flatMap((line) => {
      if (!line.includes('factory step started')) return [];
      return [(JSON.parse(line) as { step: string }).step];
    });
}

async function writeConfig(work: string, namespace: string, updates: string): Promise<void> {
  await writeFile(join(work, 'factory.yaml'), ['os-dir: os', 'out-dir: out', 'state-dir: state', 'signing-key: kiln-os.rsa', 'debian-source-cache: debian-sources', `registry: ${registry.host}/${namespace}`, 'cosign-key: cosign.key', 'vuln-db: vuln/vuln.sqlite', updates].join('\n'));
}

async function factory(work: string, args: string[] = [], code = 0): Promise<FactoryRunReport> {
  const result = await runKiln(['factory', 'run', '--config', join(work, 'factory.yaml'), '--json', ...args], { cwd: work, env });
  expect(result.code, result.stderr).toBe(code);
  return JSON.parse(result.stdout) as FactoryRunReport;
}

const digests = (report: FactoryRunReport) => Object.fromEntries(report.published.map((entry) => [entry.image, entry.digest]));

beforeAll(async () => {
  postgres = await startTestPostgres();
  queueUrl = await postgres.createDatabase();
  one = await mkdtemp(join(tmpdir(), 'kiln-factory-one-'));
  many = await mkdtemp(join(tmpdir(), 'kiln-factory-many-'));
  await prepareFactoryWorkspace(one, env);
  await prepareFactoryWorkspace(many, env);
  registry = await startKiln(join(one, 'registry'));
  await writeConfig(one, 'one', 'updates:\n  debian:\n    apt: false\n');
  await writeConfig(many, 'many', 'updates:\n  debian:\n    apt: false\n');
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  for (const worker of workers) worker.process.kill('SIGTERM');
  await Promise.all(workers.map((worker) => worker.exit));
  await registry?.stop();
  await postgres?.stop();
  if (!process.env.KILN_KEEP_TEST_DIRS) for (const dir of [one, many]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kiln factory run --queue with two kiln factory worker processes on PostgreSQL', () => {
  let oneFirst: FactoryRunReport;
  let manyFirst: FactoryRunReport;

  it('publishes the catalog with the same digests as a run in one process, both workers taking steps', async () => {
    oneFirst = await factory(one);
    const [a, b] = [startWorker(), startWorker()];
    manyFirst = await factory(many, ['--queue', queueUrl]);
    expect(manyFirst.failed).toEqual([]);
    expect(manyFirst.published).toHaveLength(11);
    expect(digests(manyFirst)).toEqual(digests(oneFirst));
    expect(manyFirst.published.every((entry) => entry.repository.endsWith(`/many/${entry.image.replace(/-dev$/, '')}`))).toBe(true);
    // Every image step ran once, on one worker or the other, and both took part.
    const started = [...stepsStarted(a), ...stepsStarted(b)].sort();
    expect(started).toEqual(manyFirst.steps.map((step) => step.id).sort());
    expect(stepsStarted(a).length).toBeGreaterThan(0);
    expect(stepsStarted(b).length).toBeGreaterThan(0);
  }, 15 * 60_000);

  it('loses nothing when the worker building zlib is killed mid-step: the other builds it after the lease, with the same digests as one process', async () => {
    for (const work of [one, many]) {
      const archive = await makeZlibUpdateArchive(join(work, 'debian-sources'), join(work, 'deb-archive'));
      await writeConfig(work, work === one ? 'one' : 'many', `updates:\n  debian:\n    repositories:\n      - url: ${archive}\n        suites: [bookworm, bookworm-updates, bookworm-security]\n`);
    }
    // The fixture archive also lists a jq update whose files are missing: reported, the run exits 1.
    const oneSecond = await factory(one, [], 1);
    expect(oneSecond.failed).toEqual(['update:jq']);
    expect(oneSecond.updates.find((outcome) => outcome.recipe === 'zlib')).toMatchObject({ status: 'update', update: { to: ZLIB_BUMP } });

    const running = factory(many, ['--queue', queueUrl, '--step-lease', '40s'], 1);
    // Whichever worker takes zlib's build is killed as soon as it starts it.
    const live = workers.filter((worker) => worker.process.exitCode === null && worker.process.signalCode === null);
    let victim: Worker | undefined;
    for (let waited = 0; !victim && waited < 300_000; waited += 100) {
      victim = live.find((worker) => stepsStarted(worker).includes('package:zlib'));
      if (!victim) await new Promise((done) => setTimeout(done, 100));
    }
    expect(victim, 'a worker started package:zlib').toBeDefined();
    victim!.process.kill('SIGKILL');
    await victim!.exit;
    const survivor = live.find((worker) => worker !== victim)!;

    const manySecond = await running;
    expect(manySecond.failed).toEqual(['update:jq']);
    expect(manySecond.steps.map((step) => [step.id, step.status])).toEqual(oneSecond.steps.map((step) => [step.id, step.status]));
    expect(manySecond.steps.map((step) => step.id)).toEqual(['update:zlib', 'package:zlib', ...WITH_ZLIB.map((image) => `image:${image}`)]);
    expect(digests(manySecond)).toEqual(digests(oneSecond));
    expect(stepsStarted(survivor)).toContain('package:zlib');
    // The queue shows zlib's build took a second attempt, after the first worker's lease ran out.
    const queue = await openJobQueue(queueUrl, { cwd: many });
    try {
      const step = manySecond.plan.steps.find((candidate) => candidate.id === 'package:zlib')!;
      expect(await queue.get('factory.step', `${step.key}@${manySecond.runId}`)).toMatchObject({ state: 'completed', attempts: 2 });
    } finally {
      await queue.close();
    }
  }, 15 * 60_000);

  it('fails the steps of a --queue run that no worker serves with FACTORY_NO_WORKER; under kiln factory serve --distribute-steps one worker takes the run and another its steps', async () => {
    await writeConfig(many, 'many', 'updates:\n  debian:\n    apt: false\n');
    const file = join(many, 'os', 'images', 'static.yaml');
    await writeFile(file, `${await readFile(file, 'utf8')}  dev.kiln.factory-test: "distributed"\n`);
    // A queue no worker reads: the waiting step fails once the claim timeout passes.
    const lonely = await factory(many, ['--queue', `sqlite:${join(many, 'lonely.db')}`, '--claim-timeout', '2s'], 1);
    expect(lonely.steps.map((step) => [step.id, step.status, step.error?.code])).toEqual([['image:static', 'failed', 'FACTORY_NO_WORKER']]);
    expect(lonely.steps[0]!.error!.message).toContain(`kiln factory worker --queue sqlite:${join(many, 'lonely.db')}`);
    const withdrawn = await openJobQueue(`sqlite:${join(many, 'lonely.db')}`, { cwd: many });
    try {
      expect((await withdrawn.list({ state: 'failed', kind: 'factory.step' })).map((job) => job.attempts)).toEqual([0]);
    } finally {
      await withdrawn.close();
    }

    // A run stopped by SIGTERM while its step waits (the queue named through the environment):
    // it releases the state, and a worker that comes later refuses the step it left queued.
    const stoppedQueue = `sqlite:${join(many, 'stopped.db')}`;
    const stopped = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'factory', 'run', '--config', join(many, 'factory.yaml'), '--queue', 'env:STOPPED_QUEUE', '--json'], { cwd: root, env: { ...env, STOPPED_QUEUE: stoppedQueue }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stoppedErr = '';
    stopped.stderr!.on('data', (chunk: Buffer) => void (stoppedErr += chunk.toString()));
    const stoppedExit = new Promise<number | null>((done) => stopped.once('exit', (code) => done(code)));
    const waiting = await (async () => {
      for (let waited = 0; waited < 120_000; waited += 200) {
        const queue = await openJobQueue(stoppedQueue, { cwd: many }).catch(() => undefined);
        const jobs = queue ? await queue.list({ state: 'queued', kind: 'factory.step' }) : [];
        await queue?.close();
        if (jobs.length > 0) return jobs;
        await new Promise((done) => setTimeout(done, 200));
      }
      return [];
    })();
    expect(waiting.map((job) => job.key)).toEqual([expect.stringMatching(/@\d{8}T\d{6}Z-[0-9a-f]{4}$/)]);
    stopped.kill('SIGTERM');
    expect(await stoppedExit).toBe(143);
    expect(stoppedErr).toContain(`stopped by SIGTERM; ${join(many, 'state')} is released`);
    await expect(readFile(join(many, 'state', 'run.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
    const late = await runKiln(['factory', 'worker', '--queue', stoppedQueue, '--until-empty', '--poll-interval', '100ms', '--json'], { cwd: many, env });
    expect(late.code, late.stderr).toBe(0);
    const lateQueue = await openJobQueue(stoppedQueue, { cwd: many });
    try {
      const [refused] = await lateQueue.list({ state: 'completed', kind: 'factory.step' });
      expect(refused?.result).toMatchObject({ id: 'image:static', status: 'failed', error: { message: expect.stringContaining('refused, the run no longer holds') } });
    } finally {
      await lateQueue.close();
    }

    // serve only schedules; of the two workers one runs `kiln factory run --queue`, the other its step.
    const worker = startWorker();
    const live = workers.filter((candidate) => candidate.process.exitCode === null && candidate.process.signalCode === null);
    expect(live).toHaveLength(2);
    const serve = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'factory', 'serve', '--config', join(many, 'factory.yaml'), '--queue', queueUrl, '--enqueue-only', '--distribute-steps', '--claim-timeout', '2m', '--run-now', '--listen', '127.0.0.1:0', '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const served = new Promise((done) => serve.once('exit', done));
    const queue = await openJobQueue(queueUrl, { cwd: many });
    try {
      let run: Awaited<ReturnType<JobQueue['list']>>[number] | undefined;
      for (let waited = 0; !run && waited < 600_000; waited += 250) {
        run = (await queue.list({ state: 'completed', kind: 'factory.run' }))[0] ?? (await queue.list({ state: 'failed', kind: 'factory.run' }))[0];
        if (!run) await new Promise((done) => setTimeout(done, 250));
      }
      expect(run).toMatchObject({ state: 'completed', result: { imagesPublished: 1, failed: [] } });
      const runner = live.find((candidate) => candidate.log().includes('factory run started'));
      const stepper = live.find((candidate) => stepsStarted(candidate).includes('image:static') && candidate.log().split('\n').some((line) => line.includes('factory step started') && line.includes((run!.result as { runId: string }).runId)));
      expect(runner, 'a worker took the factory.run job').toBeDefined();
      expect(stepper, 'a worker took the image:static step of that run').toBeDefined();
      expect(stepper).not.toBe(runner);
      expect(worker === runner || worker === stepper).toBe(true);
    } finally {
      await queue.close();
      serve.kill('SIGTERM');
      await served;
    }
  }, 15 * 60_000);
});
