import { createHash } from 'node:crypto';
import { access, readFile, readdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { hashFile, readInputText, silentLogger, writeFileAtomic } from '../lib/index.ts';
import { archInfo, hostArchName } from '../apk/index.ts';
import { planBuildAll } from './build-all-plan.ts';
import type { BuildAllPlan, PlanRecipe } from './build-all-plan.ts';
import { BUILDER_VERSION, buildRecipe, INDEX_FILE, provenanceFileName } from './build-service.ts';
import type { BuildPorts, BuildRequest, BuildResult } from './build-service.ts';
import { BuildError } from './errors.ts';
import { builtinPipelineDir, createPipelineLibrary } from './pipeline-library.ts';
import type { PackagePublisher } from './publisher.ts';
import { isRecipeDocument, loadRecipe } from './recipe/load.ts';
import type { Recipe } from './recipe/load.ts';
import type { Step } from './recipe/schema.ts';
import { YamlSource } from './recipe/yaml-source.ts';

/** Raised when the same inputs start to give different package bytes (2: a package names its
 *  recipe's own last commit, not the checkout's HEAD; 3: the embedded SBOM names origins,
 *  per-arch namespaces and valid license expressions), so cached builds are redone once. */
const PACKAGE_OUTPUT_REVISION = 3;

/** What to build: every recipe (`*.yaml`) directly in `dir`. */
export interface BuildAllRequest extends Omit<BuildRequest, 'recipeFile' | 'sourceDir' | 'inputHash'> {
  dir: string;
  /** Parallel builds (default: number of cores). */
  jobs?: number;
  /** Plan and report only. */
  dryRun?: boolean;
  /** Called as each recipe finishes (built, up to date, failed or blocked). */
  onOutcome?: (outcome: BuildAllOutcome) => void;
}

/** Outcome per recipe. */
export interface BuildAllOutcome {
  name: string;
  file: string;
  /** `invalid`: the recipe did not load (the error names file, line and field); `skipped`: a YAML
   *  file that is not a recipe (no `package:` mapping), with a note. Neither is in the plan. */
  status: 'built' | 'up-to-date' | 'failed' | 'blocked' | 'planned' | 'invalid' | 'skipped';
  /** Why a file was skipped. */
  note?: string;
  inputHash: string;
  error?: string;
  /** Recipes it waited for that failed. */
  blockedBy?: string[];
  result?: BuildResult;
}

/** Result of a build-all run. */
export interface BuildAllResult {
  plan: BuildAllPlan;
  outcomes: BuildAllOutcome[];
  durationMs: number;
}

interface Loaded {
  file: string;
  name: string;
  fullVersion: string;
  sourceDir: string | null;
}

/** What planning keeps of a parsed recipe, keyed by its file (`notRecipe` for YAML that is no recipe). */
interface CachedRecipe {
  textHash: string;
  notRecipe?: true;
  /** `uses:` names of the recipe's own steps (build and test); their definitions are hashed per run. */
  uses?: string[];
  name: string;
  fullVersion: string;
  provides: string[];
  needs: string[];
}

async function readCache(file: string): Promise<Record<string, CachedRecipe>> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, CachedRecipe>) : {};
  } catch {
    return {};
  }
}

async function writeCache(file: string, cache: Record<string, CachedRecipe>): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(cache)}\n`);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Builds every recipe of a directory in dependency order, in parallel, skipping recipes whose
 *  inputs (recipe, its source directory `<dir>/<name>/`, pipelines, options and the inputs of what it
 *  depends on) are unchanged since their last successful build. */
export async function buildAll(request: BuildAllRequest, ports: BuildPorts, build: typeof buildRecipe = buildRecipe): Promise<BuildAllResult> {
  const started = Date.now();
  const logger = ports.logger ?? silentLogger;
  const dir = resolve(request.dir);
  const arch = archInfo(request.arch ? request.arch : hostArchName(process.arch));
  const files = (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).sort().map((name) => join(dir, name));
  if (files.length === 0) throw new BuildError('RECIPE_NOT_FOUND', `${dir}: no *.yaml recipes found`, { detail: { dir } });
  // A recipe's input hash covers the pipeline definitions it uses (transitively), not every file of
  // the pipeline directories: adding a pipeline, or changing one a recipe does not use, rebuilds nothing.
  const pipelineDigest = createPipelineDigest(request.pipelineDirs ?? []);
  const options = JSON.stringify({ output: PACKAGE_OUTPUT_REVISION, arch: arch.apk, vars: request.varsOverride ?? {}, buildOptions: request.buildOptions ?? [], kiln: BUILDER_VERSION, sde: request.sourceDateEpoch ?? 0, namespace: request.namespace ?? 'unknown', env: request.environment ?? {} });

  // Parsed recipe facts are cached by recipe text (and options), so an all-up-to-date run does not
  // parse and validate every recipe again.
  const archDir = join(resolve(request.outDir), arch.apk);
  const cacheFile = join(archDir, '.kiln-build-all-cache.json');
  const cache = await readCache(cacheFile);
  const nextCache: Record<string, CachedRecipe> = {};
  const loaded = new Map<string, Loaded>();
  const planRecipes: PlanRecipe[] = [];
  // Files that are not recipes are skipped with a note, and a recipe that does not load is reported
  // with its error while the others are planned and built: one bad file does not stop the run.
  const unplanned: BuildAllOutcome[] = [];
  for (const file of files) {
    const text = await readInputText(file, { what: 'recipe' });
    const textHash = sha256(`${options}\n${text}`);
    let facts = cache[file]?.textHash === textHash && (cache[file]?.notRecipe || cache[file]?.uses) ? cache[file] : undefined;
    if (!facts) {
      try {
        if (!isRecipeDocument(YamlSource.parse(file, text).value)) facts = { textHash, notRecipe: true, name: '', fullVersion: '', provides: [], needs: [] };
        else {
          const recipe = loadRecipe(file, text, {
            ...(request.buildOptions ? { buildOptions: request.buildOptions } : {}),
            ...(request.varsOverride ? { varsOverride: request.varsOverride } : {}),
          });
          const packages = [recipe.package, ...recipe.subpackages];
          facts = {
            textHash,
            uses: recipeUses(recipe),
            name: recipe.package.name,
            fullVersion: recipe.fullVersion,
            provides: [...packages.map((pkg) => pkg.name), ...packages.flatMap((pkg) => pkg.dependencies?.provides ?? [])],
            needs: [...(recipe.environment.contents?.packages ?? []), ...packages.flatMap((pkg) => pkg.dependencies?.runtime ?? [])],
          };
        }
      } catch (error) {
        if (!(error instanceof BuildError)) throw error;
        unplanned.push({ name: basename(file).replace(/\.ya?ml$/i, ''), file, status: 'invalid', inputHash: '', error: error.message });
        continue;
      }
    }
    nextCache[file] = facts;
    if (facts.notRecipe) {
      unplanned.push({ name: basename(file), file, status: 'skipped', inputHash: '', note: 'not a recipe (no package: mapping)' });
      continue;
    }
    if (loaded.has(facts.name)) {
      unplanned.push({ name: facts.name, file, status: 'invalid', inputHash: '', error: `${file}: package ${facts.name} is also defined by ${loaded.get(facts.name)!.file}` });
      continue;
    }
    const sourceDir = join(dir, facts.name);
    const hasSource = await isDirectory(sourceDir);
    const ownHash = sha256([options, await pipelineDigest(facts.uses ?? []), text, hasSource ? await digestDirectories([sourceDir]) : ''].join('\n'));
    loaded.set(facts.name, { file, name: facts.name, fullVersion: facts.fullVersion, sourceDir: hasSource ? sourceDir : null });
    planRecipes.push({ file, name: facts.name, fullVersion: facts.fullVersion, provides: facts.provides, needs: facts.needs, ownHash });
  }
  for (const outcome of unplanned) request.onOutcome?.(outcome);
  const plan = planBuildAll(planRecipes, sha256);
  if (!request.dryRun) await writeCache(cacheFile, nextCache);

  const outcomes = new Map<string, BuildAllOutcome>();
  for (const name of plan.order) {
    const item = loaded.get(name)!;
    const upToDate = await isUpToDate(archDir, item.name, item.fullVersion, plan.inputHash[name]!);
    outcomes.set(name, { name, file: item.file, status: request.dryRun ? (upToDate ? 'up-to-date' : 'planned') : upToDate ? 'up-to-date' : 'planned', inputHash: plan.inputHash[name]! });
  }
  if (request.dryRun) return { plan, outcomes: [...plan.order.map((name) => outcomes.get(name)!), ...unplanned], durationMs: Date.now() - started };
  // Once for the run, not as the same failure of every recipe; only when something will be built.
  if ((request.generateIndex ?? true) && plan.order.some((name) => outcomes.get(name)!.status === 'planned')) {
    await ports.publisher.checkIndex(join(archDir, INDEX_FILE));
  }

  // Index updates of parallel builds go one at a time.
  let indexQueue: Promise<void> = Promise.resolve();
  const publisher: PackagePublisher = {
    checkIndex: (indexFile) => ports.publisher.checkIndex(indexFile),
    writePackage: (...args) => ports.publisher.writePackage(...args),
    updateIndex: (indexFile, packageFiles) => {
      const next = indexQueue.then(() => ports.publisher.updateIndex(indexFile, packageFiles));
      indexQueue = next.catch(() => {});
      return next;
    },
  };

  const jobs = Math.max(1, request.jobs ?? cpus().length);
  const finished = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const pending = plan.order.filter((name) => outcomes.get(name)!.status === 'planned');
  for (const name of plan.order) if (outcomes.get(name)!.status === 'up-to-date') finished.add(name);

  const runOne = async (name: string): Promise<void> => {
    const item = loaded.get(name)!;
    const outcome = outcomes.get(name)!;
    logger.info({ recipe: name }, 'build-all building');
    try {
      const { dir: _dir, jobs: _jobs, dryRun: _dryRun, onOutcome: _onOutcome, ...rest } = request;
      outcome.result = await build(
        { ...rest, recipeFile: item.file, sourceDir: item.sourceDir, inputHash: outcome.inputHash, arch: arch.apk },
        { ...ports, publisher, ...(ports.onLog ? { onLog: (line) => ports.onLog!({ ...line, step: `${name}: ${line.step}` }) } : {}) },
      );
      outcome.status = 'built';
    } catch (error) {
      outcome.status = 'failed';
      outcome.error = error instanceof Error ? error.message : String(error);
    }
  };

  while (pending.length > 0 || running.size > 0) {
    // Block recipes whose dependencies failed or were blocked.
    for (let index = 0; index < pending.length; index++) {
      const name = pending[index]!;
      const bad = plan.dependsOn[name]!.filter((dep) => ['failed', 'blocked'].includes(outcomes.get(dep)!.status));
      if (bad.length > 0) {
        Object.assign(outcomes.get(name)!, { status: 'blocked', blockedBy: bad });
        request.onOutcome?.(outcomes.get(name)!);
        finished.add(name);
        pending.splice(index--, 1);
      }
    }
    let started = false;
    for (let index = 0; index < pending.length && running.size < jobs; index++) {
      const name = pending[index]!;
      if (!plan.dependsOn[name]!.every((dep) => finished.has(dep))) continue;
      pending.splice(index--, 1);
      started = true;
      running.set(
        name,
        runOne(name).finally(() => {
          running.delete(name);
          finished.add(name);
          request.onOutcome?.(outcomes.get(name)!);
        }),
      );
    }
    if (running.size > 0) await Promise.race(running.values());
    else if (!started && pending.length > 0) break;
  }
  return { plan, outcomes: [...plan.order.map((name) => outcomes.get(name)!), ...unplanned], durationMs: Date.now() - started };
}

/** `uses:` names anywhere in a loaded recipe: main and subpackage pipelines and test pipelines. */
function recipeUses(recipe: Recipe): string[] {
  const names = new Set<string>();
  const visit = (steps: readonly Step[] | undefined): void => {
    for (const step of steps ?? []) {
      if (step.uses !== undefined) names.add(step.uses);
      visit(step.pipeline);
    }
  };
  visit(recipe.pipeline);
  visit(recipe.test?.pipeline);
  for (const sub of recipe.subpackages) {
    visit(sub.pipeline);
    visit(sub.test?.pipeline);
  }
  return [...names].sort();
}

/** Digest of the pipeline definitions a recipe uses, followed through nested `uses:` in the order the
 *  library resolves them (user directories first): for each, its name, where it came from (built in,
 *  or the index of the user directory) and the SHA-256 of its text. Definitions are read once per run. */
function createPipelineDigest(userDirs: readonly string[]): (uses: readonly string[]) => Promise<string> {
  const library = createPipelineLibrary(userDirs);
  const builtin = builtinPipelineDir();
  const lines = new Map<string, Promise<{ line: string; nested: string[] }>>();
  const describe = (name: string): Promise<{ line: string; nested: string[] }> => {
    let entry = lines.get(name);
    if (!entry) {
      entry = library.resolve(name, 'build-all').then(
        (resolved) => {
          const origin = resolved.file === join(builtin, `${name}.yaml`) ? 'builtin' : `dir${userDirs.findIndex((dir) => resolved.file === join(dir, `${name}.yaml`))}`;
          const nested = new Set<string>();
          const visit = (steps: readonly Step[] | undefined): void => {
            for (const step of steps ?? []) {
              if (step.uses !== undefined) nested.add(step.uses);
              visit(step.pipeline);
            }
          };
          visit(resolved.definition.pipeline);
          return { line: `${name}\t${origin}\t${sha256(resolved.source.text)}`, nested: [...nested] };
        },
        // A missing or malformed definition fails the build itself; here it only marks the hash.
        (error: unknown) => ({ line: `${name}\tunresolved\t${error instanceof BuildError ? error.code : 'error'}`, nested: [] }),
      );
      lines.set(name, entry);
    }
    return entry;
  };
  return async (uses) => {
    const seen = new Set<string>();
    const out: string[] = [];
    const queue = [...uses];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const { line, nested } = await describe(name);
      out.push(line);
      queue.push(...nested);
    }
    return sha256(out.sort().join('\n'));
  };
}

async function isUpToDate(archDir: string, name: string, fullVersion: string, inputHash: string): Promise<boolean> {
  let statement: { subject?: { name: string }[]; predicate?: { buildDefinition?: { internalParameters?: { inputHash?: string } } } };
  try {
    statement = JSON.parse(await readFile(join(archDir, provenanceFileName(name, fullVersion)), 'utf8')) as typeof statement;
  } catch {
    return false;
  }
  if (statement.predicate?.buildDefinition?.internalParameters?.inputHash !== inputHash) return false;
  for (const subject of statement.subject ?? []) {
    try {
      await access(join(archDir, subject.name));
    } catch {
      return false;
    }
  }
  return (statement.subject ?? []).length > 0;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Digest over every file (relative path and content hash) under the directories. */
async function digestDirectories(dirs: readonly string[]): Promise<string> {
  const lines: string[] = [];
  const visit = async (root: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(join(root, rel))).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await stat(join(root, path));
      if (info.isDirectory()) await visit(root, path);
      else if (info.isFile()) lines.push(`${root}:${path}:${(info.mode & 0o777).toString(8)}:${await hashFile(join(root, path))}`);
    }
  };
  for (const dir of dirs) await visit(dir, '');
  return sha256(lines.join('\n'));
}
