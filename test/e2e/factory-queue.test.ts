// `kiln factory worker` and `kiln factory serve` as processes: a worker killed mid-job (SIGKILL) leaves
// the job to another, which completes it once with the identical result; two worker processes drain
// a queue with every job done exactly once (each on SQLite and on PostgreSQL); serve schedules, runs and
// reports. The processes run the real command modules with a handler injected that does real work (it
// writes a content-addressed file) and can be held mid-job; the factory's own `factory.run` handler
// (a child `kiln factory run`) is tested in src/factory/serve/subprocess-factory-runner.test.ts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFactoryServe } from '../../src/cli/commands/factory-serve.ts';
import { registerFactoryWorker } from '../../src/cli/commands/factory-worker.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { exitCodeFor, formatError } from '../../src/cli/exit-codes.ts';
import type { JobQueue } from '../../src/factory/index.ts';
import { openJobQueue } from '../../src/factory/index.ts';
import { startTestPostgres } from '../../src/metadata/postgres/testing.ts';
import type { TestPostgres } from '../../src/metadata/postgres/testing.ts';

const root = resolve(import.meta.dirname, '..', '..');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// The child process: the real `kiln factory worker|serve` command module, with a handler (and a
// runner) that do real work. The handler records each start, waits while DIR/hold exists, waits for
// BARRIER distinct processes to have started a job, then writes the text content-addressed.
const CHILD = `
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { registerFactoryServe } from '${root}/src/cli/commands/factory-serve.ts';
import { registerFactoryWorker } from '${root}/src/cli/commands/factory-worker.ts';
import { exitCodeFor, formatError } from '${root}/src/cli/exit-codes.ts';
const dir = process.env.KILN_TEST_DIR;
const barrier = Number(process.env.KILN_TEST_BARRIER ?? '1');
const writeBlob = async (payload, context) => {
  await appendFile(join(dir, 'starts.log'), context.key + ' ' + context.attempt + ' ' + process.pid + '\\n');
  while (existsSync(join(dir, 'hold'))) await sleep(20);
  for (let tries = 0; tries < 3000; tries++) {
    const pids = new Set((await readFile(join(dir, 'starts.log'), 'utf8')).trim().split('\\n').map((line) => line.split(' ')[2]));
    if (pids.size >= barrier) break;
    await sleep(20);
  }
  const digest = createHash('sha256').update(payload.text).digest('hex');
  await mkdir(join(dir, 'cas'), { recursive: true });
  const temporary = join(dir, 'cas', '.tmp-' + process.pid + '-' + digest);
  await writeFile(temporary, payload.text);
  await rename(temporary, join(dir, 'cas', 'sha256-' + digest));
  return { digest: 'sha256:' + digest, size: Buffer.byteLength(payload.text) };
};
const runner = {
  run: async (request) => {
    await appendFile(join(dir, 'runs.log'), request.scheduledAt + '\\n');
    return { runId: 'run-' + request.scheduledAt, imagesPublished: 1, cvesOpen: 3, failed: [] };
  },
};
const context = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), env: process.env, cwd: process.cwd(), isTTY: false };
const program = new Command('kiln').exitOverride();
const factory = program.command('factory');
registerFactoryWorker(factory, context, { handlers: () => ({ 'test.cas': writeBlob }) });
registerFactoryServe(factory, context, { runner: () => runner });
try {
  await program.parseAsync(JSON.parse(process.env.KILN_TEST_ARGS), { from: 'user' });
} catch (error) {
  process.stderr.write(formatError(error));
  process.exitCode = exitCodeFor(error);
}
`;

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startKiln(args: string[], dir: string, env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: root,
    env: { ...process.env, KILN_TEST_DIR: dir, KILN_TEST_ARGS: JSON.stringify(args), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return { process: child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function startLines(dir: string): Promise<string[]> {
  return existsSync(join(dir, 'starts.log')) ? (await readFile(join(dir, 'starts.log'), 'utf8')).trim().split('\n').filter(Boolean) : [];
}

let postgres: TestPostgres;
const work: string[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
});

afterAll(async () => {
  await postgres?.stop();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-factory-queue-'));
  work.push(dir);
  return dir;
}

const backends: Array<[string, (dir: string) => Promise<string>, (location: string) => Promise<void>]> = [
  ['sqlite', async (dir) => `sqlite:${join(dir, 'queue.db')}`, async () => undefined],
  ['postgres', async () => postgres.createDatabase(), async (url) => postgres.dropDatabase(url)],
];

describe.each(backends)('kiln factory worker on %s', (_name, location, drop) => {
  it('a worker killed mid-job leaves it to the next, which completes it once with the identical result', async () => {
    const dir = await scratch();
    const queueAt = await location(dir);
    const text = 'zlib 1.3.1-r1 built from Debian sources';
    const digest = sha256(text);
    const queue: JobQueue = await openJobQueue(queueAt, { cwd: dir });
    try {
      await queue.enqueue({ kind: 'test.cas', key: `sha256:${digest}`, payload: { text }, leaseSeconds: 1, retryDelaySeconds: 0 });
      await writeFile(join(dir, 'hold'), '');
      const first = startKiln(['factory', 'worker', '--queue', queueAt, '--poll-interval', '100ms', '--log-level', 'silent'], dir);
      await waitFor('the first worker to start the job', async () => ((await startLines(dir)).length === 1 ? true : undefined));
      first.process.kill('SIGKILL');
      expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await queue.get('test.cas', `sha256:${digest}`)).toMatchObject({ state: 'active', attempts: 1 });
      await rm(join(dir, 'hold'));
      const second = startKiln(['factory', 'worker', '--queue', queueAt, '--poll-interval', '100ms', '--until-empty', '--json', '--log-level', 'silent'], dir);
      const exited = await second.exit;
      expect({ ...exited, stderr: second.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(JSON.parse(second.stdout())).toEqual({ completed: 1, retried: 0, failed: 0, lost: 0 });
      const lines = await startLines(dir);
      expect(lines.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([`sha256:${digest} 1`, `sha256:${digest} 2`]);
      expect(new Set(lines.map((line) => line.split(' ')[2])).size).toBe(2);
      expect(await queue.get('test.cas', `sha256:${digest}`)).toMatchObject({ state: 'completed', attempts: 2, result: { digest: `sha256:${digest}`, size: Buffer.byteLength(text) } });
      // Exactly one object, the right bytes, no temporary left by the killed worker.
      expect(await readdir(join(dir, 'cas'))).toEqual([`sha256-${digest}`]);
      expect(await readFile(join(dir, 'cas', `sha256-${digest}`), 'utf8')).toBe(text);
      // And enqueueing the same work again returns that result without running anything.
      expect(await queue.enqueue({ kind: 'test.cas', key: `sha256:${digest}`, payload: { text } })).toMatchObject({ created: false, state: 'completed', result: { digest: `sha256:${digest}` } });
    } finally {
      await queue.close();
      await drop(queueAt);
    }
  });
});

describe.each(backends)('kiln factory workers on %s, two processes at once', (_name, location, drop) => {
  it('drains a queue of N jobs with each job done exactly once, both workers taking part', async () => {
    const dir = await scratch();
    const url = await location(dir);
    const queue = await openJobQueue(url, { cwd: dir });
    const texts = Array.from({ length: 24 }, (_, index) => `package ${index}`);
    try {
      for (const text of texts) expect((await queue.enqueue({ kind: 'test.cas', key: `sha256:${sha256(text)}`, payload: { text } })).created).toBe(true);
      const args = ['factory', 'worker', '--queue', url, '--concurrency', '2', '--poll-interval', '100ms', '--until-empty', '--json', '--log-level', 'silent'];
      const workers = [startKiln(args, dir, { KILN_TEST_BARRIER: '2' }), startKiln(args, dir, { KILN_TEST_BARRIER: '2' })];
      const exits = await Promise.all(workers.map((worker) => worker.exit));
      expect(exits.map((exit, index) => ({ ...exit, stderr: workers[index]!.stderr() }))).toEqual([
        { code: 0, signal: null, stderr: '' },
        { code: 0, signal: null, stderr: '' },
      ]);
      const summaries = workers.map((worker) => JSON.parse(worker.stdout()) as { completed: number; retried: number; failed: number; lost: number });
      expect(summaries.reduce((sum, summary) => sum + summary.completed, 0)).toBe(texts.length);
      expect(summaries.every((summary) => summary.completed >= 1 && summary.retried + summary.failed + summary.lost === 0)).toBe(true);
      const keys = (await startLines(dir)).map((line) => line.split(' ')[0]);
      expect(keys.slice().sort()).toEqual(texts.map((text) => `sha256:${sha256(text)}`).sort());
      expect(await queue.counts('test.cas')).toEqual({ queued: 0, active: 0, completed: texts.length, failed: 0 });
      expect((await readdir(join(dir, 'cas'))).sort()).toEqual(texts.map((text) => `sha256-${sha256(text)}`).sort());
    } finally {
      await queue.close();
      await drop(url);
    }
  });
});

describe('kiln factory serve', () => {
  it('enqueues and runs the factory, serves /status and /metrics, and stops on SIGTERM', async () => {
    const dir = await scratch();
    const config = join(dir, 'factory.yaml');
    await writeFile(config, 'recipes: os/packages\n');
    const serve = startKiln(['factory', 'serve', '--config', config, '--schedule', '@daily', '--listen', '127.0.0.1:0', '--run-now', '--json', '--log-level', 'silent'], dir);
    const { url, nextRun } = await waitFor('serve to listen', async () => (serve.stdout().includes('\n') ? (JSON.parse(serve.stdout()) as { url: string; nextRun: string }) : undefined));
    expect(nextRun).toMatch(/T00:00:00\.000Z$/);
    const status = await waitFor('the run to complete', async () => {
      const body = (await (await fetch(`${url}/status`)).json()) as { lastRun: { job: { state: string; result: unknown } | null } | null; queue: unknown; schedule: string };
      return body.lastRun?.job?.state === 'completed' ? body : undefined;
    });
    expect(status).toMatchObject({ schedule: '@daily', queue: { queued: 0, active: 0, completed: 1, failed: 0 }, lastRun: { job: { result: { imagesPublished: 1, cvesOpen: 3, failed: [] } } } });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('kiln_factory_runs_total{result="success"} 1');
    expect(metrics).toContain('kiln_factory_images_published_total 1');
    expect(metrics).toContain('kiln_factory_queue_jobs{state="completed"} 1');
    serve.process.kill('SIGTERM');
    expect({ ...(await serve.exit), stderr: serve.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    expect((await readFile(join(dir, 'runs.log'), 'utf8')).trim().split('\n').length).toBe(1);
    expect(existsSync(join(dir, 'factory-queue.db'))).toBe(true);
  });
});

// Bad input, in-process: the same command modules, the CLI's own error formatting and exit codes.
async function runCommand(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const context: CliContext = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: {}, cwd, isTTY: false };
  const program = new Command('kiln').exitOverride().configureOutput({ writeOut: context.stdout, writeErr: context.stderr });
  const factory = program.command('factory').exitOverride().configureOutput({ writeOut: context.stdout, writeErr: context.stderr });
  registerFactoryWorker(factory, context, { handlers: () => ({ 'test.cas': async () => null }) });
  registerFactoryServe(factory, context);
  factory.commands.forEach((command) => command.exitOverride().configureOutput({ writeOut: context.stdout, writeErr: context.stderr }));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('commander.')) return { code: 2, stdout, stderr };
    return { code: exitCodeFor(error), stdout, stderr: stderr + formatError(error) };
  }
}

describe('kiln factory worker|serve: bad input', () => {
  it.each([
    [['factory', 'worker', '--queue', 'mysql://db/kiln'], 1, /^kiln: queue "mysql:\/\/db\/kiln": expected sqlite:PATH or postgres:\/\//],
    [['factory', 'worker', '--queue', 'sqlite:q.db', '--concurrency', '0'], 2, /^kiln: --concurrency "0": expected a whole number/],
    [['factory', 'worker', '--queue', 'sqlite:q.db', '--poll-interval', 'soon'], 2, /^kiln: --poll-interval "soon": expected a whole number of seconds or a duration/],
    [['factory', 'serve', '--config', 'factory.yaml', '--schedule', '0 3 * * mon-funday'], 1, /^kiln: schedule "0 3 \* \* mon-funday": day of week: "funday" is not a number or a name/],
    [['factory', 'serve', '--config', 'factory.yaml', '--listen', 'localhost'], 2, /^kiln: --listen "localhost": expected HOST:PORT/],
    [['factory', 'serve', '--config', 'missing.yaml', '--listen', '127.0.0.1:0'], 1, /^kiln: .*missing\.yaml: no such file or directory/],
  ])('kiln %j exits %i naming what is wrong', async (args, code, message) => {
    const dir = await scratch();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'factory.yaml'), 'recipes: os/packages\n');
    const run = await runCommand(args, dir);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code, stdout: '' });
    expect(run.stderr).toMatch(message);
    expect(await readdir(dir)).toEqual(['factory.yaml']);
  });
});
