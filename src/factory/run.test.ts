import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildImageResult } from '../image/index.ts';
import { parseFactoryConfig } from './config.ts';
import type { FactoryConfig } from './config.ts';
import { FactoryError } from './errors.ts';
import type { FactoryPlan, FactoryStep } from './format/run-plan.ts';
import { openImageHistory } from './history-store.ts';
import type { ImageHistoryStore } from './history-store.ts';
import type { AttestScanRequest, ImagePublisher, PublishRequest } from './publish-image.ts';
import { openJobQueue } from './queue/open-job-queue.ts';
import { FactoryQueueError } from './queue/errors.ts';
import type { JobQueue, JsonValue } from './queue/port.ts';
import { runWorker } from './queue/worker.ts';
import { acquireRunLock, assertRunLockHeld } from './run-lock.ts';
import { applyPlan, checkPublisherReady, runFactoryStep } from './run.ts';
import type { FactoryPorts, LockedPackage, StepExecutor } from './run.ts';
import { factoryStepHandler, FACTORY_STEP_KIND, queueStepExecutor } from './step-jobs.ts';
import { fileStateStore } from './state-store.ts';

// applyPlan and runFactoryStep over fake builders, scanner and publisher: what fails stops only what
// waits for it, and the history records why with the package and CVE diffs.

let dir: string;
let config: FactoryConfig;
let history: ImageHistoryStore;
let published: PublishRequest[];
let contents: Record<string, LockedPackage[]>;
let open: Record<string, string[]>;
let failBuild: Set<string>;

const built = (digest: string) => ({ index: { index: { digest } } }) as unknown as BuildImageResult;
const pkg = (name: string, version: string): LockedPackage => ({ name, version, identity: `Q1${name}${version}`, origin: name });
const digestOf = (image: string) => `sha256:${image}-${contents[image]!.map((entry) => entry.version).join('-')}`;

function ports(): FactoryPorts {
  const publisher: ImagePublisher = {
    publish: (request) => {
      published.push(request);
      return Promise.resolve({ digest: request.result.index.index.digest, repository: `127.0.0.1:5000/${request.tags.repository}`, tags: [...request.tags.moving, request.tags.dated], signatures: 1, attestations: 3 });
    },
  };
  return {
    state: fileStateStore(join(dir, 'state')),
    history,
    packages: {
      build: (request) => (failBuild.has(request.recipe) ? Promise.reject(new Error(`${request.recipe}: make failed`)) : Promise.resolve({ fullVersion: '1.2.13-r1', packages: [`${request.recipe}-1.2.13-r1`] })),
    },
    images: {
      lock: (request) => Promise.resolve(contents[request.image]!),
      build: (request) => Promise.resolve({ result: built(digestOf(request.image)), installed: contents[request.image]!, listed: contents[request.image]!.map((entry) => entry.name), configBytes: Buffer.from('config') }),
    },
    publisher,
    scanner: { scan: (request) => Promise.resolve({ ids: open[request.image] ?? [], open: { critical: 0, high: (open[request.image] ?? []).length, medium: 0, low: 0, unknown: 0 }, vuln: {}, openvex: {} }) },
    now: () => new Date('2026-12-04T10:00:00Z'),
  };
}

const imageStep = (image: string, dependsOn: string[], triggers: Extract<FactoryStep, { kind: 'image' }>['triggers'], updates: Extract<FactoryStep, { kind: 'image' }>['updates'] = []): FactoryStep => ({ kind: 'image', id: `image:${image}`, key: `k-image-${image}`, dependsOn, image, file: join(dir, `${image}.yaml`), configSha256: `config-${image}`, publish: true, date: '20261204', triggers, updates });
const packageStep = (recipe: string): FactoryStep => ({ kind: 'build-package', id: `package:${recipe}`, key: `k-${recipe}`, dependsOn: [], recipe, file: join(dir, `${recipe}.yaml`), textSha256: 'ignored', fullVersion: '1.2.13-r1', reasons: [{ kind: 'recipe-changed' }] });
const plan = (steps: FactoryStep[]): FactoryPlan => ({ runId: 'run-1', date: '20261204', indexSha256: '', baseline: [], steps });

const FACTORY_YAML = 'os-dir: os\nout-dir: out\nstate-dir: state\nsigning-key: k\nregistry: 127.0.0.1:5000/kiln\n';

/** The real queue with one method replaced: a queue in trouble, everything else as it is. */
function replacing<K extends keyof JobQueue>(real: JobQueue, name: K, method: JobQueue[K]): JobQueue {
  return new Proxy(real, { get: (target, key) => (key === name ? method : (Reflect.get(target, key, target) as (...args: unknown[]) => unknown).bind(target)) });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-factory-run-'));
  // On disk too: a worker's step handler loads the configuration from its file.
  await writeFile(join(dir, 'factory.yaml'), FACTORY_YAML);
  config = parseFactoryConfig(FACTORY_YAML, join(dir, 'factory.yaml'));
  history = openImageHistory(join(dir, 'state', 'history.db'));
  published = [];
  failBuild = new Set();
  open = { curl: ['CVE-2023-45853', 'CVE-2024-0001'] };
  contents = { curl: [pkg('curl', '7.88.1-r0'), pkg('zlib', '1.2.13-r0')], jq: [pkg('jq', '1.6-r0')] };
  for (const name of ['zlib', 'jq']) await writeFile(join(dir, `${name}.yaml`), `package: {name: ${name}}\n`);
});
afterEach(async () => {
  history.close();
  await rm(dir, { recursive: true, force: true });
});

describe('applyPlan', () => {
  it('publishes, records why with package and CVE diffs, and does nothing the second time', async () => {
    const context = { config, runId: 'run-1', kilnVersion: 'test' };
    const first = await applyPlan(plan([imageStep('curl', [], ['first-build']), imageStep('jq', [], ['first-build'])]), context, ports());
    expect(first.map((step) => step.status)).toEqual(['published', 'published']);
    expect(published.map((request) => [request.image, request.tags.moving])).toEqual([['curl', ['latest', '7.88.1', '7.88.1-r0']], ['jq', ['latest', '1.6', '1.6-r0']]]);

    // zlib moves to 1.2.13-r1, which fixes one of the two CVEs.
    contents.curl = [pkg('curl', '7.88.1-r0'), pkg('zlib', '1.2.13-r1')];
    open.curl = ['CVE-2024-0001'];
    const second = await applyPlan(plan([packageStep('zlib'), imageStep('curl', ['package:zlib'], ['packages'], [{ recipe: 'zlib', from: 'a', to: 'b', fromApk: '1.2.13-r0', toApk: '1.2.13-r1', cves: ['CVE-2023-45853'] }])]), { ...context, runId: 'run-2' }, ports());
    expect(second.map((step) => step.status)).toEqual(['built', 'published']);
    const entries = await history.history('kiln/curl');
    expect(entries.map((entry) => entry.runId)).toEqual(['run-1', 'run-2']);
    expect(entries[1]).toEqual({
      image: 'kiln/curl',
      digest: 'sha256:curl-7.88.1-r0-1.2.13-r1',
      previousDigest: 'sha256:curl-7.88.1-r0-1.2.13-r0',
      tags: ['latest', '7.88.1', '7.88.1-r0', '7.88.1-20261204'],
      publishedAt: '2026-12-04T10:00:00.000Z',
      runId: 'run-2',
      reasons: [{ kind: 'package-version', package: 'zlib', from: '1.2.13-r0', to: '1.2.13-r1' }, { kind: 'advisory', id: 'CVE-2023-45853' }],
      packages: { added: [], removed: [], upgraded: [{ name: 'zlib', from: '1.2.13-r0', to: '1.2.13-r1' }] },
      cves: { fixed: ['CVE-2023-45853'], introduced: [], open: { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 } },
    });
    // Retried (a queue redelivers the job): same lock, already published.
    const retried = await runFactoryStep(imageStep('curl', [], ['packages']), { ...context, runId: 'run-2' }, ports());
    expect(retried.status).toBe('up-to-date');
    expect(await history.history('kiln/curl')).toHaveLength(2);
  });

  it('attests a new scan result and OpenVEX to a published digest when new vulnerability knowledge changes what it says, and only then', async () => {
    const context = { config, runId: 'run-1', kilnVersion: 'test' };
    let knowledge = 'k1';
    let statuses: Record<string, string> = { 'CVE-2023-45853': 'zlib: affected', 'CVE-2024-0001': 'curl: affected' };
    const attested: AttestScanRequest[] = [];
    let signing = true;
    const base = ports();
    const scanning: FactoryPorts = {
      ...base,
      scanner: { knowledge: () => Promise.resolve(knowledge), scan: async (request) => ({ ...(await base.scanner!.scan(request)), knowledge, statuses, openvex: { knowledge, statements: { ...statuses } } }) },
      publisher: { ...base.publisher!, attestScan: (request) => (attested.push(request), Promise.resolve({ attestations: signing ? 2 : 0 })) },
    };
    const state = fileStateStore(join(dir, 'state'));
    await applyPlan(plan([imageStep('curl', [], ['first-build'])]), context, scanning);
    const digest = 'sha256:curl-7.88.1-r0-1.2.13-r0';
    expect((await state.read()).images.curl).toMatchObject({ digest, scannedWith: 'k1', statuses });

    // An advisory says CVE-2024-0001 does not affect curl: new knowledge, the same packages and digest.
    knowledge = 'k2';
    open.curl = ['CVE-2023-45853'];
    statuses = { ...statuses, 'CVE-2024-0001': 'curl: not_affected (component_not_present)' };
    const [again] = await applyPlan(plan([imageStep('curl', [], ['advisories'])]), { ...context, runId: 'run-2' }, scanning);
    expect(again).toMatchObject({ status: 'reattested', detail: { digest, vulnerabilities: ['CVE-2024-0001'] } });
    expect(published).toHaveLength(1);
    expect(attested).toMatchObject([{ image: 'curl', registry: '127.0.0.1:5000', repository: 'kiln/curl', digest }]);
    expect(attested[0]!.scan.openvex).toEqual({ knowledge: 'k2', statements: statuses });
    const entries = await history.history('kiln/curl');
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({ digest, previousDigest: digest, runId: 'run-2', reattested: true, attestations: 2, reasons: [{ kind: 'advisory', id: 'CVE-2024-0001' }], cves: { fixed: ['CVE-2024-0001'], introduced: [] } });
    expect((await state.read()).images.curl).toMatchObject({ digest, scannedWith: 'k2', cves: ['CVE-2023-45853'], statuses });

    // Newer knowledge that says the same: the scan is noted, nothing attested, no history entry.
    knowledge = 'k3';
    const [same] = await applyPlan(plan([imageStep('curl', [], ['advisories'])]), { ...context, runId: 'run-3' }, scanning);
    expect(same!.status).toBe('unchanged');
    expect(attested).toHaveLength(1);
    expect(await history.history('kiln/curl')).toHaveLength(2);
    expect((await state.read()).images.curl!.scannedWith).toBe('k3');

    // A state from before verdicts were kept: the same open set is no change, whatever the statuses say.
    await state.update((next) => void delete next.images.curl!.statuses);
    knowledge = 'k4';
    statuses = { 'CVE-2023-45853': 'zlib: affected (fixed in 1.3)' };
    const [baseline] = await applyPlan(plan([imageStep('curl', [], ['advisories'])]), { ...context, runId: 'run-4' }, scanning);
    expect(baseline!.status).toBe('unchanged');
    expect(attested).toHaveLength(1);
    expect((await state.read()).images.curl).toMatchObject({ scannedWith: 'k4', statuses });

    // Publishing unsigned: the new verdict is recorded, and the history says nothing was attested.
    signing = false;
    knowledge = 'k5';
    open.curl = [];
    statuses = { 'CVE-2023-45853': 'zlib: fixed' };
    const [unsigned] = await applyPlan(plan([imageStep('curl', [], ['advisories'])]), { ...context, runId: 'run-5' }, scanning);
    expect(unsigned).toMatchObject({ status: 'reattested', detail: { vulnerabilities: ['CVE-2023-45853'], attestations: 0 } });
    expect((await history.history('kiln/curl')).at(-1)).toMatchObject({ runId: 'run-5', reattested: true, attestations: 0, cves: { fixed: ['CVE-2023-45853'] } });
  });

  it('a failed package build skips what waits for it and nothing else', async () => {
    failBuild.add('zlib');
    const outcomes = await applyPlan(plan([packageStep('zlib'), packageStep('jq'), imageStep('curl', ['package:zlib'], ['first-build']), imageStep('jq', ['package:jq'], ['first-build'])]), { config, runId: 'run-1', kilnVersion: 'test' }, ports());
    expect(outcomes.map((step) => [step.id, step.status, step.blockedBy ?? step.error?.code])).toEqual([
      ['package:zlib', 'failed', 'FACTORY_BUILD_FAILED'],
      ['package:jq', 'built', undefined],
      ['image:curl', 'skipped', ['package:zlib']],
      ['image:jq', 'published', undefined],
    ]);
    expect(await history.listImages()).toEqual(['kiln/jq']);
  });

  it('a refused publish leaves the history and the published digest as they were', async () => {
    const context = { config, runId: 'run-1', kilnVersion: 'test' };
    await applyPlan(plan([imageStep('jq', [], ['first-build'])]), context, ports());
    contents.jq = [pkg('jq', '1.6-r1')];
    const refusing = { ...ports(), publisher: { publish: () => Promise.reject(new FactoryError('FACTORY_PUBLISH_FAILED', 'image jq: pushing to 127.0.0.1:5000/kiln/jq: TAG_IMMUTABLE')) } };
    const [outcome] = await applyPlan(plan([imageStep('jq', [], ['packages'])]), { ...context, runId: 'run-2' }, refusing);
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'FACTORY_PUBLISH_FAILED', message: expect.stringContaining('TAG_IMMUTABLE') } });
    expect((await history.history('kiln/jq')).map((entry) => entry.runId)).toEqual(['run-1']);
    expect((await fileStateStore(join(dir, 'state')).read()).images.jq?.digest).toBe('sha256:jq-1.6-r0');
  });
});

describe('applyPlan with several steps at once', () => {
  const steps = () => [packageStep('zlib'), packageStep('jq'), imageStep('curl', ['package:zlib'], ['first-build']), imageStep('jq', ['package:jq'], ['first-build'])];

  it('starts a step only after the steps it waits for, runs independent ones together, reports in plan order', async () => {
    const events: string[] = [];
    const executor: StepExecutor = {
      concurrency: 2,
      run: async (step, context, stepPorts) => {
        events.push(`start ${step.id}`);
        // zlib takes longest, so jq's image can run while zlib still builds.
        await new Promise((done) => setTimeout(done, step.id === 'package:zlib' ? 60 : 5));
        const outcome = await runFactoryStep(step, context, stepPorts);
        events.push(`end ${step.id}`);
        return outcome;
      },
    };
    const outcomes = await applyPlan(plan(steps()), { config, runId: 'run-1', kilnVersion: 'test' }, ports(), executor);
    expect(outcomes.map((step) => [step.id, step.status])).toEqual([['package:zlib', 'built'], ['package:jq', 'built'], ['image:curl', 'published'], ['image:jq', 'published']]);
    expect(events.slice(0, 2)).toEqual(['start package:zlib', 'start package:jq']);
    expect(events.indexOf('start image:curl')).toBeGreaterThan(events.indexOf('end package:zlib'));
    expect(events.indexOf('start image:jq')).toBeLessThan(events.indexOf('end package:zlib'));
  });

  it('a run whose lock was taken over starts no further step: the running one finishes, then FACTORY_LOCK_LOST', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    const release = await acquireRunLock(stateDir, 'run-1', new Date());
    const started: string[] = [];
    const executor: StepExecutor = {
      concurrency: 1,
      run: async (step, context, stepPorts) => {
        started.push(step.id);
        // As a run that took the lock over after this host slept past the expiry would leave it.
        await writeFile(join(stateDir, 'run.lock'), `${JSON.stringify({ pid: 1, host: 'other-host', startedAt: new Date().toISOString(), runId: 'run-2', refreshMs: 30_000 })}\n`);
        return runFactoryStep(step, context, stepPorts);
      },
    };
    try {
      const error = await applyPlan(plan(steps()), { config, runId: 'run-1', kilnVersion: 'test' }, ports(), executor, () => assertRunLockHeld(stateDir, 'run-1')).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FactoryError);
      expect((error as FactoryError).code).toBe('FACTORY_LOCK_LOST');
      expect((error as FactoryError).message).toContain('run run-2 holds it');
      expect(started).toEqual(['package:zlib']);
      expect(published).toEqual([]);
    } finally {
      await release();
    }
    // The release leaves the other run's lock where it is.
    expect(JSON.parse(await readFile(join(stateDir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'run-2' });
  });

  it('with steps running at once, lets the running step finish when the lock is lost, then stops naming what finished', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    const release = await acquireRunLock(stateDir, 'run-1', new Date());
    const started: string[] = [];
    const executor: StepExecutor = {
      concurrency: 2,
      run: (step, context, stepPorts) => {
        started.push(step.id);
        // Taken over while zlib builds: jq, next in line, must not start.
        if (step.id === 'package:zlib') writeFileSync(join(stateDir, 'run.lock'), `${JSON.stringify({ pid: 1, host: 'other-host', startedAt: new Date().toISOString(), runId: 'run-2', refreshMs: 30_000 })}\n`);
        return new Promise((done) => setTimeout(done, 50)).then(() => runFactoryStep(step, context, stepPorts));
      },
    };
    try {
      const error = await applyPlan(plan(steps()), { config, runId: 'run-1', kilnVersion: 'test' }, ports(), executor, () => assertRunLockHeld(stateDir, 'run-1')).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'FACTORY_LOCK_LOST', detail: { finished: [{ id: 'package:zlib', status: 'built' }] } });
      expect((error as Error).message).toMatch(/run run-2 holds it\); it starts no further step; steps finished before it stopped: package:zlib built$/);
      expect(started).toEqual(['package:zlib']);
    } finally {
      await release();
    }
  });

  it('does not record the run\'s index once the lock is lost', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(join(dir, 'out', 'x86_64'), { recursive: true });
    await writeFile(join(dir, 'out', 'x86_64', 'APKINDEX.tar.gz'), 'index');
    const release = await acquireRunLock(stateDir, 'run-1', new Date());
    const guard = () => assertRunLockHeld(stateDir, 'run-1');
    try {
      const shared = ports();
      await applyPlan(plan([]), { config, runId: 'run-1', kilnVersion: 'test' }, shared, undefined, guard);
      const recorded = (await shared.state.read()).indexSha256;
      expect(recorded).toMatch(/^[0-9a-f]{64}$/);
      await writeFile(join(dir, 'out', 'x86_64', 'APKINDEX.tar.gz'), 'index after another run');
      await rm(join(stateDir, 'run.lock'));
      await expect(applyPlan(plan([]), { config, runId: 'run-1', kilnVersion: 'test' }, shared, undefined, guard)).rejects.toMatchObject({ code: 'FACTORY_LOCK_LOST' });
      expect((await shared.state.read()).indexSha256).toBe(recorded);
    } finally {
      await release();
    }
  });

  it('a run whose lock was removed stops the same way; one that still holds it runs every step', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    const release = await acquireRunLock(stateDir, 'run-1', new Date());
    const guard = () => assertRunLockHeld(stateDir, 'run-1');
    try {
      const outcomes = await applyPlan(plan(steps()), { config, runId: 'run-1', kilnVersion: 'test' }, ports(), undefined, guard);
      expect(outcomes.map((step) => step.status)).toEqual(['built', 'built', 'published', 'published']);
      await rm(join(stateDir, 'run.lock'));
      const error = await applyPlan(plan([packageStep('zlib')]), { config, runId: 'run-1', kilnVersion: 'test' }, ports(), undefined, guard).catch((caught: unknown) => caught);
      expect((error as FactoryError).code).toBe('FACTORY_LOCK_LOST');
      expect((error as FactoryError).message).toContain('no run holds it');
    } finally {
      await release();
    }
  });

  it('as factory.step jobs on a SQLite queue run by two workers: the same outcomes and history as in one process; a job that cannot run fails its step', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const stop = new AbortController();
    const shared = ports();
    const handlers = { [FACTORY_STEP_KIND]: factoryStepHandler(() => Promise.resolve({ ports: shared, close: () => {} })) };
    const ran: string[] = [];
    const workers = [0, 1].map(() => runWorker(queue, handlers, { pollIntervalMs: 10, signal: stop.signal, onJob: (event) => ran.push(event.outcome) }));
    // Workers run a step only for the run holding the state's lock.
    let release: (() => Promise<void>) | undefined = await acquireRunLock(join(dir, 'state'), 'run-q', new Date());
    try {
      const outcomes = await applyPlan(plan(steps()), { config, runId: 'run-q', kilnVersion: 'test' }, shared, queueStepExecutor(queue, { pollMs: 10 }));
      expect(outcomes.map((step) => [step.id, step.status])).toEqual([['package:zlib', 'built'], ['package:jq', 'built'], ['image:curl', 'published'], ['image:jq', 'published']]);
      expect(ran).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect((await history.history('kiln/curl')).map((entry) => [entry.runId, entry.digest])).toEqual([['run-q', 'sha256:curl-7.88.1-r0-1.2.13-r0']]);

      await release();
      release = undefined;

      // A configuration no worker can read: the step's job fails for good, what waits for it is skipped.
      const broken = { ...config, file: join(dir, 'missing.yaml') };
      const failed = await applyPlan(plan([packageStep('zlib'), imageStep('curl', ['package:zlib'], ['packages'])]), { config: broken, runId: 'run-r', kilnVersion: 'test' }, shared, queueStepExecutor(queue, { pollMs: 10, maxAttempts: 1 }));
      expect(failed[0]).toMatchObject({ id: 'package:zlib', status: 'failed', error: { code: 'FACTORY_STEP_FAILED', message: expect.stringContaining('missing.yaml') } });
      expect(failed[1]).toMatchObject({ id: 'image:curl', status: 'skipped', blockedBy: ['package:zlib'] });
    } finally {
      await release?.();
      stop.abort();
      await Promise.all(workers);
      await queue.close();
    }
  });

  it('with no worker on the queue, withdraws the waiting steps after the claim timeout (FACTORY_NO_WORKER): a worker that comes later finds nothing to run', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-n', new Date());
    try {
      const started = Date.now();
      const outcomes = await applyPlan(plan(steps()), { config, runId: 'run-n', kilnVersion: 'test' }, ports(), queueStepExecutor(queue, { pollMs: 10, claimTimeoutMs: 300, queueName: 'sqlite:queue.db' }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(outcomes.map((step) => [step.id, step.status])).toEqual([['package:zlib', 'failed'], ['package:jq', 'failed'], ['image:curl', 'skipped'], ['image:jq', 'skipped']]);
      expect(outcomes[0]!.error).toMatchObject({ code: 'FACTORY_NO_WORKER', message: expect.stringMatching(/no kiln factory worker took its job from sqlite:queue\.db in .*kiln factory worker --queue sqlite:queue\.db/) });
      const left = await queue.list({ state: 'failed', kind: FACTORY_STEP_KIND });
      expect(left.map((job) => [job.key, job.attempts]).sort()).toEqual([['k-jq@run-n', 0], ['k-zlib@run-n', 0]]);
      expect(await queue.claim([FACTORY_STEP_KIND])).toBeUndefined();
    } finally {
      await release();
      await queue.close();
    }
  });

  it('when the only worker dies holding a step, sees its lease run out and then gives up with FACTORY_NO_WORKER (it does not wait forever)', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-k', new Date());
    try {
      const running = applyPlan(plan([packageStep('zlib')]), { config, runId: 'run-k', kilnVersion: 'test' }, ports(), queueStepExecutor(queue, { pollMs: 10, leaseSeconds: 1, claimTimeoutMs: 300 }));
      // A worker takes the step and dies: it never completes nor fails it.
      let taken;
      while (!(taken = await queue.claim([FACTORY_STEP_KIND]))) await new Promise((done) => setTimeout(done, 10));
      const [outcome] = await running;
      expect(outcome).toMatchObject({ id: 'package:zlib', status: 'failed', error: { code: 'FACTORY_NO_WORKER' } });
      expect(await queue.get(FACTORY_STEP_KIND, taken.key)).toMatchObject({ state: 'failed', attempts: 1 });
    } finally {
      await release();
      await queue.close();
    }
  });

  it('with no worker, gives up on more waiting steps than it queues at once in one claim timeout, not one per batch', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-m', new Date());
    try {
      const many = Array.from({ length: 10 }, (_, index) => packageStep(`lib${index}`));
      const started = Date.now();
      // Four batches of three: a timeout per batch would take four timeouts.
      const outcomes = await applyPlan(plan(many), { config, runId: 'run-m', kilnVersion: 'test' }, ports(), queueStepExecutor(queue, { pollMs: 10, concurrency: 3, claimTimeoutMs: 1500 }));
      const elapsed = Date.now() - started;
      expect(outcomes.map((step) => step.error?.code)).toEqual(Array(10).fill('FACTORY_NO_WORKER'));
      expect(elapsed).toBeGreaterThanOrEqual(1500);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      await release();
      await queue.close();
    }
  });

  it('after giving up on one step for want of a worker, gives the next a grace in which a worker that just started takes it', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-g', new Date());
    const shared = ports();
    const stop = new AbortController();
    let worker: Promise<unknown> | undefined;
    try {
      // One at a time: zlib waits out the claim timeout alone; jq is queued after it failed.
      const running = applyPlan(plan([packageStep('zlib'), packageStep('jq')]), { config, runId: 'run-g', kilnVersion: 'test' }, shared, queueStepExecutor(queue, { pollMs: 10, concurrency: 1, claimTimeoutMs: 2000 }));
      while (!(await queue.get(FACTORY_STEP_KIND, 'k-jq@run-g'))) await new Promise((done) => setTimeout(done, 5));
      const handlers = { [FACTORY_STEP_KIND]: factoryStepHandler(() => Promise.resolve({ ports: shared, close: () => {} })) };
      worker = runWorker(queue, handlers, { pollIntervalMs: 10, signal: stop.signal });
      const outcomes = await running;
      expect(outcomes.map((step) => [step.id, step.status, step.error?.code])).toEqual([['package:zlib', 'failed', 'FACTORY_NO_WORKER'], ['package:jq', 'built', undefined]]);
    } finally {
      stop.abort();
      await worker;
      await release();
      await queue.close();
    }
  });

  it('waits out a queue that fails for a while (QUEUE_UNAVAILABLE) instead of failing the run; a job that vanished fails its step', async () => {
    const real = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-u', new Date());
    const shared = ports();
    // The database drops out for the run's first reads (a PostgreSQL restart), then comes back.
    let outage = 3;
    const vanished = new Set<string>();
    const get: JobQueue['get'] = (kind, key) => (outage-- > 0 ? Promise.reject(new FactoryQueueError('QUEUE_UNAVAILABLE', 'postgres://kiln@db/kiln: reading a job failed: Connection terminated')) : vanished.has(key) ? Promise.resolve(undefined) : real.get(kind, key));
    const flaky = replacing(real, 'get', get);
    try {
      const handlers = { [FACTORY_STEP_KIND]: factoryStepHandler(() => Promise.resolve({ ports: shared, close: () => {} })) };
      const running = applyPlan(plan([packageStep('zlib')]), { config, runId: 'run-u', kilnVersion: 'test' }, shared, queueStepExecutor(flaky, { pollMs: 10 }));
      // A worker that runs until the queue is empty starts once the step is queued.
      while (!(await real.get(FACTORY_STEP_KIND, 'k-zlib@run-u'))) await new Promise((done) => setTimeout(done, 5));
      await runWorker(real, handlers, { pollIntervalMs: 10, untilEmpty: true });
      expect((await running).map((step) => [step.id, step.status])).toEqual([['package:zlib', 'built']]);
      expect(outage).toBeLessThan(0);
      // Removed from the queue by hand while waiting: the step fails, naming the job.
      vanished.add('k-jq@run-u');
      const [gone] = await applyPlan(plan([packageStep('jq')]), { config, runId: 'run-u', kilnVersion: 'test' }, shared, queueStepExecutor(flaky, { pollMs: 10, queueName: 'sqlite:queue.db' }));
      expect(gone).toMatchObject({ id: 'package:jq', status: 'failed', error: { code: 'FACTORY_STEP_FAILED', message: 'step package:jq: job k-jq@run-u vanished from sqlite:queue.db before it finished (removed by hand?)' } });
    } finally {
      await release();
      await real.close();
    }
  });

  it('stops at once on a queue database that is damaged (QUEUE_DAMAGED) instead of waiting on it', async () => {
    const real = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-d', new Date());
    try {
      const other = new Database(join(dir, 'queue.db'));
      other.exec('DROP TABLE jobs');
      other.close();
      // Two steps at once, and a guard that reads the lock between starting them: the second step's
      // failure comes while the first's is awaited, and neither may go unhandled.
      const guard = () => assertRunLockHeld(join(dir, 'state'), 'run-d');
      const error = await applyPlan(plan([packageStep('zlib'), packageStep('jq')]), { config, runId: 'run-d', kilnVersion: 'test' }, ports(), queueStepExecutor(real, { pollMs: 10 }), guard).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'QUEUE_DAMAGED', message: expect.stringContaining('no such table: jobs') });
    } finally {
      await release();
      await real.close();
    }
  });

  it('does not count a queue outage as no worker: after the queue answers again, a worker still backing off takes the step', async () => {
    const real = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-o', new Date());
    const shared = ports();
    // Down for longer than the claim timeout (about 1.75 s of retries against 300 ms).
    let outage = 3;
    const get: JobQueue['get'] = (kind, key) => (outage-- > 0 ? Promise.reject(new FactoryQueueError('QUEUE_UNAVAILABLE', 'reading a job failed: Connection terminated')) : real.get(kind, key));
    const flaky = replacing(real, 'get', get);
    try {
      const running = applyPlan(plan([packageStep('zlib')]), { config, runId: 'run-o', kilnVersion: 'test' }, shared, queueStepExecutor(flaky, { pollMs: 10, claimTimeoutMs: 300 }));
      while (outage >= 0) await new Promise((done) => setTimeout(done, 5));
      // The worker comes back well after the claim timeout, counted from before the outage.
      await new Promise((done) => setTimeout(done, 600));
      const handlers = { [FACTORY_STEP_KIND]: factoryStepHandler(() => Promise.resolve({ ports: shared, close: () => {} })) };
      await runWorker(real, handlers, { pollIntervalMs: 10, untilEmpty: true });
      expect((await running).map((step) => [step.id, step.status])).toEqual([['package:zlib', 'built']]);
    } finally {
      await release();
      await real.close();
    }
  });

  it('a withdrawal whose answer was lost still ends the step with FACTORY_NO_WORKER', async () => {
    const real = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-l', new Date());
    // The first withdrawal is carried out, then the connection drops before its answer.
    let lost = 1;
    const withdraw: JobQueue['withdraw'] = async (kind, key, message) => {
      const done = await real.withdraw(kind, key, message);
      if (lost-- > 0) throw new FactoryQueueError('QUEUE_UNAVAILABLE', 'withdrawing a job failed: Connection terminated');
      return done;
    };
    const flaky = replacing(real, 'withdraw', withdraw);
    try {
      // Its job was tried once already (a worker that failed it), so it is withdrawn after an attempt.
      await real.enqueue({ kind: FACTORY_STEP_KIND, key: 'k-zlib@run-l', payload: null, maxAttempts: 3 });
      expect(await real.fail((await real.claim([FACTORY_STEP_KIND]))!, { message: 'worker crashed' })).toBe('retry');
      const [outcome] = await applyPlan(plan([packageStep('zlib')]), { config, runId: 'run-l', kilnVersion: 'test' }, ports(), queueStepExecutor(flaky, { pollMs: 10, claimTimeoutMs: 300, queueName: 'sqlite:queue.db' }));
      expect(outcome).toMatchObject({ id: 'package:zlib', status: 'failed', error: { code: 'FACTORY_NO_WORKER', message: expect.stringContaining('no kiln factory worker took its job from sqlite:queue.db') } });
      expect(lost).toBeLessThan(0);
      expect(await real.get(FACTORY_STEP_KIND, 'k-zlib@run-l')).toMatchObject({ state: 'failed', attempts: 1 });
    } finally {
      await release();
      await real.close();
    }
  });

  it('waits while a worker is busy with another run\'s step, then runs its own when the worker takes it', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const release = await acquireRunLock(join(dir, 'state'), 'run-w', new Date());
    const shared = ports();
    try {
      // The one worker holds another state's step for longer than this run's claim timeout.
      await queue.enqueue({ kind: FACTORY_STEP_KIND, key: 'k-other@run-elsewhere', payload: null });
      const busy = await queue.claim([FACTORY_STEP_KIND]);
      const running = applyPlan(plan([packageStep('zlib')]), { config, runId: 'run-w', kilnVersion: 'test' }, shared, queueStepExecutor(queue, { pollMs: 10, claimTimeoutMs: 200 }));
      await new Promise((done) => setTimeout(done, 700));
      expect(await queue.get(FACTORY_STEP_KIND, 'k-zlib@run-w')).toMatchObject({ state: 'queued' });
      expect(await queue.complete(busy!, null)).toBe(true);
      const handlers = { [FACTORY_STEP_KIND]: factoryStepHandler(() => Promise.resolve({ ports: shared, close: () => {} })) };
      await runWorker(queue, handlers, { pollIntervalMs: 10, untilEmpty: true });
      expect((await running).map((step) => [step.id, step.status])).toEqual([['package:zlib', 'built']]);
    } finally {
      await release();
      await queue.close();
    }
  });

  it('a worker refuses a step job whose run is over: the lock gone, another run\'s, or its process dead', async () => {
    const queue = await openJobQueue(`sqlite:${join(dir, 'queue.db')}`, { cwd: dir });
    const shared = ports();
    const builds: string[] = [];
    const counting: FactoryPorts = { ...shared, packages: { build: (request, log) => (builds.push(request.recipe), shared.packages.build(request, log)) } };
    const handler = factoryStepHandler(() => Promise.resolve({ ports: counting, close: () => {} }));
    const results: unknown[] = [];
    const work = { [FACTORY_STEP_KIND]: async (payload: JsonValue, context: Parameters<typeof handler>[1]) => { const result = await handler(payload, context); results.push(result); return result; } };
    const enqueue = (runId: string) => queue.enqueue({ kind: FACTORY_STEP_KIND, key: `k-zlib@${runId}`, payload: { config: join(dir, 'factory.yaml'), runId, kilnVersion: 'test', step: packageStep('zlib') } as unknown as JsonValue });
    try {
      await enqueue('run-gone');
      await runWorker(queue, work, { pollIntervalMs: 10, untilEmpty: true });
      await mkdir(join(dir, 'state'), { recursive: true });
      const child = spawn('true');
      await new Promise((done) => child.once('exit', done));
      await writeFile(join(dir, 'state', 'run.lock'), JSON.stringify({ pid: child.pid, host: hostname(), startedAt: 'x', runId: 'run-dead' }));
      await enqueue('run-dead');
      await runWorker(queue, work, { pollIntervalMs: 10, untilEmpty: true });
      await rm(join(dir, 'state', 'run.lock'));
      const release = await acquireRunLock(join(dir, 'state'), 'run-live', new Date());
      await enqueue('run-other');
      await runWorker(queue, work, { pollIntervalMs: 10, untilEmpty: true });
      await release();
      expect(builds).toEqual([]);
      expect(results.map((result) => (result as { error: { message: string } }).error.message.replace(/^.*\(/, '('))).toEqual([
        '(no run holds it)',
        `(its process ${child.pid} is gone)`,
        '(run run-live holds it)',
      ]);
    } finally {
      await queue.close();
    }
  });
});

describe('checkPublisherReady', () => {
  it('stops a run that would publish when its signer is not ready, naming the images; asks nothing otherwise', async () => {
    let asked = 0;
    const notReady: FactoryPorts = { ...ports(), publisher: { ...ports().publisher!, ready: () => (asked++, Promise.reject(new Error('the identity token expired at 2026-12-04T09:00:00Z'))) } };
    const publishing = plan([packageStep('zlib'), imageStep('curl', ['package:zlib'], ['packages']), imageStep('jq', [], ['packages'])]);
    await expect(checkPublisherReady(publishing, notReady)).rejects.toMatchObject({
      code: 'FACTORY_SIGNING_UNAVAILABLE',
      message: 'the run would publish image:curl, image:jq and cannot sign: the identity token expired at 2026-12-04T09:00:00Z; nothing was built',
      detail: { steps: ['image:curl', 'image:jq'] },
    });
    expect(asked).toBe(1);
    // Nothing to publish (packages only, or images kept unpublished): the signer is not asked.
    const quiet = plan([packageStep('zlib'), { ...imageStep('jq', [], ['packages']), publish: false } as FactoryStep]);
    await checkPublisherReady(quiet, notReady);
    expect(asked).toBe(1);
    // A ready signer lets the run go on.
    const ready: FactoryPorts = { ...ports(), publisher: { ...ports().publisher!, ready: () => (asked++, Promise.resolve()) } };
    await checkPublisherReady(publishing, ready);
    expect(asked).toBe(2);
  });
});
