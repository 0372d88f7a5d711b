// A factory run: find updates, plan, then apply the plan step by step. Every step is one idempotent
// unit (runFactoryStep) keyed by its inputs, so the same plan can run here in order or as queue jobs.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRecipe, packageFileName, planBuildAll } from '../package-builder/index.ts';
import type { BuildImageResult, ReproducibleFacts } from '../image/index.ts';
import { isKilnError, pathExists, silentLogger, writeFileAtomic } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { catalogImageName } from '../os/index.ts';
import type { FactoryConfig } from './config.ts';
import { detectDebianUpdates } from './debian-updates.ts';
import type { DebianUpdateSource, RecipeUpdateOutcome } from './debian-updates.ts';
import { FactoryError } from './errors.ts';
import type { FactoryErrorCode } from './errors.ts';
import { recipeDebianSource, rewriteRecipe } from './format/debian-update.ts';
import { detectMelangeUpdate } from './melange-updates.ts';
import type { MelangeUpdateOutcome } from './melange-updates.ts';
import type { UpdateFeedOptions } from './update-feeds.ts';
import { diffCves, diffPackages } from './format/history.ts';
import type { HistoryPackage, HistoryReason, ImageHistoryEntry, SeverityCounts } from './format/history.ts';
import { planFactoryRun } from './format/run-plan.ts';
import type { FactoryPlan, FactoryStep, PlanUpdateInput } from './format/run-plan.ts';
import type { ImageState } from './format/state.ts';
import { imageRepository, imageTags, mainPackageOf } from './format/tags.ts';
import type { RecipeCommitter } from './git-commit.ts';
import type { ImageHistoryStore } from './history-store.ts';
import type { ImagePublisher } from './publish-image.ts';
import { acquireRunLock, assertRunLockHeld } from './run-lock.ts';
import type { FactoryStateStore } from './state-store.ts';

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

/** Port: builds one recipe into the signed repository (the package builder with Kiln OS's settings). */
export interface PackageBuilderPort {
  build(request: { recipe: string; file: string }, log: (line: string) => void): Promise<{ fullVersion: string; packages: string[] }>;
}

/** An installed package of an image. */
export interface LockedPackage {
  name: string;
  version: string;
  /** apk `C:` identity (the checksum), so a rebuild at the same version is a different lock. */
  identity: string;
  /** Source package (apk `o:`); the name when the index does not say. */
  origin: string;
}

const lockLine = (pkg: LockedPackage) => `${pkg.name}=${pkg.version} ${pkg.identity}`;

/** Port: resolves and builds catalog images against the repository. */
export interface ImageBuilderPort {
  /** The packages the configuration resolves to now (nothing is fetched or built). */
  lock(request: { image: string; file: string }): Promise<LockedPackage[]>;
  /** Also returns what `kiln image reproduce` rebuilds from: every configuration file the build
   *  loaded (first the file it was pointed at) with their checksum, and the build flags. */
  build(request: { image: string; file: string }, log: (line: string) => void): Promise<{ result: BuildImageResult; installed: LockedPackage[]; listed: string[]; configBytes: Uint8Array; reproducible?: ReproducibleFacts; configChecksum?: string }>;
}

/** What one scan of an image found. */
export interface ImageScan {
  /** Open vulnerability ids, sorted. */
  ids: string[];
  open: SeverityCounts;
  /** The scan result predicate (cosign's vuln/v1) and the OpenVEX document, as attested. */
  vuln: Record<string, unknown>;
  openvex: Record<string, unknown>;
  /** The knowledge the scan used (as `knowledge()` said it), when the scanner can tell. */
  knowledge?: string;
  /** What the OpenVEX says of each vulnerability: a change here is worth a new attestation. */
  statuses?: Record<string, string>;
}

/** Port: scans a built image against the local vulnerability index. */
export interface ImageScannerPort {
  scan(request: { image: string; result: BuildImageResult }): Promise<ImageScan>;
  /** Identity of the knowledge scans use now (the feeds and their contents, Kiln's advisories among
   *  them): published images last scanned with other knowledge are scanned again. */
  knowledge?(): Promise<string>;
}

/** One step's log (STATE/runs/RUN/STEP.log). */
export interface StepLog {
  write(line: string): void;
  close(): Promise<void>;
}

/** Progress of a run, for a terminal. */
export interface FactoryProgress {
  phase: 'updates' | 'plan' | 'step';
  step?: string;
  status?: string;
  done?: number;
  total?: number;
}

/** Everything a run uses. */
export interface FactoryPorts {
  state: FactoryStateStore;
  history: ImageHistoryStore;
  updates?: DebianUpdateSource;
  /** Upstream feeds of recipes' melange `update:` blocks; undefined: those are not checked. */
  upstream?: UpdateFeedOptions;
  committer?: RecipeCommitter;
  packages: PackageBuilderPort;
  images: ImageBuilderPort;
  publisher?: ImagePublisher;
  scanner?: ImageScannerPort;
  logger?: Logger;
  onProgress?: (event: FactoryProgress) => void;
  now?: () => Date;
  /** Opens a step's log; default: none kept. */
  stepLog?: (runId: string, stepId: string) => StepLog;
}

/** Context of one step: the configuration and the run it belongs to. */
export interface FactoryStepContext {
  config: FactoryConfig;
  runId: string;
  kilnVersion: string;
}

/** Outcome of one step. */
export interface StepOutcome {
  id: string;
  kind: FactoryStep['kind'];
  status: 'done' | 'up-to-date' | 'unchanged' | 'built' | 'published' | 'reattested' | 'failed' | 'skipped';
  detail?: Record<string, unknown>;
  error?: { code: string; message: string };
  blockedBy?: string[];
  durationMs: number;
}

/** What update detection found for one recipe: from Debian's Sources, or from its `update:` feed
 *  (the new recipe text is in the plan's update step, not here). */
export type FactoryUpdateOutcome = (RecipeUpdateOutcome & { source: 'debian' }) | (DistributiveOmit<MelangeUpdateOutcome, 'text'> & { source: 'upstream' });
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The report of a run (`--json`). */
export interface FactoryRunReport {
  runId: string;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  warnings: string[];
  updates: FactoryUpdateOutcome[];
  plan: FactoryPlan;
  steps: StepOutcome[];
  published: { image: string; digest: string; repository: string; tags: string[] }[];
  failed: string[];
}

/** `20261204T101500Z-ab12`. */
function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

function utcDate(now: Date): string {
  return now.toISOString().slice(0, 10).replace(/-/g, '');
}

async function yamlFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  } catch (error) {
    throw new FactoryError('FACTORY_CONFIG_INVALID', `${dir}: not a directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error, detail: { path: dir } });
  }
}

/** Runs the factory once: updates, plan, apply (or, with `dryRun`, only the plan). Two runs on the
 *  same state directory at once: the second is refused with FACTORY_LOCKED. */
export async function runFactory(request: { config: FactoryConfig; dryRun?: boolean; kilnVersion: string; executor?: StepExecutor }, ports: FactoryPorts): Promise<FactoryRunReport> {
  const now = ports.now ?? (() => new Date());
  const started = now();
  const startedMs = Date.now();
  const runId = newRunId(started);
  const { config } = request;
  await mkdir(config.stateDir, { recursive: true });
  const release = request.dryRun ? async () => {} : await acquireRunLock(config.stateDir, runId, started);
  try {
    const context: FactoryStepContext = { config, runId, kilnVersion: request.kilnVersion };
    const { plan, updates, warnings } = await planRun(context, ports, started);
    const report: FactoryRunReport = { runId, dryRun: request.dryRun ?? false, startedAt: started.toISOString(), durationMs: 0, warnings, updates, plan, steps: [], published: [], failed: [] };
    for (const outcome of updates) if (outcome.status === 'failed' || outcome.status === 'refused') report.failed.push(`update:${outcome.recipe}`);
    if (!request.dryRun) {
      await checkPublisherReady(plan, ports);
      report.steps = await applyPlan(plan, context, ports, request.executor, () => assertRunLockHeld(config.stateDir, runId));
      for (const step of report.steps) {
        if (step.status === 'failed' || step.status === 'skipped') report.failed.push(step.id);
        if (step.status === 'published') report.published.push(step.detail as FactoryRunReport['published'][number]);
      }
      await writeFileAtomic(join(config.stateDir, 'runs', runId, 'report.json'), `${JSON.stringify({ ...report, durationMs: Date.now() - startedMs }, null, 2)}\n`);
    }
    report.durationMs = Date.now() - startedMs;
    return report;
  } finally {
    await release();
  }
}

/** A run that may publish checks first that it can sign (a keyless token is there and unexpired),
 *  so a missing token stops it before hours of builds, not at its first signature. */
export async function checkPublisherReady(plan: FactoryPlan, ports: FactoryPorts): Promise<void> {
  const publishing = plan.steps.filter((step) => step.kind === 'image' && step.publish).map((step) => step.id);
  if (publishing.length === 0 || !ports.publisher?.ready) return;
  try {
    await ports.publisher.ready();
  } catch (error) {
    throw new FactoryError('FACTORY_SIGNING_UNAVAILABLE', `the run would publish ${publishing.join(', ')} and cannot sign: ${(error as Error).message}; nothing was built`, { cause: error, detail: { steps: publishing } });
  }
}

/** Reads the recipes, images and state, finds updates, and plans the run. */
async function planRun(context: FactoryStepContext, ports: FactoryPorts, now: Date): Promise<{ plan: FactoryPlan; updates: FactoryUpdateOutcome[]; warnings: string[] }> {
  const { config } = context;
  const logger = ports.logger ?? silentLogger;
  const packagesDir = join(config.osDir, 'packages');
  const imagesDir = join(config.osDir, 'images');
  const archDir = join(config.outDir, config.arch);
  const recipeFiles = await yamlFiles(packagesDir);
  const texts = new Map<string, string>();
  const loaded = [];
  for (const name of recipeFiles) {
    const file = join(packagesDir, name);
    const text = await readFile(file, 'utf8');
    texts.set(file, text);
    const recipe = loadRecipe(file, text);
    const packages = [recipe.package, ...recipe.subpackages];
    loaded.push({
      file,
      text,
      name: recipe.package.name,
      fullVersion: recipe.fullVersion,
      provides: [...packages.map((pkg) => pkg.name), ...packages.flatMap((pkg) => pkg.dependencies?.provides ?? [])],
      needs: [...(recipe.environment.contents?.packages ?? []), ...packages.flatMap((pkg) => pkg.dependencies?.runtime ?? [])],
      rebuildWithDependencies: recipe.package.annotations?.['kiln.dev/factory-rebuild-with-dependencies'] === 'true',
    });
  }
  const graph = planBuildAll(loaded.map((recipe) => ({ file: recipe.file, name: recipe.name, fullVersion: recipe.fullVersion, provides: recipe.provides, needs: recipe.needs, ownHash: '' })), sha256);
  const recipes = [];
  for (const recipe of loaded) {
    recipes.push({
      name: recipe.name,
      file: recipe.file,
      textSha256: sha256(recipe.text),
      fullVersion: recipe.fullVersion,
      dependsOn: graph.dependsOn[recipe.name] ?? [],
      rebuildWithDependencies: recipe.rebuildWithDependencies,
      isBuilt: await pathExists(join(archDir, packageFileName(recipe.name, recipe.fullVersion))),
    });
  }

  // Updates: Debian's Sources for Debian-sourced recipes, the melange `update:` feed for the others.
  const warnings: string[] = [];
  const outcomes: FactoryUpdateOutcome[] = [];
  const updates: PlanUpdateInput[] = [];
  // Which recipes are Debian-sourced, read once and only when updates are looked for.
  const debianSources = new Map(ports.updates || ports.upstream ? loaded.map((recipe) => [recipe.name, recipeDebianSource(recipe.text, recipe.file)]) : []);
  if (ports.updates || ports.upstream) ports.onProgress?.({ phase: 'updates' });
  if (ports.updates) {
    const candidates = loaded.flatMap((recipe) => {
      const source = debianSources.get(recipe.name);
      return source ? [{ recipe: recipe.name, file: recipe.file, source }] : [];
    });
    const detected = await detectDebianUpdates(candidates, ports.updates, { logger });
    warnings.push(...detected.warnings);
    for (const outcome of detected.outcomes) {
      outcomes.push({ ...outcome, source: 'debian' });
      if (outcome.status !== 'update') continue;
      const text = rewriteRecipe(texts.get(outcome.update.file)!, outcome.update.file, outcome.update);
      updates.push({ ...outcome.update, source: 'debian', text, textSha256: sha256(text), fullVersion: `${outcome.update.toApk}-r${outcome.update.epoch}` });
    }
  }
  if (ports.upstream) {
    for (const recipe of loaded) {
      if (debianSources.get(recipe.name)) continue;
      const outcome = await detectMelangeUpdate({ name: recipe.name, file: recipe.file, text: recipe.text }, ports.upstream);
      if (!outcome) continue;
      if (outcome.status === 'refused') logger.warn({ recipe: recipe.name, code: outcome.code, reason: outcome.reason }, 'upstream update not usable');
      if (outcome.status !== 'update') {
        outcomes.push({ ...outcome, source: 'upstream' });
        continue;
      }
      const { text, ...reported } = outcome;
      outcomes.push({ ...reported, source: 'upstream' });
      const changes = [`${outcome.feed}: ${outcome.tag}`, ...outcome.sha256s.map((sha) => `expected-sha256 ${sha}`), ...(outcome.commit ? [`expected-commit ${outcome.commit}`] : [])];
      updates.push({ recipe: recipe.name, file: recipe.file, source: 'upstream', package: outcome.feed, from: outcome.from, to: outcome.to, fromApk: recipe.fullVersion, toApk: outcome.to, epoch: 0, cves: [], changes, text, textSha256: sha256(text), fullVersion: `${outcome.to}-r0` });
    }
  }

  const images = [];
  for (const name of await yamlFiles(imagesDir)) {
    const image = catalogImageName(name);
    if (!image) throw new FactoryError('FACTORY_CONFIG_INVALID', `${join(imagesDir, name)}: an image name must be lower-case letters, digits, '.', '_' or '-'`, { detail: { path: join(imagesDir, name) } });
    const file = join(imagesDir, name);
    images.push({ name: image, file, configSha256: sha256(await readFile(file)), publish: config.registry !== undefined && (config.images[image]?.publish ?? true) });
  }
  const index = join(archDir, 'APKINDEX.tar.gz');
  const indexSha256 = (await pathExists(index)) ? sha256(await readFile(index)) : '';
  ports.onProgress?.({ phase: 'plan' });
  const state = await ports.state.read();
  const knowledge = await ports.scanner?.knowledge?.();
  const plan = planFactoryRun({ runId: context.runId, date: utcDate(now), recipes, updates, images, indexSha256, ...(knowledge !== undefined ? { knowledge } : {}), state }, sha256);
  return { plan, updates: outcomes, warnings };
}

/** How the steps of a plan run: here one at a time (runFactoryStep), or as queue jobs that workers
 *  run, several at once (queueStepExecutor). */
export interface StepExecutor {
  /** Steps running at once; a step starts only once every step it waits for has finished. */
  concurrency: number;
  run(step: FactoryStep, context: FactoryStepContext, ports: FactoryPorts): Promise<StepOutcome>;
}

const IN_PROCESS: StepExecutor = { concurrency: 1, run: (step, context, ports) => runFactoryStep(step, context, ports) };

/** The guard's error, naming the steps that finished before the run stopped (their work is done
 *  and kept: builds and publications are keyed by their inputs). */
function stoppedAfter(error: unknown, outcomes: ReadonlyMap<string, StepOutcome>): unknown {
  if (!(error instanceof FactoryError)) return error;
  const finished = [...outcomes.values()].map((outcome) => ({ id: outcome.id, status: outcome.status }));
  const list = finished.length === 0 ? 'none' : finished.map((outcome) => `${outcome.id} ${outcome.status}`).join(', ');
  return new FactoryError(error.code, `${error.message}; steps finished before it stopped: ${list}`, { cause: error, detail: { ...error.detail, finished } });
}

/** Applies a plan: a step starts when the steps it waits for are done (in plan order, at most
 *  `executor.concurrency` at once); a step whose dependencies failed is skipped and says which.
 *  `stillHeld` runs before each step starts and before the run's index is recorded; when it throws,
 *  the steps already running finish and applyPlan throws its error. */
export async function applyPlan(plan: FactoryPlan, context: FactoryStepContext, ports: FactoryPorts, executor: StepExecutor = IN_PROCESS, stillHeld: () => Promise<void> = async () => {}): Promise<StepOutcome[]> {
  if (plan.baseline.length > 0) {
    await ports.state.update((state) => {
      for (const entry of plan.baseline) state.packages[entry.recipe] = { textSha256: entry.textSha256, fullVersion: entry.fullVersion };
    });
  }
  const outcomes = new Map<string, StepOutcome>();
  const pending = [...plan.steps];
  const running = new Map<string, Promise<void>>();
  let done = 0;
  const settle = (outcome: StepOutcome) => {
    outcomes.set(outcome.id, outcome);
    done++;
    ports.onProgress?.({ phase: 'step', step: outcome.id, status: outcome.status, done, total: plan.steps.length });
  };
  const failed = (id: string) => ['failed', 'skipped'].includes(outcomes.get(id)?.status ?? '');
  while (pending.length > 0 || running.size > 0) {
    const settledBefore = done;
    for (let i = 0; i < pending.length && running.size < executor.concurrency; ) {
      const step = pending[i]!;
      const blockedBy = step.dependsOn.filter(failed);
      // A dependency the plan does not hold can never finish: the step cannot run either.
      const unknown = step.dependsOn.filter((id) => !plan.steps.some((other) => other.id === id));
      if (blockedBy.length > 0 || unknown.length > 0) {
        pending.splice(i, 1);
        settle({ id: step.id, kind: step.kind, status: 'skipped', blockedBy: [...blockedBy, ...unknown], durationMs: 0 });
        continue;
      }
      if (!step.dependsOn.every((id) => outcomes.has(id))) {
        i++;
        continue;
      }
      // A run that lost the state (taken over after its host slept past the expiry) starts nothing
      // more: what runs finishes, then the run stops with the guard's error.
      await stillHeld().catch(async (error: unknown) => {
        await Promise.allSettled(running.values());
        throw stoppedAfter(error, outcomes);
      });
      pending.splice(i, 1);
      ports.onProgress?.({ phase: 'step', step: step.id, status: 'running', done, total: plan.steps.length });
      const started = executor.run(step, context, ports).then((outcome) => {
        running.delete(step.id);
        settle(outcome);
      });
      // Handled from the start: a step that fails (its queue broken) while the loop awaits the guard
      // must not crash the process as an unhandled rejection; the race below still sees it.
      started.catch(() => undefined);
      running.set(step.id, started);
    }
    if (running.size > 0) await Promise.race(running.values());
    else if (done === settledBefore) {
      // Nothing runs and nothing could start: the rest wait on each other (a cycle). None can run.
      for (const step of pending.splice(0)) settle({ id: step.id, kind: step.kind, status: 'skipped', blockedBy: step.dependsOn.filter((id) => !outcomes.has(id)), durationMs: 0 });
    }
  }
  // The index the next run compares against: after this run's builds.
  const index = join(context.config.outDir, context.config.arch, 'APKINDEX.tar.gz');
  if (await pathExists(index)) {
    await stillHeld().catch((error: unknown) => {
      throw stoppedAfter(error, outcomes);
    });
    const indexSha256 = sha256(await readFile(index));
    const failedImage = [...outcomes.values()].some((outcome) => outcome.kind === 'image' && (outcome.status === 'failed' || outcome.status === 'skipped'));
    // With an image left behind, the next run must look at the images again.
    if (!failedImage) await ports.state.update((state) => void (state.indexSha256 = indexSha256));
  }
  return plan.steps.map((step) => outcomes.get(step.id)!);
}

/** Runs one step of a plan; never throws for a failure of the step itself (it is the outcome). A
 *  step whose work is already done (same recipe text, same digest) does nothing. */
export async function runFactoryStep(step: FactoryStep, context: FactoryStepContext, ports: FactoryPorts): Promise<StepOutcome> {
  const started = Date.now();
  const log = ports.stepLog?.(context.runId, step.id.replace(/:/g, '-')) ?? { write: () => {}, close: async () => {} };
  try {
    const result = step.kind === 'update-recipe' ? await updateRecipeStep(step, ports, log) : step.kind === 'build-package' ? await buildPackageStep(step, ports, log) : await imageStep(step, context, ports, log);
    log.write(`${step.id}: ${result.status}`);
    return { id: step.id, kind: step.kind, ...result, durationMs: Date.now() - started };
  } catch (error) {
    const code = isKilnError(error) ? error.code : 'FACTORY_BUILD_FAILED';
    const fallback: FactoryErrorCode = step.kind === 'update-recipe' ? 'FACTORY_UPDATE_FAILED' : 'FACTORY_BUILD_FAILED';
    const message = (error as Error).message;
    log.write(`${step.id}: failed: ${message}`);
    (ports.logger ?? silentLogger).warn({ step: step.id, code, error: message }, 'factory step failed');
    return { id: step.id, kind: step.kind, status: 'failed', error: { code: code.startsWith('FACTORY_') ? code : `${fallback}/${code}`, message }, durationMs: Date.now() - started };
  } finally {
    await log.close();
  }
}

type StepResult = Pick<StepOutcome, 'status' | 'detail'>;

async function updateRecipeStep(step: Extract<FactoryStep, { kind: 'update-recipe' }>, ports: FactoryPorts, log: StepLog): Promise<StepResult> {
  const current = await readFile(step.file, 'utf8');
  if (sha256(current) === step.update.textSha256) return { status: 'up-to-date' };
  await writeFileAtomic(step.file, step.update.text);
  log.write(`${step.file}: ${step.update.package} ${step.update.from} -> ${step.update.to}`);
  const { update } = step;
  const message =
    update.source === 'debian'
      ? [
          `${step.recipe}: ${update.from} -> ${update.to} (Debian)`,
          '',
          `Debian published ${update.package} ${update.to}${update.cves.length ? `, fixing ${update.cves.join(', ')}` : ''}.`,
          `The recipe now pins its .dsc and tarballs by sha256 and builds ${step.recipe} ${update.fullVersion}.`,
          ...(update.changes.length ? ['', 'Changelog:', ...update.changes.slice(0, 20).map((line) => `  ${line}`)] : []),
        ].join('\n')
      : [
          `${step.recipe}: ${update.from} -> ${update.to} (upstream)`,
          '',
          `${update.package} has ${update.to}; the recipe now builds ${step.recipe} ${update.fullVersion} with its sources pinned anew.`,
          '',
          ...update.changes.map((line) => `  ${line}`),
        ].join('\n');
  const committed = ports.committer ? await ports.committer.commit(step.file, step.update.text, `${message}\n`) : undefined;
  if (committed) log.write(`committed ${committed.commit} on ${committed.branch}`);
  return { status: 'done', detail: { from: update.from, to: update.to, cves: update.cves, ...(committed ? { commit: committed.commit, branch: committed.branch } : {}) } };
}

async function buildPackageStep(step: Extract<FactoryStep, { kind: 'build-package' }>, ports: FactoryPorts, log: StepLog): Promise<StepResult> {
  const state = await ports.state.read();
  const text = await readFile(step.file, 'utf8');
  if (state.packages[step.recipe]?.textSha256 === sha256(text) && state.packages[step.recipe]?.textSha256 === step.textSha256) return { status: 'up-to-date' };
  const built = await ports.packages.build({ recipe: step.recipe, file: step.file }, (line) => log.write(line));
  await ports.state.update((next) => void (next.packages[step.recipe] = { textSha256: sha256(text), fullVersion: built.fullVersion }));
  return { status: 'built', detail: { fullVersion: built.fullVersion, packages: built.packages } };
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

async function imageStep(step: Extract<FactoryStep, { kind: 'image' }>, context: FactoryStepContext, ports: FactoryPorts, log: StepLog): Promise<StepResult> {
  const { config } = context;
  const now = ports.now ?? (() => new Date());
  const state = await ports.state.read();
  const previous: ImageState | undefined = state.images[step.image];
  const locked = await ports.images.lock({ image: step.image, file: step.file });
  const lock = locked.map(lockLine).sort();
  const isPublished = !step.publish || previous?.digest !== undefined;
  const rescan = step.triggers.includes('advisories');
  if (previous && previous.configSha256 === step.configSha256 && previous.lock.join('\n') === lock.join('\n') && isPublished && !rescan) return { status: 'up-to-date' };

  const startedOn = now();
  const built = await ports.images.build({ image: step.image, file: step.file }, (line) => log.write(line));
  const digest = built.result.index.index.digest;
  log.write(`${step.image}: built ${digest}`);
  const packages: HistoryPackage[] = built.installed.map((pkg) => ({ name: pkg.name, version: pkg.version })).sort(byName);
  const origins = [...new Set(built.installed.map((pkg) => pkg.origin))].sort();
  const base: Omit<ImageState, 'digest' | 'cves' | 'tags'> = { configSha256: step.configSha256, lock: built.installed.map(lockLine).sort(), origins, packages, builtDigest: digest };
  if (previous?.digest === digest && rescan && ports.scanner && step.publish && ports.publisher?.attestScan && config.registry) {
    return reattestStep(step, context, ports, log, { previous, base, built: built.result, now });
  }
  if (previous?.digest === digest || (!step.publish && previous?.builtDigest === digest)) {
    // Reproducible: the same inputs gave the same digest; nothing to publish.
    await ports.state.update((next) => void (next.images[step.image] = { ...previous, ...base }));
    return { status: 'unchanged', detail: { digest } };
  }
  const scan = ports.scanner ? await ports.scanner.scan({ image: step.image, result: built.result }) : undefined;
  const scanned = scanState(scan);
  if (!step.publish || !ports.publisher || !config.registry) {
    await ports.state.update((next) => void (next.images[step.image] = { ...base, cves: scan?.ids ?? [], ...scanned, tags: [], ...(previous?.digest ? { digest: previous.digest } : {}) }));
    return { status: 'built', detail: { digest } };
  }
  const main = mainPackageOf({ name: step.image, ...(config.images[step.image]?.mainPackage ? { configured: config.images[step.image]!.mainPackage! } : {}), listed: built.listed, installed: packages });
  if (!main) throw new FactoryError('FACTORY_BUILD_FAILED', `image ${step.image}: no package to take its version from (set images.${step.image}.main-package in ${config.file})`, { detail: { image: step.image } });
  const { host, namespace } = registryParts(config.registry);
  const tags = imageTags({ name: step.image, namespace, fullVersion: main.version, date: step.date });
  const published = await ports.publisher.publish({
    image: step.image,
    registry: host,
    tags,
    result: built.result,
    config: { path: step.file, bytes: built.configBytes, ...(built.configChecksum ? { checksum: built.configChecksum } : {}) },
    ...(built.reproducible ? { reproducible: built.reproducible } : {}),
    kilnVersion: context.kilnVersion,
    ...(scan ? { scan: { vuln: scan.vuln, openvex: scan.openvex } } : {}),
    startedOn,
    now: now(),
  });
  log.write(`${step.image}: published ${published.repository}@${published.digest} as ${published.tags.join(', ')}${published.keptDatedTag ? ` (dated tag ${published.keptDatedTag} kept)` : ''}`);

  // History: why, the package diff and the CVE diff against the previous digest.
  const packageDiff = diffPackages(previous?.packages ?? [], packages);
  const reasons: HistoryReason[] = [];
  if (!previous?.digest) reasons.push({ kind: 'first-build' });
  else {
    for (const upgrade of packageDiff.upgraded) reasons.push({ kind: 'package-version', package: upgrade.name, from: upgrade.from, to: upgrade.to });
    for (const added of packageDiff.added) reasons.push({ kind: 'package-version', package: added.name, to: added.version });
    for (const id of [...new Set(step.updates.flatMap((update) => update.cves))].sort()) reasons.push({ kind: 'advisory', id });
    if (previous.configSha256 !== step.configSha256) reasons.push({ kind: 'config', detail: `${step.file} changed` });
    if (reasons.length === 0) reasons.push({ kind: 'config', detail: 'rebuilt with the same packages; the image changed' });
  }
  const open: SeverityCounts = scan?.open ?? { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  const entry: ImageHistoryEntry = {
    image: `${namespace ? `${namespace}/` : ''}${step.image}`,
    digest,
    ...(previous?.digest ? { previousDigest: previous.digest } : {}),
    tags: published.tags,
    publishedAt: now().toISOString(),
    runId: context.runId,
    reasons,
    packages: packageDiff,
    cves: diffCves(previous?.cves ?? [], scan?.ids ?? [], open),
    ...(`${namespace ? `${namespace}/` : ''}${step.image}` !== tags.repository ? { repository: tags.repository } : {}),
  };
  await ports.history.append(entry);
  await ports.state.update((next) => void (next.images[step.image] = { ...base, digest, cves: scan?.ids ?? [], ...scanned, tags: published.tags, repository: published.repository }));
  return { status: 'published', detail: { image: step.image, digest, repository: published.repository, tags: published.tags } };
}

/** `registry` of factory.yaml (`HOST[/NAMESPACE]`) as the registry host and the images' namespace. */
function registryParts(registry: string): { host: string; namespace: string } {
  const slash = registry.indexOf('/');
  return slash < 0 ? { host: registry, namespace: '' } : { host: registry.slice(0, slash), namespace: registry.slice(slash + 1) };
}

/** The state fields a scan sets. */
function scanState(scan: ImageScan | undefined): Pick<ImageState, 'scannedWith' | 'statuses'> {
  return { ...(scan?.knowledge !== undefined ? { scannedWith: scan.knowledge } : {}), ...(scan?.statuses ? { statuses: scan.statuses } : {}) };
}

/** A published image whose digest did not change, scanned again because the vulnerability knowledge
 *  did: when the open vulnerabilities or the OpenVEX statuses differ from the last scan, a new scan
 *  result and OpenVEX are attested to the same digest and the history records which vulnerabilities
 *  changed; otherwise only the state notes the scan. */
async function reattestStep(
  step: Extract<FactoryStep, { kind: 'image' }>,
  context: FactoryStepContext,
  ports: FactoryPorts,
  log: StepLog,
  found: { previous: ImageState; base: Omit<ImageState, 'digest' | 'cves' | 'tags'>; built: BuildImageResult; now: () => Date },
): Promise<StepResult> {
  const { previous, base } = found;
  const digest = previous.digest!;
  const scan = await ports.scanner!.scan({ image: step.image, result: found.built });
  // A state written before verdicts were kept has none to compare: only the open set counts then.
  const statuses = scan.statuses ?? {};
  const before = previous.statuses ?? statuses;
  const changed = [...new Set([...Object.keys(statuses), ...Object.keys(before), ...scan.ids, ...previous.cves])].filter((id) => statuses[id] !== before[id] || scan.ids.includes(id) !== previous.cves.includes(id)).sort();
  const next: ImageState = { ...previous, ...base, digest, cves: scan.ids, ...scanState(scan) };
  if (changed.length === 0) {
    await ports.state.update((state) => void (state.images[step.image] = next));
    log.write(`${step.image}: scanned again with new vulnerability knowledge; nothing it says changed`);
    return { status: 'unchanged', detail: { digest } };
  }
  const { host, namespace } = registryParts(context.config.registry!);
  const repository = imageRepository(step.image, namespace);
  const { attestations } = await ports.publisher!.attestScan!({ image: step.image, registry: host, repository, digest, scan: { vuln: scan.vuln, openvex: scan.openvex }, now: found.now() });
  log.write(attestations > 0 ? `${step.image}: attested a new scan result and OpenVEX to ${digest} (${changed.join(', ')})` : `${step.image}: scanned ${digest} again (${changed.join(', ')}); publishing is unsigned, so nothing was attested`);
  const entry: ImageHistoryEntry = {
    image: `${namespace ? `${namespace}/` : ''}${step.image}`,
    digest,
    previousDigest: digest,
    tags: previous.tags,
    publishedAt: found.now().toISOString(),
    runId: context.runId,
    reasons: changed.map((id) => ({ kind: 'advisory', id })),
    packages: diffPackages(previous.packages, previous.packages),
    cves: diffCves(previous.cves, scan.ids, scan.open),
    ...(`${namespace ? `${namespace}/` : ''}${step.image}` !== repository ? { repository } : {}),
    reattested: true,
    attestations,
  };
  await ports.history.append(entry);
  await ports.state.update((state) => void (state.images[step.image] = next));
  return { status: 'reattested', detail: { image: step.image, digest, repository: `${host}/${repository}`, vulnerabilities: changed, attestations } };
}
