import { BuildError } from './errors.ts';

// Pure planning for `kiln pkg build-all`: which recipe needs which (build-time and runtime
// dependencies matched against package names, subpackage names and provides), cycle detection
// with a readable report, and the input hash that decides whether a recipe is up to date.

/** What planning needs to know about one recipe. */
export interface PlanRecipe {
  /** Recipe file (for messages). */
  file: string;
  /** Origin package name. */
  name: string;
  fullVersion: string;
  /** Names this recipe's packages provide: package, subpackages, explicit provides. */
  provides: readonly string[];
  /** Build-time (environment packages) and runtime dependencies of all its packages. */
  needs: readonly string[];
  /** Hash of the recipe's own inputs (recipe text, source files, pipelines, arch, options). */
  ownHash: string;
}

/** One edge: `from` needs `dependency`, which `to` provides. */
export interface PlanEdge {
  from: string;
  to: string;
  dependency: string;
}

/** The plan: recipes in dependency order, each with the recipes it waits for and its input hash. */
export interface BuildAllPlan {
  order: string[];
  dependsOn: Record<string, string[]>;
  edges: PlanEdge[];
  /** Hash of own inputs plus the input hashes of everything it depends on. */
  inputHash: Record<string, string>;
}

/** `name>=1.2` / `so:libz.so.1=1` / `!conflict` → the name part. */
export function dependencyName(dep: string): string {
  return dep.replace(/^!/, '').split(/[<>=~]/)[0]!.trim();
}

/** Plans a build-all run; a dependency cycle is DEPENDENCY_CYCLE listing the cycle and why. */
export function planBuildAll(recipes: readonly PlanRecipe[], hash: (text: string) => string): BuildAllPlan {
  const byName = new Map<string, PlanRecipe>();
  for (const recipe of recipes) {
    const other = byName.get(recipe.name);
    if (other) throw new BuildError('RECIPE_INVALID', `${recipe.file}: package ${recipe.name} is also built by ${other.file}`, { detail: { package: recipe.name } });
    byName.set(recipe.name, recipe);
  }
  const provider = new Map<string, string>();
  for (const recipe of recipes) for (const name of recipe.provides) if (!provider.has(dependencyName(name))) provider.set(dependencyName(name), recipe.name);
  // A recipe's own package name wins over someone else's provides of the same name.
  for (const recipe of recipes) provider.set(recipe.name, recipe.name);

  const edges: PlanEdge[] = [];
  const dependsOn: Record<string, string[]> = {};
  for (const recipe of recipes) {
    const targets = new Set<string>();
    for (const dep of recipe.needs) {
      if (dep.startsWith('!')) continue;
      const to = provider.get(dependencyName(dep));
      if (to === undefined || to === recipe.name) continue;
      if (!targets.has(to)) edges.push({ from: recipe.name, to, dependency: dep });
      targets.add(to);
    }
    dependsOn[recipe.name] = [...targets].sort();
  }

  const cycle = findCycle(recipes.map((recipe) => recipe.name), dependsOn);
  if (cycle) {
    const steps = cycle.slice(0, -1).map((from, index) => {
      const to = cycle[index + 1]!;
      const edge = edges.find((candidate) => candidate.from === from && candidate.to === to)!;
      return `${from} (${byName.get(from)!.file}) needs ${edge.dependency}, built by ${to}`;
    });
    throw new BuildError('DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')}\n  ${steps.join('\n  ')}`, { detail: { cycle } });
  }

  // Depth-first topological order (dependencies first), deterministic by name.
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    done.add(name);
    for (const dep of dependsOn[name]!) visit(dep);
    order.push(name);
  };
  for (const name of [...byName.keys()].sort()) visit(name);

  const inputHash: Record<string, string> = {};
  for (const name of order) {
    const own = byName.get(name)!.ownHash;
    inputHash[name] = hash([own, ...dependsOn[name]!.map((dep) => `${dep}=${inputHash[dep]!}`)].join('\n'));
  }
  return { order, dependsOn, edges, inputHash };
}

function findCycle(names: readonly string[], dependsOn: Readonly<Record<string, readonly string[]>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of dependsOn[name] ?? []) {
      if (state.get(dep) === 'visiting') return [...stack.slice(stack.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of [...names].sort()) {
    if (state.has(name)) continue;
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}
