import { BuildError } from '../errors.ts';
import { compileGoRegexp, goReplaceAll } from './go-regexp.ts';
import { PACKAGE_NAME, recipeSchema } from './schema.ts';
import type { EnvironmentConfig, PackageMeta, RecipeDocument, Step, Subpackage, TestBlock } from './schema.ts';
import { mapStrings, substitutePartial } from './substitute.ts';
import { YamlSource } from './yaml-source.ts';
import type { YamlPath } from './yaml-source.ts';

const CONDITION_KEYS: ReadonlySet<string> = new Set(['if']);

/** A subpackage after range expansion, remembering where it was declared. */
export interface RecipeSubpackage extends Omit<Subpackage, 'range'> {
  /** YAML path of the declaring entry, for error positions. */
  path: YamlPath;
}

/** A recipe ready to compile: vars resolved, parse-time substitutions done, ranges expanded. */
export interface Recipe {
  source: YamlSource;
  package: PackageMeta & { epoch: number };
  /** `<version>-r<epoch>`. */
  fullVersion: string;
  environment: EnvironmentConfig;
  capabilities: RecipeDocument['capabilities'];
  pipeline: Step[];
  subpackages: RecipeSubpackage[];
  vars: ReadonlyMap<string, string>;
  /** Declared build options and whether each is enabled. */
  options: ReadonlyMap<string, boolean>;
  update: RecipeDocument['update'];
  test: TestBlock | undefined;
}

/** How to load: build options to enable and `--vars-file` overrides. */
export interface LoadRecipeOptions {
  buildOptions?: readonly string[];
  varsOverride?: Readonly<Record<string, string>>;
}

/** Whether a parsed YAML value is a recipe: a mapping with a `package:` mapping. Other YAML in a
 *  recipe directory (a formatter's configuration, CI files) is not one. */
export function isRecipeDocument(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const pkg = (value as Record<string, unknown>).package;
  return pkg !== null && typeof pkg === 'object' && !Array.isArray(pkg);
}

/** Parses and validates a recipe, resolving vars, var-transforms and ranges (melange's parse
 *  phase). Errors are RECIPE_INVALID with file:line:column. */
export function loadRecipe(file: string, text: string, options: LoadRecipeOptions = {}): Recipe {
  const source = YamlSource.parse(file, text);
  if (source.value === null || typeof source.value !== 'object' || Array.isArray(source.value)) {
    throw new BuildError('RECIPE_INVALID', `${file}:1:1: a recipe must be a YAML mapping with a package key`, { detail: { file } });
  }
  const document = source.validate(recipeSchema);
  const epoch = document.package.epoch ?? 0;
  const fullVersion = `${document.package.version}-r${epoch}`;

  // Build options: merge their vars and package edits; `options.<name>.enabled` for each.
  const enabled = new Set(options.buildOptions ?? []);
  const declaredOptions = document.options ?? {};
  for (const name of enabled) {
    if (!(name in declaredOptions)) throw new BuildError('RECIPE_INVALID', `${source.where(['options'])}: build option ${JSON.stringify(name)} is not declared`, { detail: { option: name } });
  }
  const vars = new Map<string, string>();
  for (const [key, value] of Object.entries(document.vars ?? {})) vars.set(key, value);
  let environment: EnvironmentConfig = document.environment ?? {};
  for (const [name, option] of Object.entries(declaredOptions)) {
    if (!enabled.has(name)) continue;
    for (const [key, value] of Object.entries(option.vars ?? {})) vars.set(key, value);
    const edit = option.environment?.contents?.packages;
    if (edit) {
      const packages = (environment.contents?.packages ?? []).filter((pkg) => !(edit.remove ?? []).includes(pkg));
      environment = { ...environment, contents: { ...environment.contents, packages: [...packages, ...(edit.add ?? [])] } };
    }
  }
  for (const [key, value] of Object.entries(options.varsOverride ?? {})) vars.set(key, value);

  const packageVariables = new Map<string, string>([
    ['package.name', document.package.name],
    ['package.version', document.package.version],
    ['package.epoch', String(epoch)],
    ['package.full-version', fullVersion],
    ['package.description', document.package.description ?? ''],
  ]);
  for (const [key, value] of vars) vars.set(key, substitutePartial(value, packageVariables));

  const known = new Map<string, string>(packageVariables);
  for (const [key, value] of vars) known.set(`vars.${key}`, value);
  document['var-transforms']?.forEach((transform, index) => {
    const where = source.where(['var-transforms', index, 'match']);
    const from = substitutePartial(transform.from, known);
    const value = goReplaceAll(from, compileGoRegexp(transform.match, where), transform.replace);
    vars.set(transform.to, value);
    known.set(`vars.${transform.to}`, value);
  });

  // `if:` expressions keep their variables for compile time, where they are substituted quoted.
  const sub = <T>(value: T): T => mapStrings(value, (text) => substitutePartial(text, known), CONDITION_KEYS);
  const pkg = checkPriorities(source, sub(document.package), ['package']);
  const subpackages = expandSubpackages(source, document, known).map((item) => checkPriorities(source, item, item.path));

  return {
    source,
    package: { ...pkg, epoch },
    fullVersion,
    environment: sub(environment),
    capabilities: document.capabilities,
    pipeline: sub(document.pipeline ?? []),
    subpackages,
    vars,
    options: new Map(Object.keys(declaredOptions).map((name) => [name, enabled.has(name)])),
    update: document.update,
    test: sub(document.test),
  };
}

const PRIORITIES = ['provider-priority', 'replaces-priority'] as const;

/** melange keeps priorities as strings and reads them as integers after substitution; a value
 *  that is still not an integer is RECIPE_INVALID at the field. */
function checkPriorities<T extends { dependencies?: PackageMeta['dependencies'] }>(source: YamlSource, meta: T, path: YamlPath): T {
  const dependencies = meta.dependencies;
  if (!dependencies) return meta;
  const out = { ...dependencies };
  for (const key of PRIORITIES) {
    const value = dependencies[key];
    if (value === undefined) continue;
    const trimmed = value.trim();
    if (!/^-?\d+$/.test(trimmed)) {
      throw new BuildError('RECIPE_INVALID', `${source.where([...path, 'dependencies', key])}: ${key} must be an integer after substitution, got ${JSON.stringify(value)}`, {
        detail: { file: source.file, field: key, value },
      });
    }
    out[key] = trimmed;
  }
  return { ...meta, dependencies: out };
}

function expandSubpackages(source: YamlSource, document: RecipeDocument, known: ReadonlyMap<string, string>): RecipeSubpackage[] {
  const out: RecipeSubpackage[] = [];
  const data = new Map((document.data ?? []).map((entry) => [entry.name, entry.items]));
  const names = new Set<string>([document.package.name]);
  (document.subpackages ?? []).forEach((declared, index) => {
    const path: YamlPath = ['subpackages', index];
    const { range, ...rest } = declared;
    let expanded: Omit<Subpackage, 'range'>[];
    // `range: ""` is no range, as in melange.
    if (range === undefined || range === '') expanded = [rest];
    else {
      const items = data.get(range);
      if (!items) throw new BuildError('RECIPE_INVALID', `${source.where([...path, 'range'])}: undefined range ${JSON.stringify(range)} (no data entry with that name)`, { detail: { range } });
      expanded = Object.keys(items)
        .sort()
        .map((key) => mapStrings(rest, (text) => substitutePartial(text, new Map([['range.key', key], ['range.value', items[key]!]]))));
    }
    for (const item of expanded) {
      const resolved = mapStrings(item, (text) => substitutePartial(text, known), CONDITION_KEYS);
      if (!PACKAGE_NAME.test(resolved.name)) {
        throw new BuildError('RECIPE_INVALID', `${source.where([...path, 'name'])}: subpackage name ${JSON.stringify(resolved.name)} must match ^[a-zA-Z\\d][a-zA-Z\\d+_.-]*$`, { detail: { name: resolved.name } });
      }
      if (names.has(resolved.name)) {
        throw new BuildError('RECIPE_INVALID', `${source.where([...path, 'name'])}: package name ${JSON.stringify(resolved.name)} is used twice`, { detail: { name: resolved.name } });
      }
      names.add(resolved.name);
      out.push({ ...resolved, path });
    }
  });
  return out;
}
