import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashFile, readInputText, silentLogger, writeFileAtomic } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { archInfo, hostArchName, parseInstalledDb } from '../apk/index.ts';
import { parseOsRelease } from '../image/index.ts';
import { apkPurl } from '../sbom/index.ts';
import { compileBuild, debianSourcePurl, GUEST_WORKSPACE } from './compile.ts';
import type { CompiledBuild, SourceReference } from './compile.ts';
import { guestBaseEnvironment, runSteps } from './engine.ts';
import { runAsUser } from './run-as.ts';
import type { StepLogLine } from './engine.ts';
import { HOST_SYSROOT } from './environment/host.ts';
import type { BuildEnvironment, BuildEnvironmentProvider } from './environment/provider.ts';
import { BuildError } from './errors.ts';
import { checkLibraries } from './library-check.ts';
import type { LibraryPolicy } from './library-check.ts';
import { lintPackage } from './lint.ts';
import type { LintFinding } from './lint.ts';
import { createPipelineLibrary } from './pipeline-library.ts';
import type { PackagePublisher, WrittenPackage } from './publisher.ts';
import { loadRecipe } from './recipe/load.ts';
import type { Recipe } from './recipe/load.ts';
import type { SandboxMount, SandboxRunner } from './sandbox/runner.ts';
import { analyzePackage } from './sca.ts';
import type { ScaPackage } from './sca.ts';
import { buildSbom, sbomPath } from './sbom.ts';

const execFileAsync = promisify(execFile);

/** Version recorded as the builder in SBOMs and provenance. */
export const BUILDER_VERSION = '0.1.0';

/** What to build and where. */
export interface BuildRequest {
  recipeFile: string;
  /** melange --interactive: a shell on the caller's terminal in the sandbox of a failed step (set
   *  only when stdin is a terminal). */
  interactive?: boolean;
  /** apk or OCI arch name; default the host's. */
  arch?: string;
  outDir: string;
  /** Files copied into the workspace (default: the recipe's directory). `null` = empty workspace. */
  sourceDir?: string | null;
  pipelineDirs?: readonly string[];
  /** SOURCE_DATE_EPOCH for every timestamp (default 0). */
  sourceDateEpoch?: number;
  namespace?: string;
  gitCommit?: string;
  gitRepoUrl?: string;
  /** License of the recipe itself, for the SBOM (default NOASSERTION). */
  license?: string;
  varsOverride?: Readonly<Record<string, string>>;
  buildOptions?: readonly string[];
  /** Update and sign OUT/ARCH/APKINDEX.tar.gz (default true). */
  generateIndex?: boolean;
  /** Host directory mounted at /var/cache/melange. */
  cacheDir?: string;
  /** Keep the workspace after the build (for debugging). */
  keepWorkspace?: boolean;
  /** Content hash of the build's inputs, recorded in provenance (build-all uses it to skip). */
  inputHash?: string;
  /** Variables preloaded into every step (melange --env-file); the recipe's own environment wins. */
  environment?: Readonly<Record<string, string>>;
  /** When set, every ELF file must use this loader and need only libraries the build or these
   *  repositories provide (a distribution's own libc, never the host's). */
  libraryPolicy?: LibraryPolicy;
}

/** Guest path of the host's verified Debian source cache (read-only). */
export const GUEST_DEBIAN_SOURCES = '/var/cache/kiln/debian-sources';

/** A verified Debian source package as the build records it. */
export interface DebianSourceMaterials {
  package: string;
  version: string;
  files: readonly { name: string; sha256: string; role: string }[];
  patches: readonly { name: string; sha256: string }[];
  /** Date of the newest debian/changelog entry. */
  sourceDateEpoch: number;
}

/** Port: fetches and verifies pinned Debian source packages on the host, into `cacheDir` as
 *  `sha256:<hex>` files, before any step runs (the `debian/source` pipeline unpacks from there). */
export interface DebianSourcePort {
  readonly cacheDir: string;
  fetch(request: { package: string; version: string; dscSha256: string; origSha256?: string; debianSha256?: string }): Promise<DebianSourceMaterials>;
}

/** Ports the build uses. */
export interface BuildPorts {
  runner: SandboxRunner;
  /** Needed by recipes that use `debian/source`. */
  debianSources?: DebianSourcePort;
  environment: BuildEnvironmentProvider;
  publisher: PackagePublisher;
  logger?: Logger;
  onLog?: (line: StepLogLine) => void;
  signal?: AbortSignal;
}

/** One emitted package. */
export interface BuiltPackage extends WrittenPackage {
  name: string;
  version: string;
  depends: string[];
  provides: string[];
  vendored: string[];
  lintWarnings: LintFinding[];
}

/** Result of a build. */
export interface BuildResult {
  origin: string;
  version: string;
  arch: string;
  packages: BuiltPackage[];
  provenanceFile: string;
  indexFile?: string;
  environment: { kind: string; description: string };
  stepsRun: number;
  /** Wall time of each `runs` step, in order. */
  stepTimings: { step: string; ms: number }[];
  durationMs: number;
}

/** Name of the index the builder keeps beside the packages of each architecture. */
export const INDEX_FILE = 'APKINDEX.tar.gz';

/** melange output layout: OUT/ARCH/NAME-VERSION.apk. */
export function packageFileName(name: string, fullVersion: string): string {
  return `${name}-${fullVersion}.apk`;
}

/** File name of the provenance statement written beside the packages of a build. */
export function provenanceFileName(origin: string, fullVersion: string): string {
  return `${origin}-${fullVersion}.provenance.json`;
}

/** Builds every package of a recipe: compile, run steps in the sandbox, lint, SBOM, dependency
 *  detection, write signed packages, update the signed index, write provenance. Nothing from a
 *  failed build appears in the output directory. */
export async function buildRecipe(request: BuildRequest, ports: BuildPorts): Promise<BuildResult> {
  const started = Date.now();
  const logger = ports.logger ?? silentLogger;
  const recipeFile = resolve(request.recipeFile);
  let recipeText: string;
  try {
    recipeText = await readInputText(recipeFile, { what: 'recipe' });
  } catch (error) {
    throw new BuildError('RECIPE_NOT_FOUND', (error as Error).message, { cause: error, detail: { file: recipeFile } });
  }
  const recipe = loadRecipe(recipeFile, recipeText, {
    ...(request.buildOptions ? { buildOptions: request.buildOptions } : {}),
    ...(request.varsOverride ? { varsOverride: request.varsOverride } : {}),
  });
  const arch = archInfo(request.arch ? request.arch : hostArchName(process.arch));
  rejectUnsupported(recipe);
  // Before anything is prepared: an unknown run-as user is the recipe's error.
  const user = runAsUser(recipe.environment, recipeFile);
  const targets = recipe.package['target-architecture'];
  if (targets && targets.length > 0 && !targets.includes('all') && !targets.includes(arch.apk)) {
    throw new BuildError('RECIPE_UNSUPPORTED', `${recipe.source.where(['package', 'target-architecture'])}: ${recipe.package.name} does not build for ${arch.apk} (target-architecture: ${targets.join(', ')})`, { detail: { arch: arch.apk } });
  }
  const library = createPipelineLibrary(request.pipelineDirs ?? []);
  const compiled = await compileBuild(recipe, { arch, library });
  const sourceChecks = await verifyLocalSources(compiled.sources);
  const debianSources = await fetchDebianSources(compiled.sources, ports.debianSources, recipeFile);
  // Without an explicit SOURCE_DATE_EPOCH, a Debian-sourced build takes its changelog's date.
  const sde = request.sourceDateEpoch ?? (debianSources.length > 0 ? Math.max(...debianSources.map((source) => source.sourceDateEpoch)) : 0);

  const archDir = join(resolve(request.outDir), arch.apk);
  // Refuse what the index update would refuse before anything runs, so nothing is built in vain.
  if (request.generateIndex ?? true) await ports.publisher.checkIndex(join(archDir, INDEX_FILE));
  const workspace = await mkdtemp(join(tmpdir(), `kiln-build-${recipe.package.name}-`));
  const staging = join(archDir, `.kiln-staging-${randomBytes(6).toString('hex')}`);
  let environment: BuildEnvironment | undefined;
  try {
    const sourceDir = request.sourceDir === undefined ? dirname(recipeFile) : request.sourceDir;
    if (sourceDir !== null) await populateWorkspace(resolve(sourceDir), workspace, [resolve(request.outDir)]);
    for (const pkg of compiled.packages) await mkdir(join(workspace, 'melange-out', pkg.name), { recursive: true });

    environment = await ports.environment.prepare({
      arch: arch.apk,
      config: recipe.environment,
      extraPackages: compiled.needs,
      repositories: [],
      keyring: [],
    });
    logger.info({ recipe: recipeFile, arch: arch.apk, environment: environment.kind }, 'build started');

    const mounts: SandboxMount[] = [{ source: workspace, target: GUEST_WORKSPACE, writable: true }];
    if (request.cacheDir) mounts.push({ source: resolve(request.cacheDir), target: '/var/cache/melange', writable: true });
    for (const path of sourceChecks.localPaths) mounts.push({ source: path, target: path, writable: false });
    if (debianSources.length > 0 && ports.debianSources) mounts.push({ source: resolve(ports.debianSources.cacheDir), target: GUEST_DEBIAN_SOURCES, writable: false });
    mounts.push(...(environment.mounts ?? []));
    const baseEnv = guestBaseEnvironment({ ...request.environment, ...environment.environment, ...recipe.environment.environment }, sde);
    const stats = { stepsRun: 0, timings: [] as { step: string; ms: number }[] };
    const timeoutMs = recipe.package.timeout === undefined ? undefined : parseDuration(recipe.package.timeout);
    const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    const signals = [ports.signal, deadline].filter((signal): signal is AbortSignal => signal !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    try {
      for (const pkg of compiled.packages) {
        await runSteps(pkg.steps, { runner: ports.runner, rootfs: environment.rootfs, mounts, baseEnv, ...(environment.pathPrefix ? { pathPrefix: [...environment.pathPrefix] } : {}), ...(user ? { user } : {}), ...(ports.onLog ? { onLog: ports.onLog } : {}), ...(signal ? { signal } : {}), ...(request.interactive ? { interactive: true } : {}) }, stats);
      }
    } catch (error) {
      if (deadline?.aborted) {
        throw new BuildError('STEP_FAILED', `${recipe.source.where(['package', 'timeout'])}: the build exceeded package.timeout ${recipe.package.timeout}`, { cause: error, detail: { timeout: recipe.package.timeout } });
      }
      throw error;
    }

    if (request.libraryPolicy) await checkLibraries(compiled.packages.map((pkg) => ({ name: pkg.name, dir: join(workspace, 'melange-out', pkg.name) })), request.libraryPolicy);
    const packages = await emitPackages(recipe, compiled, request, ports, workspace, staging, sde);
    const commit = await recipeCommit(request, recipeFile);

    // Commit: move packages into place, then update the index, then provenance.
    await mkdir(archDir, { recursive: true });
    const placed: string[] = [];
    try {
      for (const pkg of packages) {
        const target = join(archDir, basename(pkg.file));
        await rename(pkg.file, target);
        pkg.file = target;
        placed.push(target);
      }
      let indexFile: string | undefined;
      if (request.generateIndex ?? true) {
        indexFile = join(archDir, INDEX_FILE);
        await ports.publisher.updateIndex(indexFile, placed);
      }
      const provenanceFile = join(archDir, provenanceFileName(recipe.package.name, recipe.fullVersion));
      const environmentUris = await environmentPackageUrls(environment, compiled.arch.apk);
      await writeFileAtomic(provenanceFile, formatProvenance(recipe, recipeText, compiled, packages, environment, environmentUris, ports.runner.name, sde, commit, request, debianSources));
      const result: BuildResult = {
        origin: recipe.package.name,
        version: recipe.fullVersion,
        arch: arch.apk,
        packages,
        provenanceFile,
        environment: { kind: environment.kind, description: environment.description },
        stepsRun: stats.stepsRun,
        stepTimings: stats.timings,
        durationMs: Date.now() - started,
      };
      if (indexFile) result.indexFile = indexFile;
      logger.info({ origin: result.origin, packages: packages.length, ms: result.durationMs }, 'build finished');
      return result;
    } catch (error) {
      for (const file of placed) await rm(file, { force: true });
      throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
    if (environment) await environment.release();
    if (!request.keepWorkspace) await rm(workspace, { recursive: true, force: true });
  }
}

/** CPE 2.3 formatted string of a recipe's `package.cpe` (unset fields are `*`). */
export function cpeString(cpe: NonNullable<Recipe['package']['cpe']>, version: string): string {
  const field = (value: string | undefined) => value ?? '*';
  return ['cpe', '2.3', cpe.part ?? 'a', field(cpe.vendor), field(cpe.product), version, '*', field(cpe.edition), field(cpe.language), field(cpe.sw_edition), field(cpe.target_sw), field(cpe.target_hw), field(cpe.other)].join(':');
}

/** Go duration (`90m`, `1h30m`, `45s`) or integer seconds → milliseconds. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * units[match[2]!]!;
  return Math.round(total);
}

/** Refuses, naming the recipe line, melange features Kiln does not implement (RECIPE_UNSUPPORTED). */
export function rejectUnsupported(recipe: Recipe): void {
  const unsupported: [boolean, string, (string | number)[]][] = [
    [(recipe.package.setcap ?? []).length > 0, 'package.setcap (file capabilities)', ['package', 'setcap']],
    [(recipe.capabilities?.add ?? []).length > 0 || (recipe.capabilities?.drop ?? []).length > 0, 'capabilities (sandbox capability changes)', ['capabilities']],
  ];
  for (const sub of recipe.subpackages) if ((sub.setcap ?? []).length > 0) unsupported.push([true, `subpackages[].setcap (file capabilities) in ${sub.name}`, [...sub.path, 'setcap']]);
  for (const [used, feature, path] of unsupported) {
    if (used) throw new BuildError('RECIPE_UNSUPPORTED', `${recipe.source.where(path)}: ${feature} is not supported by kiln yet`, { detail: { feature } });
  }
}

/** Debian sources are fetched and verified on the host before anything is prepared. */
async function fetchDebianSources(sources: readonly SourceReference[], port: DebianSourcePort | undefined, recipeFile: string): Promise<DebianSourceMaterials[]> {
  const fetched: DebianSourceMaterials[] = [];
  for (const source of sources) {
    if (source.kind !== 'debian-source' || !source.debian) continue;
    if (!port) throw new BuildError('ENVIRONMENT_FAILED', `${recipeFile}: debian/source ${source.debian.package} ${source.debian.version} needs a Debian source fetcher, which this build was not given`, { detail: { package: source.debian.package } });
    const { excludePatches = [], ...request } = source.debian;
    const materials = await port.fetch(request);
    const unknown = excludePatches.filter((name) => !materials.patches.some((patch) => patch.name === name));
    if (unknown.length > 0) throw new BuildError('PIPELINE_INPUT_INVALID', `${recipeFile}: debian/source ${source.debian.package} ${source.debian.version}: exclude-patches names ${unknown.join(', ')}, which debian/patches/series does not list`, { detail: { patches: unknown } });
    // Provenance lists the patches that were applied, not those the recipe leaves out.
    fetched.push({ ...materials, patches: materials.patches.filter((patch) => !excludePatches.includes(patch.name)) });
  }
  return fetched;
}

/** file:// sources are checked on the host before any step runs, and mounted read-only. */
async function verifyLocalSources(sources: readonly SourceReference[]): Promise<{ localPaths: string[] }> {
  const localPaths: string[] = [];
  for (const source of sources) {
    if (!source.uri.startsWith('file://')) {
      if (source.kind === 'git-checkout' && source.uri.startsWith('/')) localPaths.push(source.uri);
      continue;
    }
    const path = fileURLToPath(source.uri);
    if (source.kind === 'git-checkout') {
      localPaths.push(path);
      continue;
    }
    for (const [algorithm, expected] of [['sha256', source.sha256], ['sha512', source.sha512]] as const) {
      if (!expected) continue;
      const actual = await hashFile(path, algorithm).catch((error: unknown) => {
        throw new BuildError('SOURCE_CHECKSUM_MISMATCH', `source ${source.uri} cannot be read`, { cause: error, detail: { uri: source.uri } });
      });
      if (actual !== expected) {
        throw new BuildError('SOURCE_CHECKSUM_MISMATCH', `source ${source.uri}: expected ${algorithm} ${expected}, got ${actual}`, { detail: { uri: source.uri, algorithm, expected, actual } });
      }
    }
    localPaths.push(path);
  }
  return { localPaths: [...new Set(localPaths)] };
}

/** Copies regular files and directories (modes kept; symlinks and the output dir skipped). */
async function populateWorkspace(source: string, workspace: string, skip: readonly string[]): Promise<void> {
  const visit = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(source, rel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return;
      throw error;
    }
    for (const name of names) {
      const from = join(source, rel, name);
      if (name === '.git' || skip.some((dir) => from === dir || from.startsWith(`${dir}/`))) continue;
      const info = await lstat(from);
      const to = join(workspace, rel, name);
      if (info.isDirectory()) {
        await mkdir(to, { recursive: true });
        await visit(join(rel, name));
      } else if (info.isFile()) {
        await copyFile(from, to);
        await chmod(to, info.mode & 0o7777);
      }
    }
  };
  await visit('');
}

/** Throws PACKAGE_WRITE_FAILED when a component of `relative` under `root` (which must be a real
 *  directory) exists as a symbolic link. The build steps own the workspace: a link they leave where
 *  the host then reads or writes (melange-out, a package directory, the SBOM's directories) would
 *  make the host package or write its own files outside the workspace. */
async function assertNoLinks(root: string, relative: string, what: string): Promise<void> {
  let path = root;
  for (const part of ['', ...relative.split('/').filter(Boolean)]) {
    path = part ? join(path, part) : path;
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    if (info.isSymbolicLink() || (part === '' && !info.isDirectory())) {
      throw new BuildError('PACKAGE_WRITE_FAILED', `${what}: ${path} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a directory'} left by the build; refusing to follow it out of the workspace`, { detail: { path } });
    }
  }
}

async function emitPackages(recipe: Recipe, compiled: CompiledBuild, request: BuildRequest, ports: BuildPorts, workspace: string, staging: string, sde: number): Promise<BuiltPackage[]> {
  const outRoot = join(workspace, 'melange-out');
  await assertNoLinks(workspace, 'melange-out', 'the build output');
  for (const pkg of compiled.packages) await assertNoLinks(outRoot, pkg.name, `package ${pkg.name}`);
  const namespace = request.namespace ?? 'unknown';
  const commit = await recipeCommit(request, resolve(request.recipeFile));
  const siblings: ScaPackage[] = compiled.packages.map((pkg) => {
    const meta = pkg.subpackage ?? recipe.package;
    const options = meta.options;
    return {
      name: pkg.name,
      dir: join(outRoot, pkg.name),
      runtime: meta.dependencies?.runtime ?? [],
      provides: meta.dependencies?.provides ?? [],
      options: { noProvides: options?.['no-provides'] ?? false, noDepends: options?.['no-depends'] ?? false, noCommands: options?.['no-commands'] ?? false },
    };
  });
  await mkdir(staging, { recursive: true });
  const built: BuiltPackage[] = [];
  const mainSources = compiled.sources.filter((source) => source.package === recipe.package.name);
  for (const [index, pkg] of compiled.packages.entries()) {
    const dir = join(outRoot, pkg.name);
    const meta = pkg.subpackage ?? recipe.package;
    const findings = await lintPackage(dir, meta.checks?.disabled ?? []);
    const failed = findings.filter((finding) => finding.required);
    if (failed.length > 0) {
      throw new BuildError('LINT_FAILED', `package ${pkg.name}: required linter ${failed.map((finding) => `${finding.linter} (${finding.path}: ${finding.message})`).join(', ')} failed; disable it with checks.disabled if intended`, {
        detail: { package: pkg.name, findings: failed },
      });
    }
    for (const warning of findings) ports.logger?.warn({ package: pkg.name, linter: warning.linter, path: warning.path }, 'lint warning');

    const sca = await analyzePackage(siblings[index]!, siblings, recipe.fullVersion);
    const licenses = (recipe.package.copyright ?? []).map((entry) => entry.license);
    const sbom = buildSbom({
      packageName: pkg.name,
      fullVersion: recipe.fullVersion,
      arch: compiled.arch.apk,
      origin: recipe.package.name,
      namespace,
      licenses,
      attestations: (recipe.package.copyright ?? []).flatMap((entry) => (entry.attestation ? [entry.attestation] : [])),
      sourceDateEpoch: sde,
      recipePath: basename(request.recipeFile),
      recipeCommit: commit,
      recipeLicense: request.license ?? 'NOASSERTION',
      gitRepoUrl: request.gitRepoUrl ?? 'https://unknown/unknown/unknown',
      sources: pkg.isMain ? mainSources : [...mainSources, ...compiled.sources.filter((source) => source.package === pkg.name)],
      toolVersion: BUILDER_VERSION,
      ...(recipe.package.cpe?.vendor && recipe.package.cpe.product ? { cpe: cpeString(recipe.package.cpe, recipe.package.version) } : {}),
    });
    await assertNoLinks(dir, dirname(sbomPath(pkg.name, recipe.fullVersion)), `package ${pkg.name}`);
    await writeFileAtomic(join(dir, sbomPath(pkg.name, recipe.fullVersion)), sbom);

    const scripts: Record<string, string> = {};
    const scriptlets = meta.scriptlets;
    for (const name of ['pre-install', 'post-install', 'pre-deinstall', 'post-deinstall', 'pre-upgrade', 'post-upgrade'] as const) {
      const body = scriptlets?.[name];
      if (body !== undefined) scripts[name] = body;
    }
    if (scriptlets?.trigger?.script !== undefined) scripts.trigger = scriptlets.trigger.script;
    const providerPriority = meta.dependencies?.['provider-priority'];
    const replacesPriority = meta.dependencies?.['replaces-priority'];
    const written = await ports.publisher.writePackage(
      join(staging, packageFileName(pkg.name, recipe.fullVersion)),
      dir,
      {
        name: pkg.name,
        version: recipe.fullVersion,
        arch: compiled.arch.apk,
        description: meta.description ?? '',
        url: meta.url ?? recipe.package.url ?? '',
        licenses,
        origin: recipe.package.name,
        commit,
        ...(namespace !== 'unknown' ? { maintainer: namespace } : {}),
        buildDate: sde,
        depends: sca.depends,
        provides: sca.provides,
        replaces: meta.dependencies?.replaces ?? [],
        ...(providerPriority !== undefined ? { providerPriority: Number(providerPriority) } : {}),
        ...(replacesPriority !== undefined ? { replacesPriority: Number(replacesPriority) } : {}),
        triggers: scriptlets?.trigger?.paths ?? [],
      },
      scripts,
      sde,
    );
    built.push({ ...written, name: pkg.name, version: recipe.fullVersion, depends: sca.depends, provides: sca.provides, vendored: sca.vendored, lintWarnings: findings });
  }
  return built;
}

/** The commit a package names as its recipe's source: the last commit that changed the recipe file
 *  (HEAD for a file git does not track yet). Not HEAD itself: a commit elsewhere in the checkout
 *  would then change every package's SBOM, and so its bytes, without any change to its inputs. */
async function recipeCommit(request: BuildRequest, recipeFile: string): Promise<string> {
  if (request.gitCommit) return request.gitCommit;
  const git = async (args: string[]) => (await execFileAsync('git', ['-C', dirname(recipeFile), ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } })).stdout.trim();
  try {
    return (await git(['log', '-1', '--format=%H', '--', basename(recipeFile)])) || (await git(['rev-parse', 'HEAD'])) || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** os-release fields of a root (etc/, else usr/lib/), or none. */
async function readOsRelease(root: string): Promise<Record<string, string>> {
  for (const path of ['etc/os-release', 'usr/lib/os-release']) {
    try {
      return parseOsRelease(await readFile(join(root, path), 'utf8'));
    } catch {
      // try the next place
    }
  }
  return {};
}

/**
 * The purls of a build environment's packages, in the order it lists them, as the SBOM of the root
 * they were installed in names them: the os-release ID as namespace (the apk type requires one),
 * arch, distro and origin from that root's installed database. apk packages live in the assembled
 * root, or in the sysroot beside the host's; deb packages in the host's root. What a root lacks is
 * left out (the namespace is then `unknown`, the arch the build's).
 */
export async function environmentPackageUrls(environment: BuildEnvironment, arch: string): Promise<string[]> {
  const apkRoot = environment.kind === 'assembled' ? environment.rootfs : environment.mounts?.find((mount) => mount.target === HOST_SYSROOT)?.source;
  const apkOs = apkRoot ? await readOsRelease(apkRoot) : {};
  let installed = new Map<string, { arch?: string; origin?: string }>();
  if (apkRoot) {
    try {
      installed = new Map(parseInstalledDb(await readFile(join(apkRoot, 'lib/apk/db/installed'), 'utf8')).map((pkg) => [pkg.record.name, pkg.record]));
    } catch {
      // no database: the package list is all there is
    }
  }
  const hostOs = environment.kind === 'bootstrap-host' ? await readOsRelease(environment.rootfs) : {};
  return environment.packages.map((pkg) => {
    if ((pkg.kind ?? (environment.kind === 'bootstrap-host' ? 'deb' : 'apk')) === 'deb') {
      return `pkg:deb/${encodeURIComponent((hostOs.ID || 'unknown').toLowerCase())}/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}`;
    }
    const record = installed.get(pkg.name);
    return apkPurl({ name: pkg.name, version: pkg.version, arch: record?.arch ?? arch, ...(record?.origin ? { origin: record.origin } : {}) }, apkOs);
  });
}

/** The in-toto statement with the SLSA v1 provenance of a build. `environmentUris` names the
 *  environment's packages, in its order ({@link environmentPackageUrls}). No `startedOn`: the
 *  statement is part of a reproducible build's output, and SOURCE_DATE_EPOCH is not when it started. */
export function formatProvenance(
  recipe: Recipe,
  recipeText: string,
  compiled: CompiledBuild,
  packages: readonly BuiltPackage[],
  environment: BuildEnvironment,
  environmentUris: readonly string[],
  runner: string,
  sde: number,
  commit: string,
  request: BuildRequest,
  debianSources: readonly DebianSourceMaterials[],
): string {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: packages.map((pkg) => ({ name: basename(pkg.file), digest: { sha256: pkg.sha256 } })),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://kiln.dev/build/melange-recipe/v1',
        externalParameters: {
          recipe: { path: basename(recipe.source.file), digest: { sha256: createHash('sha256').update(recipeText).digest('hex') }, commit },
          arch: compiled.arch.apk,
          buildOptions: [...(request.buildOptions ?? [])],
          vars: request.varsOverride ?? {},
        },
        internalParameters: {
          sourceDateEpoch: sde,
          runner,
          environment: { kind: environment.kind, description: environment.description, requestedPackages: [...(recipe.environment.contents?.packages ?? []), ...compiled.needs] },
          ...(request.inputHash ? { inputHash: request.inputHash } : {}),
        },
        resolvedDependencies: [
          ...compiled.sources.filter((source) => source.kind !== 'debian-source').map((source) => ({
            uri: source.uri,
            digest: { ...(source.sha256 ? { sha256: source.sha256 } : {}), ...(source.sha512 ? { sha512: source.sha512 } : {}), ...(source.commit ? { gitCommit: source.commit } : {}) },
            annotations: { kind: source.kind, package: source.package },
          })),
          // A Debian source: its .dsc, every tarball, and every patch its series applied.
          ...debianSources.flatMap((source) => [
            ...source.files.map((file) => ({ name: file.name, uri: `${debianSourcePurl(source.package, source.version)}#${file.name}`, digest: { sha256: file.sha256 }, annotations: { kind: 'debian-source', role: file.role, package: source.package, version: source.version } })),
            ...source.patches.map((patch) => ({ name: `debian/patches/${patch.name}`, uri: `${debianSourcePurl(source.package, source.version)}#debian/patches/${patch.name}`, digest: { sha256: patch.sha256 }, annotations: { kind: 'debian-patch', package: source.package, version: source.version } })),
          ]),
          ...environment.packages.map((pkg, index) => ({ name: pkg.name, uri: environmentUris[index]!, annotations: { version: pkg.version } })),
        ],
      },
      runDetails: {
        builder: { id: `https://kiln.dev/builder/${runner}`, version: { kiln: BUILDER_VERSION } },
      },
    },
  };
  return `${JSON.stringify(statement, null, 2)}\n`;
}
