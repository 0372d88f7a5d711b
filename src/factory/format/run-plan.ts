// Pure: the plan of one factory run. Inputs are what the run found (recipes, verified updates, the
// images, the factory's state); the plan is plain JSON: steps keyed by the hash of their inputs, each
// naming the steps it waits for, so a step can run as a queue job and a retried step does nothing new.
import type { RecipeUpdate } from './debian-update.ts';
import type { FactoryState } from './state.ts';

/** One recipe as the run found it. */
export interface PlanRecipeInput {
  name: string;
  file: string;
  textSha256: string;
  fullVersion: string;
  /** Recipes it builds against (environment and runtime dependencies that other recipes provide). */
  dependsOn: string[];
  /** The recipe asks to be rebuilt when a recipe it depends on is (`kiln.dev/factory-rebuild-with-dependencies: "true"`). */
  rebuildWithDependencies: boolean;
  /** Its package is already in the repository at `fullVersion`. */
  isBuilt: boolean;
}

/** A verified update with the recipe text it becomes: Debian's fields (without the Debian pins, which
 *  are already in the text), for an upstream update `package` naming its feed and `cves` empty. */
export interface PlanUpdateInput extends Omit<RecipeUpdate, 'pins'> {
  /** Where the new version was found: Debian's Sources indexes, or the recipe's melange `update:` feed. */
  source: 'debian' | 'upstream';
  text: string;
  textSha256: string;
  fullVersion: string;
}

/** One catalog image as the run found it. */
export interface PlanImageInput {
  name: string;
  file: string;
  configSha256: string;
  publish: boolean;
}

/** Everything a plan is made from. */
export interface FactoryPlanInput {
  runId: string;
  /** `YYYYMMDD` (UTC) of the run: the dated tags. */
  date: string;
  recipes: PlanRecipeInput[];
  updates: PlanUpdateInput[];
  images: PlanImageInput[];
  /** sha256 of the repository index now; images are re-locked when it differs from the state's. */
  indexSha256: string;
  /** Identity of the vulnerability knowledge scans use now (feeds and contents, advisories among
   *  them); a published image last scanned with other knowledge is scanned again. */
  knowledge?: string;
  state: FactoryState;
}

/** Why a package is rebuilt. */
export type PackageBuildReason = { kind: 'update'; from: string; to: string } | { kind: 'recipe-changed' } | { kind: 'not-built' } | { kind: 'dependency'; of: string[] };

/** A step of the plan. `key` is the hash of its inputs; `id` is stable within a run. */
export type FactoryStep =
  | { kind: 'update-recipe'; id: string; key: string; dependsOn: string[]; recipe: string; file: string; update: PlanUpdateInput }
  | { kind: 'build-package'; id: string; key: string; dependsOn: string[]; recipe: string; file: string; textSha256: string; fullVersion: string; reasons: PackageBuildReason[] }
  | {
      kind: 'image';
      id: string;
      key: string;
      dependsOn: string[];
      image: string;
      file: string;
      configSha256: string;
      publish: boolean;
      date: string;
      /** Why the image is looked at again (the package and CVE diffs after the build say what changed). */
      triggers: ('first-build' | 'config' | 'packages' | 'index' | 'retry' | 'advisories')[];
      /** Updates of recipes whose packages the image held, for the history's reasons. */
      updates: { recipe: string; from: string; to: string; fromApk: string; toApk: string; cves: string[] }[];
    };

/** The plan of a run: recipes recorded as already built, then the steps in order. */
export interface FactoryPlan {
  runId: string;
  date: string;
  indexSha256: string;
  /** Recipes the state did not know whose packages are in the repository: recorded, not rebuilt. */
  baseline: { recipe: string; textSha256: string; fullVersion: string }[];
  steps: FactoryStep[];
}

/** Plans a run; `hash` is a hex digest function (sha256 in practice). */
export function planFactoryRun(input: FactoryPlanInput, hash: (text: string) => string): FactoryPlan {
  const steps: FactoryStep[] = [];
  const updates = new Map(input.updates.map((update) => [update.recipe, update]));
  const recipes = [...input.recipes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const baseline: FactoryPlan['baseline'] = [];
  const build = new Map<string, PackageBuildReason[]>();
  for (const recipe of recipes) {
    const update = updates.get(recipe.name);
    const known = input.state.packages[recipe.name];
    if (update) build.set(recipe.name, [{ kind: 'update', from: update.fromApk, to: update.fullVersion }]);
    else if (known && known.textSha256 !== recipe.textSha256) build.set(recipe.name, [{ kind: 'recipe-changed' }]);
    else if (!known && !recipe.isBuilt) build.set(recipe.name, [{ kind: 'not-built' }]);
    else if (!known) baseline.push({ recipe: recipe.name, textSha256: recipe.textSha256, fullVersion: recipe.fullVersion });
  }
  // Dependents that ask for it, transitively.
  let grew = true;
  while (grew) {
    grew = false;
    for (const recipe of recipes) {
      if (!recipe.rebuildWithDependencies || build.has(recipe.name)) continue;
      const changed = recipe.dependsOn.filter((dep) => build.has(dep));
      if (changed.length > 0) {
        build.set(recipe.name, [{ kind: 'dependency', of: changed }]);
        grew = true;
      }
    }
  }
  // Dependency order (dependencies first), deterministic by name.
  const byName = new Map(recipes.map((recipe) => [recipe.name, recipe]));
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (order.includes(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) if (build.has(dep)) visit(dep);
    order.push(name);
  };
  for (const name of [...build.keys()].sort()) visit(name);
  const stepKeys = new Map<string, string>();
  for (const name of order) {
    const recipe = byName.get(name)!;
    const update = updates.get(name);
    const dependsOn: string[] = [];
    if (update) {
      const key = hash(JSON.stringify({ kind: 'update-recipe', file: recipe.file, from: recipe.textSha256, to: update.textSha256 }));
      steps.push({ kind: 'update-recipe', id: `update:${name}`, key, dependsOn: [], recipe: name, file: recipe.file, update });
      dependsOn.push(`update:${name}`);
    }
    for (const dep of recipe.dependsOn) if (build.has(dep)) dependsOn.push(`package:${dep}`);
    const textSha256 = update?.textSha256 ?? recipe.textSha256;
    const key = hash(JSON.stringify({ kind: 'build-package', recipe: name, text: textSha256, deps: dependsOn.filter((id) => id.startsWith('package:')).map((id) => stepKeys.get(id)) }));
    stepKeys.set(`package:${name}`, key);
    steps.push({ kind: 'build-package', id: `package:${name}`, key, dependsOn, recipe: name, file: recipe.file, textSha256, fullVersion: update?.fullVersion ?? recipe.fullVersion, reasons: build.get(name)! });
  }
  const indexChanged = input.state.indexSha256 !== undefined && input.state.indexSha256 !== input.indexSha256;
  for (const image of [...input.images].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const previous = input.state.images[image.name];
    const triggers: Extract<FactoryStep, { kind: 'image' }>['triggers'] = [];
    let dependsOn: string[];
    if (!previous) {
      triggers.push('first-build');
      dependsOn = order.map((name) => `package:${name}`);
    } else {
      const held = new Set(previous.origins);
      dependsOn = order.filter((name) => held.has(name)).map((name) => `package:${name}`);
      if (previous.configSha256 !== image.configSha256) triggers.push('config');
      if (dependsOn.length > 0) triggers.push('packages');
      if (indexChanged) triggers.push('index');
      if (image.publish && !previous.digest) triggers.push('retry');
      // New advisories or feed contents can change what is open and what the OpenVEX says, not the digest.
      if (input.knowledge !== undefined && image.publish && previous.digest && previous.scannedWith !== input.knowledge) triggers.push('advisories');
      if (triggers.includes('config') || triggers.includes('index')) dependsOn = order.map((name) => `package:${name}`);
    }
    if (triggers.length === 0) continue;
    const held = new Set(previous?.origins ?? []);
    const imageUpdates = input.updates
      .filter((update) => held.has(update.recipe) || !previous)
      .map((update) => ({ recipe: update.recipe, from: update.from, to: update.to, fromApk: update.fromApk, toApk: update.fullVersion, cves: update.cves }));
    const key = hash(JSON.stringify({ kind: 'image', image: image.name, config: image.configSha256, deps: dependsOn.map((id) => stepKeys.get(id)), index: input.indexSha256, date: input.date, ...(triggers.includes('advisories') ? { knowledge: input.knowledge } : {}) }));
    steps.push({ kind: 'image', id: `image:${image.name}`, key, dependsOn, image: image.name, file: image.file, configSha256: image.configSha256, publish: image.publish, date: input.date, triggers, updates: imageUpdates });
  }
  return { runId: input.runId, date: input.date, indexSha256: input.indexSha256, baseline, steps };
}
