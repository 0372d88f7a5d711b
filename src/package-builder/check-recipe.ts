import { resolve } from 'node:path';
import { readInputText } from '../lib/index.ts';
import { archInfo, hostArchName } from '../apk/index.ts';
import type { ArchInfo } from '../apk/index.ts';
import { rejectUnsupported } from './build-service.ts';
import { compileBuild, compileTest } from './compile.ts';
import type { CompiledStep } from './compile.ts';
import { BuildError } from './errors.ts';
import { createPipelineLibrary } from './pipeline-library.ts';
import type { PipelineLibrary } from './pipeline-library.ts';
import { loadRecipe } from './recipe/load.ts';
import type { Recipe } from './recipe/load.ts';

/** What to check: a recipe file and the choices a build of it would make. */
export interface RecipeCheckRequest {
  recipeFile: string;
  /** apk or OCI arch name; default the host's, or the recipe's first target-architecture when it
   *  does not build for the host. */
  arch?: string;
  pipelineDirs?: readonly string[];
  buildOptions?: readonly string[];
  varsOverride?: Readonly<Record<string, string>>;
}

/** A recipe that passed: it loads, validates and compiles (pipelines expanded, every variable
 *  defined, inputs checked) for `arch`, its build and its tests. */
export interface RecipeCheck {
  file: string;
  origin: string;
  version: string;
  arch: string;
  /** The main package and the subpackages whose `if:` holds on `arch`. */
  packages: string[];
  /** Build steps that would run (nested steps counted). */
  steps: number;
  /** Test steps of the main package and the subpackages. */
  testSteps: number;
}

/**
 * Checks a recipe the way a build would before running anything (load, validation, unsupported
 * features, pipeline compilation, then the test pipelines), without a sandbox or an environment.
 * Errors are the builder's own (RECIPE_INVALID, SUBSTITUTION_UNDEFINED, PIPELINE_NOT_FOUND …) with
 * file:line:column.
 */
export async function checkRecipe(request: RecipeCheckRequest): Promise<RecipeCheck> {
  const file = resolve(request.recipeFile);
  let text: string;
  try {
    text = await readInputText(file, { what: 'recipe' });
  } catch (error) {
    throw new BuildError('RECIPE_NOT_FOUND', (error as Error).message, { cause: error, detail: { file } });
  }
  const recipe = loadRecipe(file, text, {
    ...(request.buildOptions ? { buildOptions: request.buildOptions } : {}),
    ...(request.varsOverride ? { varsOverride: request.varsOverride } : {}),
  });
  rejectUnsupported(recipe);
  const targets = (recipe.package['target-architecture'] ?? []).filter((name) => name !== 'all');
  const host = archInfo(hostArchName(process.arch));
  const arch = request.arch ? archInfo(request.arch) : targets.length === 0 || targets.includes(host.apk) ? host : archInfo(targets[0]!);
  const library = createPipelineLibrary(request.pipelineDirs ?? []);
  return { file, ...(await compileRecipeForArch(recipe, arch, library)) };
}

/** Compiles a loaded recipe's build and test pipelines for one architecture (what a build does
 *  before running a step); errors are the builder's own, with file:line:column. */
export async function compileRecipeForArch(recipe: Recipe, arch: ArchInfo, library: PipelineLibrary): Promise<Omit<RecipeCheck, 'file'>> {
  const compiled = await compileBuild(recipe, { arch, library });
  let testSteps = 0;
  for (const pkg of compiled.packages) testSteps += countSteps((await compileTest(recipe, { arch, library }, pkg.name)).steps);
  return {
    origin: recipe.package.name,
    version: recipe.fullVersion,
    arch: arch.apk,
    packages: compiled.packages.map((pkg) => pkg.name),
    steps: compiled.packages.reduce((sum, pkg) => sum + countSteps(pkg.steps), 0),
    testSteps,
  };
}

function countSteps(steps: readonly CompiledStep[]): number {
  return steps.reduce((sum, step) => sum + 1 + countSteps(step.steps), 0);
}
