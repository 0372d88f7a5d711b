import { posix } from 'node:path';
import type { ArchInfo } from '../apk/index.ts';
import { BuildError } from './errors.ts';
import type { PipelineLibrary } from './pipeline-library.ts';
import { evaluateCondition } from './recipe/condition.ts';
import type { Recipe, RecipeSubpackage } from './recipe/load.ts';
import type { Step } from './recipe/schema.ts';
import { substitutePartial, substituteStrict } from './recipe/substitute.ts';
import type { YamlPath, YamlSource } from './recipe/yaml-source.ts';

/** Guest paths of the build workspace. */
export const GUEST_WORKSPACE = '/home/build';
export const GUEST_OUTDIR = `${GUEST_WORKSPACE}/melange-out`;

/** Pipelines whose steps may reach the network when their source is remote. */
const NETWORK_PIPELINES = new Set(['fetch', 'git-checkout']);

/** Pipelines whose job is to download a language ecosystem's dependencies (Go modules, crates, npm,
 *  CPAN, Composer, PyPI, PECL, CRAN): melange runs every step with the network, Kiln only these
 *  steps, so a recipe's own `runs:` stay offline unless it sets the kiln.dev/network annotation. */
const DEPENDENCY_PIPELINES = new Set([
  'go/build', 'go/build/v2', 'go/install', 'go/bump', 'go/deps', 'goreleaser/build',
  'cargo/build', 'npm/install', 'perl/cpan-install', 'php/composer-install', 'python/pipinstall', 'pecl/install', 'cran/fetch',
]);

const HEX_INPUTS: Readonly<Record<string, number>> = { 'expected-sha256': 64, 'expected-sha512': 128, 'expected-commit': 40, 'dsc-sha256': 64, 'orig-sha256': 64, 'debian-sha256': 64 };

/** One step ready to run: everything substituted, conditions decided, `uses` expanded. */
export interface CompiledStep {
  /** Display name for logs: `name`, else `uses`, else the first line of `runs`, variables substituted. */
  name: string;
  /** Chain of display names from the package pipeline down to this step. */
  label: string;
  uses?: string;
  runs?: string;
  /** Absolute guest working directory. */
  workdir: string;
  /** Step environment (this step's and its parents', later wins). */
  environment: Record<string, string>;
  steps: CompiledStep[];
  requiredSteps?: number;
  /** `file:line:column` of the step in the recipe or definition. */
  where: string;
  /** Resolved inputs of a `uses` step. */
  inputs?: Record<string, string>;
  /** The step may use the network (remote fetch / git-checkout, or the recipe opted in). */
  network: boolean;
}

/** A package (main or sub) with its compiled pipeline. */
export interface CompiledPackage {
  name: string;
  isMain: boolean;
  /** Guest output directory, `/home/build/melange-out/<name>`. */
  contextdir: string;
  steps: CompiledStep[];
  subpackage?: RecipeSubpackage;
}

/** A fetch, git-checkout or Debian source of a package, for SBOM and provenance. */
export interface SourceReference {
  kind: 'fetch' | 'git-checkout' | 'debian-source';
  package: string;
  uri: string;
  sha256?: string;
  sha512?: string;
  commit?: string;
  tag?: string;
  branch?: string;
  purlName?: string;
  purlVersion?: string;
  /** debian-source: the pinned source package (fetched on the host before any step runs). */
  debian?: { package: string; version: string; dscSha256: string; origSha256?: string; debianSha256?: string; excludePatches?: string[] };
  stepIndex: number;
}

/** Package URL of a Debian source package (purl spec: `pkg:deb/debian/NAME@VERSION?arch=source`). */
export function debianSourcePurl(name: string, version: string): string {
  return `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=source`;
}

/** The whole build for one architecture. */
export interface CompiledBuild {
  recipe: Recipe;
  arch: ArchInfo;
  packages: CompiledPackage[];
  /** Packages the steps need in the guest (`needs.packages` of steps that run). */
  needs: string[];
  sources: SourceReference[];
}

/** What compilation needs besides the recipe. */
interface CompileOptions {
  arch: ArchInfo;
  library: PipelineLibrary;
  /** Recipe opted into network for all steps (annotation `kiln.dev/network: "true"`). */
  network?: boolean;
}

/** Annotation by which a recipe asks for network access in every step. */
export const NETWORK_ANNOTATION = 'kiln.dev/network';

/** Variables common to every package context of a build. */
function baseVariables(recipe: Recipe, arch: ArchInfo): Map<string, string> {
  const vars = new Map<string, string>([
    ['package.name', recipe.package.name],
    ['package.version', recipe.package.version],
    ['package.epoch', String(recipe.package.epoch)],
    ['package.full-version', recipe.fullVersion],
    ['package.description', recipe.package.description ?? ''],
    ['package.srcdir', GUEST_WORKSPACE],
    ['targets.outdir', GUEST_OUTDIR],
    ['targets.destdir', `${GUEST_OUTDIR}/${recipe.package.name}`],
    ['host.triplet.gnu', arch.gnuTriplet],
    ['host.triplet.rust', arch.rustTriplet],
    ['cross.triplet.gnu.glibc', arch.gnuTriplet],
    ['cross.triplet.gnu.musl', arch.muslTriplet],
    ['cross.triplet.rust.glibc', arch.rustTriplet],
    ['cross.triplet.rust.musl', arch.rustMuslTriplet],
    ['build.arch', arch.apk],
    ['build.goarch', arch.oci],
  ]);
  vars.set(`targets.package.${recipe.package.name}`, `${GUEST_OUTDIR}/${recipe.package.name}`);
  for (const sub of recipe.subpackages) vars.set(`targets.package.${sub.name}`, `${GUEST_OUTDIR}/${sub.name}`);
  for (const [key, value] of recipe.vars) vars.set(`vars.${key}`, value);
  for (const [name, enabled] of recipe.options) vars.set(`options.${name}.enabled`, String(enabled));
  return vars;
}

/** Variables of one package context (main or a subpackage). */
function contextVariables(recipe: Recipe, arch: ArchInfo, packageName: string, isMain: boolean): Map<string, string> {
  const vars = baseVariables(recipe, arch);
  vars.set('targets.contextdir', `${GUEST_OUTDIR}/${packageName}`);
  vars.set('context.name', packageName);
  if (!isMain) {
    vars.set('targets.subpkgdir', `${GUEST_OUTDIR}/${packageName}`);
    vars.set('subpkg.name', packageName);
  }
  return vars;
}

/** Compiles the main pipeline and every subpackage pipeline for one architecture. */
export async function compileBuild(recipe: Recipe, options: CompileOptions): Promise<CompiledBuild> {
  const needs = new Set<string>();
  const sources: SourceReference[] = [];
  const network = options.network ?? recipe.package.annotations?.[NETWORK_ANNOTATION] === 'true';
  const compiler = new Compiler(options.library, needs, network);
  const packages: CompiledPackage[] = [];

  const mainVars = contextVariables(recipe, options.arch, recipe.package.name, true);
  const mainSteps = await compiler.steps(recipe.pipeline, ['pipeline'], recipe.source, mainVars, GUEST_WORKSPACE, {}, '');
  packages.push({ name: recipe.package.name, isMain: true, contextdir: `${GUEST_OUTDIR}/${recipe.package.name}`, steps: mainSteps });
  collectSources(mainSteps, recipe.package.name, sources);

  for (const sub of recipe.subpackages) {
    const vars = contextVariables(recipe, options.arch, sub.name, false);
    if (sub.if !== undefined && !evaluateCondition(sub.if, vars, recipe.source.where([...sub.path, 'if']))) continue;
    const steps = await compiler.steps(sub.pipeline ?? [], [...sub.path, 'pipeline'], recipe.source, vars, GUEST_WORKSPACE, {}, '');
    packages.push({ name: sub.name, isMain: false, contextdir: `${GUEST_OUTDIR}/${sub.name}`, steps, subpackage: sub });
    collectSources(steps, sub.name, sources);
  }
  return { recipe, arch: options.arch, packages, needs: [...needs].sort(), sources };
}

/** Compiles a test block's pipeline (for `kiln pkg test`) in the context of `packageName`. */
export async function compileTest(recipe: Recipe, options: CompileOptions, packageName: string): Promise<{ steps: CompiledStep[]; needs: string[] }> {
  const sub = recipe.subpackages.find((candidate) => candidate.name === packageName);
  const block = sub ? sub.test : recipe.test;
  const path: YamlPath = sub ? [...sub.path, 'test', 'pipeline'] : ['test', 'pipeline'];
  const needs = new Set<string>();
  const compiler = new Compiler(options.library, needs, options.network ?? false);
  const vars = contextVariables(recipe, options.arch, packageName, !sub);
  const steps = await compiler.steps(block?.pipeline ?? [], path, recipe.source, vars, GUEST_WORKSPACE, {}, '');
  return { steps, needs: [...needs].sort() };
}

function collectSources(steps: readonly CompiledStep[], packageName: string, out: SourceReference[]): void {
  steps.forEach((step, index) => {
    if (step.uses === 'fetch' && step.inputs) {
      const ref: SourceReference = { kind: 'fetch', package: packageName, uri: step.inputs.uri ?? '', stepIndex: index };
      if (step.inputs['expected-sha256']) ref.sha256 = step.inputs['expected-sha256'];
      if (step.inputs['expected-sha512']) ref.sha512 = step.inputs['expected-sha512'];
      if (step.inputs['purl-name']) ref.purlName = step.inputs['purl-name'];
      if (step.inputs['purl-version']) ref.purlVersion = step.inputs['purl-version'];
      out.push(ref);
    } else if (step.uses === 'debian/source' && step.inputs) {
      const name = step.inputs.package ?? '';
      const version = step.inputs.version ?? '';
      const ref: SourceReference = { kind: 'debian-source', package: packageName, uri: debianSourcePurl(name, version), stepIndex: index, purlName: name, purlVersion: version };
      ref.debian = { package: name, version, dscSha256: step.inputs['dsc-sha256'] ?? '' };
      if (step.inputs['dsc-sha256']) ref.sha256 = step.inputs['dsc-sha256'];
      if (step.inputs['orig-sha256']) ref.debian.origSha256 = step.inputs['orig-sha256'];
      if (step.inputs['debian-sha256']) ref.debian.debianSha256 = step.inputs['debian-sha256'];
      const excluded = (step.inputs['exclude-patches'] ?? '').split(/\s+/).filter(Boolean);
      if (excluded.length > 0) ref.debian.excludePatches = excluded;
      out.push(ref);
    } else if (step.uses === 'git-checkout' && step.inputs) {
      const ref: SourceReference = { kind: 'git-checkout', package: packageName, uri: step.inputs.repository ?? '', stepIndex: index };
      if (step.inputs['expected-commit']) ref.commit = step.inputs['expected-commit'];
      if (step.inputs.tag) ref.tag = step.inputs.tag;
      if (step.inputs.branch) ref.branch = step.inputs.branch;
      out.push(ref);
    }
  });
}

/** The step's name for logs, with its variables substituted as melange's log shows them (an
 *  undefined variable is left as written: `runs` itself reports it, with its position). */
function displayName(step: Step, vars: ReadonlyMap<string, string>): string {
  if (step.name) return substitutePartial(step.name, vars);
  if (step.uses) return step.uses;
  const first = substitutePartial(step.runs ?? '', vars).split('\n').find((line) => line.trim() !== '') ?? '';
  return first.length > 60 ? `${first.slice(0, 57)}...` : first || 'step';
}

class Compiler {
  constructor(
    private readonly library: PipelineLibrary,
    private readonly needs: Set<string>,
    private readonly network: boolean,
  ) {}

  async steps(
    steps: readonly Step[],
    path: YamlPath,
    source: YamlSource,
    vars: ReadonlyMap<string, string>,
    parentWorkdir: string,
    parentEnv: Record<string, string>,
    parentLabel: string,
  ): Promise<CompiledStep[]> {
    const out: CompiledStep[] = [];
    for (let index = 0; index < steps.length; index++) {
      const compiled = await this.step(steps[index]!, [...path, index], source, vars, parentWorkdir, parentEnv, parentLabel);
      if (compiled) out.push(compiled);
    }
    return out;
  }

  private async step(
    step: Step,
    path: YamlPath,
    source: YamlSource,
    vars: ReadonlyMap<string, string>,
    parentWorkdir: string,
    parentEnv: Record<string, string>,
    parentLabel: string,
  ): Promise<CompiledStep | undefined> {
    const where = source.where(path);
    if (step.if !== undefined && !evaluateCondition(step.if, vars, source.where([...path, 'if']))) return undefined;

    const name = displayName(step, vars);
    const label = parentLabel ? `${parentLabel} > ${name}` : name;
    const env: Record<string, string> = { ...parentEnv };
    for (const [key, value] of Object.entries(step.environment ?? {})) env[key] = substituteStrict(value, vars, source.where([...path, 'environment', key]));
    let workdir = parentWorkdir;
    if (step['working-directory'] !== undefined) {
      const dir = substituteStrict(step['working-directory'], vars, source.where([...path, 'working-directory']));
      workdir = posix.resolve(GUEST_WORKSPACE, dir);
    }

    let children: CompiledStep[];
    let inputs: Record<string, string> | undefined;
    let network = this.network;
    if (step.uses !== undefined && step.pipeline === undefined) {
      const resolved = await this.library.resolve(step.uses, where);
      const definition = resolved.definition;
      inputs = this.inputs(step, vars, definition.inputs ?? {}, where, source, path);
      const inner = new Map(vars);
      for (const [key, value] of Object.entries(inputs)) inner.set(`inputs.${key}`, value);
      for (const pkg of definition.needs?.packages ?? []) this.needs.add(substituteStrict(pkg, inner, `${resolved.file}: needs`));
      if (DEPENDENCY_PIPELINES.has(step.uses)) network = true;
      if (NETWORK_PIPELINES.has(step.uses)) {
        const remote = inputs.uri ?? inputs.repository ?? '';
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote) && !remote.startsWith('file://')) network = true;
      }
      const defSteps: Step[] = definition.pipeline ?? (definition.runs !== undefined ? [{ runs: definition.runs }] : []);
      children = await this.steps(defSteps, ['pipeline'], resolved.source, inner, workdir, env, label);
      for (const child of children) if (network) markNetwork(child);
    } else {
      for (const pkg of step.needs?.packages ?? []) this.needs.add(substituteStrict(pkg, vars, where));
      children = await this.steps(step.pipeline ?? [], [...path, 'pipeline'], source, vars, workdir, env, label);
    }

    // The network a pipeline grants goes to its own steps, never to a `runs` written beside its
    // `uses` (a test step may have both): that stays as offline as any recipe step.
    const compiled: CompiledStep = { name, label, workdir, environment: env, steps: children, where, network: step.runs !== undefined ? this.network : network };
    if (step.uses !== undefined) compiled.uses = step.uses;
    if (step.runs !== undefined) compiled.runs = substituteStrict(step.runs, vars, source.where([...path, 'runs']));
    if (step.assertions?.['required-steps'] !== undefined) compiled.requiredSteps = step.assertions['required-steps'];
    if (inputs) compiled.inputs = inputs;
    return compiled;
  }

  private inputs(
    step: Step,
    vars: ReadonlyMap<string, string>,
    declared: Record<string, { default?: string | undefined; required?: boolean | undefined } | undefined>,
    where: string,
    source: YamlSource,
    path: YamlPath,
  ): Record<string, string> {
    const given = step.with ?? {};
    for (const key of Object.keys(given)) {
      if (!(key in declared)) {
        throw new BuildError('PIPELINE_INPUT_INVALID', `${source.where([...path, 'with'], key)}: undefined input ${JSON.stringify(key)} for pipeline ${step.uses} (declared: ${Object.keys(declared).join(', ') || 'none'})`, {
          detail: { pipeline: step.uses, input: key },
        });
      }
    }
    // A nested definition sees its parent's inputs; its own `with` overrides them.
    const out: Record<string, string> = {};
    for (const [key, value] of vars) if (key.startsWith('inputs.')) out[key.slice('inputs.'.length)] = value;
    for (const [key, spec] of Object.entries(declared)) {
      const raw = given[key];
      let value = raw !== undefined && raw !== '' ? substituteStrict(raw, vars, source.where([...path, 'with', key])) : (out[key] ?? '');
      if (value === '' && spec?.default !== undefined) value = substituteStrict(spec.default, vars, `${where}: default of input ${key}`);
      if (value === '' && spec?.required) {
        throw new BuildError('PIPELINE_INPUT_INVALID', `${where}: pipeline ${step.uses} requires input ${JSON.stringify(key)}`, { detail: { pipeline: step.uses, input: key } });
      }
      const hexLength = HEX_INPUTS[key];
      if (hexLength !== undefined && value !== '' && !new RegExp(`^[0-9a-f]{${hexLength}}$`).test(value)) {
        throw new BuildError('PIPELINE_INPUT_INVALID', `${source.where([...path, 'with', key])}: input ${key} must be ${hexLength} lower-case hex digits, got ${JSON.stringify(value)}`, {
          detail: { pipeline: step.uses, input: key },
        });
      }
      out[key] = value;
    }
    return out;
  }
}

function markNetwork(step: CompiledStep): void {
  step.network = true;
  step.steps.forEach(markNetwork);
}
