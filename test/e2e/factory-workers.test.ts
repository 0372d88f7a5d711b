// A factory run whose steps are queue jobs on PostgreSQL (pg-boss), run by two `kiln factory worker`
// processes, against the same run in one process: every image gets the same digest. Both factories
// start from the cached Kiln OS (test/e2e/kiln-os.test.ts builds it).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactoryRunReport } from '../../src/factory/index.ts';
import { startTestPostgres } from '../../src/metadata/postgres/testing.ts';
import type { TestPostgres } from '../../src/metadata/postgres/testing.ts';
import { runKiln } from './cli-support.ts';
import { KILN_OS_BUILD_TIMEOUT, prepareFactoryWorkspace } from './kiln-os-support.ts';
import { root, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

const env = { ...process.env, COSIGN_PASSWORD: 'factory-test', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

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

async function factory(work: string, args: string[] = []): Promise<FactoryRunReport> {
  const result = await runKiln(['factory', 'run', '--config', join(work, 'factory.yaml'), '--json', ...args], { cwd: work, env });
  expect(result.code, result.stderr).toBe(0);
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
});
