import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KilnError, readInputText } from '../lib/index.ts';
import { archInfo } from '../apk/index.ts';
import type { ArchInfo } from '../apk/index.ts';
import { rejectUnsupported } from './build-service.ts';
import { BuildError } from './errors.ts';
import { compileRecipeForArch } from './check-recipe.ts';
import { createPipelineLibrary } from './pipeline-library.ts';
import type { PipelineLibrary } from './pipeline-library.ts';
import { isRecipeDocument, loadRecipe } from './recipe/load.ts';
import { YamlSource } from './recipe/yaml-source.ts';

/** What to check: every `*.yaml`/`*.yml` directly in `dir`, for each architecture. */
export interface RecipeDirCheckRequest {
  dir: string;
  /** apk or OCI architecture names (default x86_64 and aarch64, the architectures melange recipe
   *  trees such as Wolfi's build for); a recipe is compiled for those its target-architecture allows. */
  archs?: readonly string[];
  /** Extra pipeline directories, searched before `<dir>/pipelines` and the built-ins. */
  pipelineDirs?: readonly string[];
  /** Called as each file is done, for progress. */
  onFile?: (result: RecipeFileCheck) => void;
}

/** Where and why a recipe failed, from the builder's own error. */
export interface RecipeCheckError {
  code: string;
  message: string;
  /** Position of the fault (in the recipe, or in a pipeline definition it uses). */
  file: string;
  line?: number;
  column?: number;
  /** The field at fault (`package.dependencies.provider-priority`, an input, a variable, a pipeline). */
  field?: string;
  /** Architecture the failure happened for (absent when loading failed, which no arch changes). */
  arch?: string;
}

/** The outcome for one YAML file of the directory. */
export interface RecipeFileCheck {
  file: string;
  /** skipped: not a recipe (no `package:` mapping); failed: did not load, or did not compile for some arch. */
  status: 'compiled' | 'failed' | 'skipped';
  /** Why a file was skipped, or an arch not compiled (`target-architecture`). */
  note?: string;
  name?: string;
  /** Architectures it compiled for. */
  archs?: string[];
  errors?: RecipeCheckError[];
  /** Features a build refuses (RECIPE_UNSUPPORTED, with file:line:column) though the recipe compiles. */
  warnings?: string[];
}

/** Counts over the recipes of the directory (skipped files are not recipes and not counted). */
export interface RecipeDirSummary {
  files: number;
  skipped: number;
  recipes: number;
  loaded: number;
  compiled: number;
  failed: number;
  /** Compiled recipes that use a feature a build refuses (see each file's warnings). */
  unsupported: number;
}

/** `kiln pkg check` result. */
export interface RecipeDirCheck {
  dir: string;
  archs: string[];
  pipelineDirs: string[];
  summary: RecipeDirSummary;
  files: RecipeFileCheck[];
}

const YAML_FILE = /\.ya?ml$/i;
const DEFAULT_ARCHS = ['x86_64', 'aarch64'];

/** Splits a builder error (`file:line:column: message`) into where and why. */
export function describeCheckError(error: unknown, fallbackFile: string, arch?: string): RecipeCheckError {
  const code = error instanceof KilnError ? String(error.code) : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  const out: RecipeCheckError = { code, message, file: fallbackFile };
  const position = /^(.+?):(\d+):(\d+): /.exec(message);
  if (position) Object.assign(out, { file: position[1]!, line: Number(position[2]), column: Number(position[3]) });
  const detail = error instanceof KilnError ? (error.detail as Record<string, unknown> | undefined) : undefined;
  const field = fieldOf(detail);
  if (field) out.field = field;
  if (arch) out.arch = arch;
  return out;
}

function fieldOf(detail: Record<string, unknown> | undefined): string | undefined {
  if (!detail) return undefined;
  if (Array.isArray(detail.path) && detail.path.length > 0) {
    return detail.path.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${String(segment)}` : String(segment)), '');
  }
  if (typeof detail.field === 'string') return detail.field;
  if (typeof detail.input === 'string') return `with.${detail.input}${typeof detail.pipeline === 'string' ? ` (${detail.pipeline})` : ''}`;
  if (typeof detail.variable === 'string') return `\${{${detail.variable}}}`;
  if (typeof detail.pipeline === 'string') return `uses: ${detail.pipeline}`;
  if (typeof detail.feature === 'string') return detail.feature;
  if (typeof detail.range === 'string') return `range: ${detail.range}`;
  return undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Loads and compiles every recipe of a directory for each architecture, the way a build checks a
 * recipe before running anything (the build pipelines and the test pipelines), with the directory's
 * own `pipelines/` as a pipeline directory, as melange is run over such a tree. Every failure is
 * collected; nothing stops at the first.
 */
export async function checkRecipeDir(request: RecipeDirCheckRequest): Promise<RecipeDirCheck> {
  const dir = resolve(request.dir);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => YAML_FILE.test(name)).sort();
  } catch (error) {
    throw new BuildError('RECIPE_NOT_FOUND', `${dir}: not a readable directory of recipes`, { cause: error, detail: { dir } });
  }
  const archs: ArchInfo[] = (request.archs && request.archs.length > 0 ? request.archs : DEFAULT_ARCHS).map((name) => archInfo(name));
  const own = join(dir, 'pipelines');
  const pipelineDirs = [...(request.pipelineDirs ?? []).map((path) => resolve(path)), ...((await isDirectory(own)) ? [own] : [])];
  const library = createPipelineLibrary(pipelineDirs);
  const files: RecipeFileCheck[] = [];
  for (const name of names) {
    const result = await checkOne(join(dir, name), archs, library);
    files.push(result);
    request.onFile?.(result);
  }
  const recipes = files.filter((file) => file.status !== 'skipped');
  const loaded = recipes.filter((file) => file.name !== undefined).length;
  const summary: RecipeDirSummary = {
    files: files.length,
    skipped: files.length - recipes.length,
    recipes: recipes.length,
    loaded,
    compiled: recipes.filter((file) => file.status === 'compiled').length,
    failed: recipes.filter((file) => file.status === 'failed').length,
    unsupported: recipes.filter((file) => (file.warnings ?? []).length > 0).length,
  };
  return { dir, archs: archs.map((arch) => arch.apk), pipelineDirs, summary, files };
}

async function checkOne(file: string, archs: readonly ArchInfo[], library: PipelineLibrary): Promise<RecipeFileCheck> {
  let text: string;
  try {
    text = await readInputText(file, { what: 'recipe' });
  } catch (error) {
    return { file, status: 'failed', errors: [describeCheckError(error, file)] };
  }
  try {
    if (!isRecipeDocument(YamlSource.parse(file, text).value)) return { file, status: 'skipped', note: 'not a recipe (no package: mapping)' };
  } catch (error) {
    return { file, status: 'failed', errors: [describeCheckError(error, file)] };
  }
  let recipe;
  try {
    recipe = loadRecipe(file, text);
  } catch (error) {
    return { file, status: 'failed', errors: [describeCheckError(error, file)] };
  }
  // A feature the sandbox lacks (capabilities, setcap) does not stop loading or compiling; a build
  // refuses it, so it is reported beside the result.
  const warnings: string[] = [];
  try {
    rejectUnsupported(recipe);
  } catch (error) {
    if (!(error instanceof BuildError) || error.code !== 'RECIPE_UNSUPPORTED') throw error;
    warnings.push(error.message);
  }
  const targets = (recipe.package['target-architecture'] ?? []).filter((arch) => arch !== 'all');
  const errors: RecipeCheckError[] = [];
  const compiled: string[] = [];
  const notBuilt: string[] = [];
  for (const arch of archs) {
    if (targets.length > 0 && !targets.includes(arch.apk)) {
      notBuilt.push(arch.apk);
      continue;
    }
    try {
      await compileRecipeForArch(recipe, arch, library);
      compiled.push(arch.apk);
    } catch (error) {
      errors.push(describeCheckError(error, file, arch.apk));
    }
  }
  const out: RecipeFileCheck = { file, status: errors.length > 0 ? 'failed' : 'compiled', name: recipe.package.name, archs: compiled };
  if (notBuilt.length > 0) out.note = `not built for ${notBuilt.join(', ')} (target-architecture: ${targets.join(', ')})`;
  if (errors.length > 0) out.errors = errors;
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}
