import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApkError, archInfo, ARCHS, compareVersions, emptyRecord, isKeyUrl, packageUrl, readApkFile, resolve as resolvePackages } from '../apk/index.ts';
import type { ApkItem, ArchInfo, PackageRecord } from '../apk/index.ts';
import { isKilnError } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { MediaTypes, assembleIndex, parseImageReference } from '../oci/index.ts';
import type { BuiltIndex } from '../oci/index.ts';
import { cyclonedxImageDocument, spdxImageDocument, spdxIndexDocument } from '../sbom/index.ts';
import type { SbomImage, SbomTool } from '../sbom/index.ts';
import { normalizeArchs } from './config/archs.ts';
import { resolveLocalPath } from './config/load.ts';
import type { LoadedImageConfig } from './config/load.ts';
import type { ImageConfig } from './config/types.ts';
import { buildArchImage, rfc3339 } from './build-arch.ts';
import type { BuildArchResult } from './build-arch.ts';
import { ImageError } from './errors.ts';
import { byteRange } from './lock.ts';
import { planImage } from './image-plan.ts';
import type { ImagePlan, PlannedRepository } from './image-plan.ts';
import type { LockFile, LockPackage } from './lock.ts';

// The image build service: resolve (or read the lock), fetch verified packages through the
// repository port, assemble each architecture, then the index, SBOMs and lock document. Outputs are
// written by the caller (CLI) with the OCI writers.

/** A repository as the port understands it. */
export interface PortRepository {
  url: string;
  tag?: string;
}

/** The repository capability the builder needs (the apk RepositoryClient satisfies it). */
export interface PackageRepositoryPort {
  /** Loads and verifies `URL/ARCH/APKINDEX.tar.gz`. */
  loadIndex(repository: PortRepository, arch: string): Promise<{ records: PackageRecord[]; url: string }>;
  /** Makes a package available in the verified cache and returns its file. */
  fetchPackage(source: { record: PackageRecord; repository: PortRepository; arch: string }): Promise<{ path: string; url: string; identity: string; datahash: string; size: number }>;
}

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  loaded: LoadedImageConfig;
  repository: PackageRepositoryPort;
  /** Image tag (for purls and the docker archive). */
  tag: string;
  /** --arch (overrides the config). */
  archs?: readonly string[];
  /** -r: added to build and runtime repositories. */
  repositoryAppend?: readonly string[];
  /** -k: extra key files. */
  keyringAppend?: readonly string[];
  /** -p: extra world entries. */
  packageAppend?: readonly string[];
  /** --annotations overrides. */
  annotations?: Readonly<Record<string, string>>;
  /** Build date option in seconds (--build-date); default 0 = newest package build date. */
  buildDate?: number;
  /** SOURCE_DATE_EPOCH in seconds: fixes the image time. */
  sourceDateEpoch?: number;
  /** Keys the repository client fetched from URLs, by URL (written into /etc/apk/keys). */
  remoteKeys?: ReadonlyMap<string, { name: string; content: Uint8Array }>;
  /** Key contents recorded elsewhere (a provenance's lock), by the file or URL as the config lists
   *  it: used instead of reading the file or the fetched key (`kiln image reproduce`). */
  recordedKeys?: ReadonlyMap<string, Uint8Array>;
  /** Build from these locked packages instead of resolving. */
  lock?: LockFile;
  cwd?: string;
  logger?: Logger;
  onProgress?: (phase: string, done: number, total: number, item: string) => void;
  /** Host architecture for `--arch host` (apk or OCI name). */
  hostArch?: string;
}

/** One architecture's build output. */
export interface ArchOutput {
  arch: ArchInfo;
  result: BuildArchResult;
  packages: Array<{ record: PackageRecord; url: string; path: string; size: number; datahash: string }>;
  sbom: SbomImage;
}

/** The whole build output. */
export interface BuildImageResult {
  index: BuiltIndex;
  arches: ArchOutput[];
  lock: LockFile;
  /** Index time, RFC 3339. */
  created: string;
  spdx: { index: Record<string, unknown>; perArch: Map<string, Record<string, unknown>> };
  cyclonedx: Map<string, Record<string, unknown>>;
}

/** The SBOM tool identity. */
export const KILN_SBOM_TOOL: SbomTool = { name: 'kiln', version: '0.1.0', organization: 'Kiln' };

/** Splits `[@tag ]location` and turns a local path into a file:// URL. */
export function portRepository(spec: string, cwd: string, configDirs: readonly string[] = []): PortRepository {
  const words = spec.trim().split(/\s+/);
  let tag: string | undefined;
  if (words[0]?.startsWith('@')) tag = words.shift()!.slice(1);
  const location = (words.join(' ') || '').replace(/\/+$/, '');
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : pathToFileURL(resolveLocalPath(location, cwd, configDirs)).href;
  return { url, ...(tag ? { tag } : {}) };
}

/** Streams a package once its fetch (with verification) has finished. */
async function* openFetched(fetch: Promise<{ path: string; url: string; record: PackageRecord }>): AsyncGenerator<ApkItem> {
  const file = await fetch;
  yield* readApkFile(file.path, { name: file.url, expectedIdentity: file.record.identity });
}

/** Effective archs: CLI > config > all nine. */
export function effectiveArchs(config: ImageConfig, cli: readonly string[] | undefined, hostArch = 'amd64'): ArchInfo[] {
  const names = cli && cli.length ? normalizeArchs(cli.flatMap((value) => value.split(',')).filter(Boolean), '--arch', hostArch) : config.archs.length ? config.archs : ARCHS.map((arch) => arch.oci);
  return names.map((name) => archInfo(name));
}

/** Parses SOURCE_DATE_EPOCH: integer seconds; empty = unset; anything else is an error. */
export function parseSourceDateEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new ImageError('IMAGE_BUILD_DATE_INVALID', `SOURCE_DATE_EPOCH=${JSON.stringify(value)} is not an integer number of seconds`, { detail: { value } });
  return Number(value);
}

/** Parses an RFC 3339 --build-date into seconds. */
export function parseBuildDate(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new ImageError('IMAGE_BUILD_DATE_INVALID', `--build-date ${JSON.stringify(value)} is not an RFC 3339 time`, { detail: { value } });
  return Math.floor(ms / 1000);
}

/** Names the world contains for this config and CLI. */
function worldOf(config: ImageConfig, append: readonly string[] = []): string[] {
  const world = [...config.contents.packages, ...append];
  if (config.entrypoint.type === 'service-bundle' && !world.some((spec) => spec.split(/[<>=~@]/)[0] === 's6')) world.push('s6');
  return world;
}

interface Selected {
  record: PackageRecord;
  repository: PortRepository;
}

async function resolveArch(options: BuildImageOptions, arch: ArchInfo, repositories: PortRepository[], world: string[], available?: Map<string, Set<string>>): Promise<Selected[]> {
  const indexes = await Promise.all(
    repositories.map(async (repository) => {
      try {
        return { repository, index: await options.repository.loadIndex(repository, arch.apk) };
      } catch (error) {
        if (isKilnError(error)) {
          throw new ImageError('IMAGE_RESOLVE_FAILED', `${arch.apk}: repository ${repository.url}: ${error.message}`, { cause: error, detail: { arch: arch.apk, repository: repository.url, code: error.code } });
        }
        throw error;
      }
    }),
  );
  if (available) for (const { index } of indexes) for (const record of index.records) available.set(record.name, new Set([...(available.get(record.name) ?? []), record.version]));
  let install: PackageRecord[];
  try {
    install = resolvePackages({
      repositories: indexes.map(({ repository, index }) => ({ records: index.records, ...(repository.tag ? { tag: repository.tag } : {}), name: repository.url })),
      world,
      arch: arch.apk,
    }).install;
  } catch (error) {
    if (error instanceof ApkError) {
      throw new ImageError('IMAGE_RESOLVE_FAILED', `cannot resolve the packages for ${arch.oci} (${arch.apk}): ${error.message}`, { cause: error, detail: { arch: arch.apk, world } });
    }
    throw error;
  }
  // The first repository (in priority order) that carries a package's identity supplies it.
  const sources = new Map<string, PortRepository>();
  for (const { repository, index } of indexes) for (const candidate of index.records) if (!sources.has(candidate.identity)) sources.set(candidate.identity, repository);
  return install.map((record) => ({ record, repository: sources.get(record.identity)! }));
}

function lockedSelection(lock: LockFile, arch: ArchInfo): Selected[] {
  const packages = lock.contents.packages.filter((pkg) => pkg.architecture === arch.apk);
  if (packages.length === 0) throw new ImageError('IMAGE_LOCK_MISMATCH', `lock file has no packages for ${arch.apk}`, { detail: { arch: arch.apk } });
  return packages.map((pkg) => {
    const suffix = `/${arch.apk}/${pkg.name}-${pkg.version}.apk`;
    if (!pkg.url.endsWith(suffix)) throw new ImageError('IMAGE_LOCK_INVALID', `lock file: ${pkg.name} url ${pkg.url} does not end in ${suffix}`, { detail: { package: pkg.name } });
    const record = emptyRecord();
    record.name = pkg.name;
    record.version = pkg.version;
    record.identity = pkg.checksum;
    record.arch = arch.apk;
    const dataEnd = Number(/-(\d+)$/.exec(pkg.data.range)?.[1]);
    if (Number.isInteger(dataEnd)) record.size = dataEnd + 1;
    return { record, repository: { url: pkg.url.slice(0, -suffix.length) } };
  });
}

/** Unifies versions across arches (apko's "index" lock rule): a package resolved at different
 *  versions is pinned to the highest version that every arch's repositories offer, and each arch is
 *  resolved again. `available` maps arch → name → versions in that arch's indexes. */
export function commonPins(selections: ReadonlyMap<string, ReadonlyArray<{ record: PackageRecord }>>, available: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>): string[] {
  const versions = new Map<string, Set<string>>();
  for (const selected of selections.values()) for (const { record } of selected) versions.set(record.name, new Set([...(versions.get(record.name) ?? []), record.version]));
  const pins: string[] = [];
  for (const [name, set] of versions) {
    if (set.size < 2) continue;
    let common: string[] | undefined;
    for (const perArch of available.values()) {
      const offered = [...(perArch.get(name) ?? [])];
      common = common === undefined ? offered : common.filter((version) => offered.includes(version));
    }
    const best = (common ?? []).sort(compareVersions).at(-1);
    if (best) pins.push(`${name}=${best}`);
  }
  return pins.sort();
}

async function signatureChecksum(path: string, length: number): Promise<string> {
  if (length === 0) return '';
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, 0);
    return `sha1-${createHash('sha1').update(buffer).digest('base64')}`;
  } finally {
    await handle.close();
  }
}

/** Resolves (or reads the lock) and returns the pure build plan; nothing is fetched. */
export async function planImageBuild(options: BuildImageOptions): Promise<ImagePlan> {
  const { config } = options.loaded;
  if (config.contents.baseimage) {
    throw new ImageError('IMAGE_CONFIG_INVALID', `${options.loaded.path}: contents.baseimage (building on a base image) is not supported yet`, { detail: { file: options.loaded.path } });
  }
  if (config.format === 'erofs') {
    throw new ImageError('IMAGE_CONFIG_INVALID', `${options.loaded.path}: format erofs is not supported; only tar layers are built`, { detail: { file: options.loaded.path } });
  }
  const cwd = options.cwd ?? process.cwd();
  const arches = effectiveArchs(config, options.archs, options.hostArch);
  const buildSpecs = [...config.contents.repositories, ...config.contents.build_repositories, ...(options.repositoryAppend ?? [])];
  const repositories = [...new Set(buildSpecs)].map((spec) => portRepository(spec, cwd, options.loaded.configDirs));
  const world = worldOf(config, options.packageAppend);
  if (options.lock && options.lock.config && options.lock.config.checksum !== options.loaded.checksum) {
    throw new ImageError('IMAGE_LOCK_MISMATCH', `lock file was made from another configuration (checksum ${options.lock.config.checksum}, ${options.loaded.path} now has ${options.loaded.checksum})`, {
      detail: { expected: options.lock.config.checksum, actual: options.loaded.checksum },
    });
  }
  const selections = new Map<string, Selected[]>();
  const available = new Map<string, Map<string, Set<string>>>();
  for (const arch of arches) {
    options.onProgress?.('resolve', selections.size, arches.length, arch.apk);
    const offered = new Map<string, Set<string>>();
    available.set(arch.oci, offered);
    selections.set(arch.oci, options.lock ? lockedSelection(options.lock, arch) : await resolveArch(options, arch, repositories, world, offered));
  }
  options.onProgress?.('resolve', arches.length, arches.length, '');
  if (!options.lock && arches.length > 1) {
    const pins = commonPins(selections, available);
    if (pins.length) for (const arch of arches) selections.set(arch.oci, await resolveArch(options, arch, repositories, [...world, ...pins]));
  }
  return planImage({
    config,
    tag: options.tag,
    arches,
    selections,
    ...(options.annotations ? { annotations: options.annotations } : {}),
    ...(options.repositoryAppend ? { repositoryAppend: options.repositoryAppend } : {}),
    ...(options.keyringAppend ? { keyringAppend: options.keyringAppend } : {}),
    ...(options.buildDate !== undefined ? { buildDate: options.buildDate } : {}),
    ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
  });
}

/** Builds the image index for every architecture: plan, then apply. */
export async function buildImage(options: BuildImageOptions): Promise<BuildImageResult> {
  const plan = await planImageBuild(options);
  return applyImagePlan(plan, options);
}

type ApplyOptions = Pick<BuildImageOptions, 'loaded' | 'repository' | 'cwd' | 'logger' | 'onProgress' | 'remoteKeys' | 'recordedKeys'>;

/** A build key: its name in the image, where it came from, its bytes. */
interface PlanKey {
  name: string;
  url: string;
  content: Uint8Array;
}

/** The plan's keys: recorded bytes (a reproduction), keys the repository client fetched and trusted,
 *  or local files. */
function readPlanKeys(plan: ImagePlan, options: ApplyOptions): Promise<PlanKey[]> {
  const cwd = options.cwd ?? process.cwd();
  return Promise.all(
    plan.keyFiles.map(async (file) => {
      const recorded = options.recordedKeys?.get(file);
      if (recorded) return { name: isKeyUrl(file) ? basename(new URL(file).pathname) : basename(file), url: file, content: Buffer.from(recorded) };
      if (isKeyUrl(file)) {
        const remote = options.remoteKeys?.get(file);
        if (!remote) throw new ImageError('IMAGE_KEY_INVALID', `keyring ${file}: this key URL was not fetched and trusted by the repository client (list it in contents.keyring or pass it with -k/--keyring-append)`, { detail: { key: file } });
        return { name: remote.name, url: file, content: remote.content };
      }
      try {
        return { name: basename(file), url: file, content: await readFile(resolveLocalPath(file, cwd, options.loaded.configDirs)) };
      } catch (error) {
        throw new ImageError('IMAGE_KEY_INVALID', `keyring ${file}: cannot read the key file`, { cause: error, detail: { key: file } });
      }
    }),
  );
}

/** One architecture's planned packages as index records the repository client can fetch. */
function plannedSelections(planned: ImagePlan['arches'][number]): Array<{ record: PackageRecord; repository: PlannedRepository }> {
  return planned.packages.map((pkg) => {
    const record = emptyRecord();
    record.name = pkg.name;
    record.version = pkg.version;
    record.identity = pkg.identity;
    record.arch = planned.arch.apk;
    if (pkg.size !== undefined) record.size = pkg.size;
    return { record, repository: pkg.repository };
  });
}

/** Lock entries (apko's byte ranges and checksums of signature, control and data) of one arch's packages. */
async function lockEntries(arch: ArchInfo, fetched: ArchOutput['packages'], result: BuildArchResult): Promise<LockPackage[]> {
  const entries: LockPackage[] = [];
  for (const [index, pkg] of fetched.entries()) {
    const installed = result.installed[index]!;
    const signatureLength = installed.control.controlOffset;
    entries.push({
      name: pkg.record.name,
      url: pkg.url,
      version: pkg.record.version,
      architecture: arch.apk,
      signature: { range: signatureLength ? byteRange(0, signatureLength) : '', checksum: await signatureChecksum(pkg.path, signatureLength) },
      control: { range: byteRange(installed.control.controlOffset, installed.control.dataOffset), checksum: `sha1-${Buffer.from(installed.control.identitySha1, 'hex').toString('base64')}` },
      data: { range: byteRange(installed.control.dataOffset, installed.end.fileSize), checksum: `sha256-${Buffer.from(installed.end.datahash, 'hex').toString('base64')}` },
      checksum: installed.control.identity,
    });
  }
  return entries;
}

/** The installed packages a package's `depends` entries name, directly or through what they
 *  provide, without itself. A `!name` entry is a conflict (that name must not be installed, or only
 *  outside a version range), never a dependency. */
export function installedDependencies(depends: readonly string[], providerOf: ReadonlyMap<string, string>, installedNames: ReadonlySet<string>, self: string): string[] {
  const names = depends.filter((dep) => !dep.startsWith('!')).map((dep) => providerOf.get(dep.split(/[<>=~]/)[0]!));
  return [...new Set(names.filter((name): name is string => name !== undefined && installedNames.has(name) && name !== self))];
}

/** The SBOM's view of one arch's image: its packages with licences, sources and the dependencies
 *  among installed packages (through provides). */
function sbomImage(arch: ArchInfo, result: BuildArchResult, repositoryName: string): SbomImage {
  const installedNames = new Set(result.installed.map((pkg) => pkg.control.pkginfo.name));
  const provided = new Map<string, string>();
  for (const pkg of result.installed) {
    provided.set(pkg.control.pkginfo.name, pkg.control.pkginfo.name);
    for (const provide of pkg.control.pkginfo.provides) provided.set(provide.split('=')[0]!, pkg.control.pkginfo.name);
  }
  return {
    digest: result.image.manifest.digest,
    ociArch: arch.oci,
    apkArch: arch.apk,
    layers: result.layers.map((layer) => ({ digest: layer.digest, mediaType: MediaTypes.ociLayerGzip })),
    os: result.osRelease,
    created: rfc3339(result.created),
    repository: repositoryName,
    packages: result.installed.map((pkg) => {
      const info = pkg.control.pkginfo;
      return {
        name: info.name,
        version: info.version,
        arch: info.arch ?? arch.apk,
        ...(info.license ? { license: info.license } : {}),
        ...(info.description ? { description: info.description } : {}),
        ...(info.url ? { url: info.url } : {}),
        ...(info.origin ? { origin: info.origin } : {}),
        ...(info.maintainer ? { maintainer: info.maintainer } : {}),
        controlSha1: pkg.control.identitySha1,
        dataSha256: pkg.end.datahash,
        dependsOn: installedDependencies(info.depends, provided, installedNames, info.name),
        ...(result.packageSources.get(info.name) ? { sources: result.packageSources.get(info.name)! } : {}),
      };
    }),
  };
}

/** Fetches (verified) and assembles one architecture: installing starts with the first package
 *  ready in install order while the rest are still being fetched. */
async function applyArch(plan: ImagePlan, planned: ImagePlan['arches'][number], keys: readonly PlanKey[], repositoryName: string, options: ApplyOptions): Promise<{ output: ArchOutput; lock: LockPackage[] }> {
  const { arch } = planned;
  const selected = plannedSelections(planned);
  let fetchedCount = 0;
  const fetching = selected.map(async ({ record, repository }) => {
    const file = await options.repository.fetchPackage({ record, repository, arch: arch.apk });
    options.onProgress?.('fetch', ++fetchedCount, selected.length, `${record.name}-${record.version}`);
    return { record, repository, ...file };
  });
  for (const fetch of fetching) fetch.catch(() => {}); // each is awaited below
  const result = await buildArchImage({
    config: options.loaded.config,
    arch,
    packages: selected.map(({ record, repository }, index) => ({
      name: record.name,
      version: record.version,
      location: packageUrl(repository, arch.apk, record.name, record.version),
      ...(repository.tag ? { repositoryTag: repository.tag } : {}),
      open: () => openFetched(fetching[index]!),
    })),
    keys: keys.map((key) => ({ name: key.name, content: key.content })),
    repositories: plan.runtimeRepositories,
    world: planned.world,
    buildDate: plan.buildDate,
    buildDateIsFixed: plan.buildDateIsFixed,
    annotations: plan.annotations,
    warn: (message) => options.logger?.warn({ arch: arch.apk, detail: message }, 'image build warning'),
    onProgress: (done, total, item) => options.onProgress?.(`install ${arch.apk}`, done, total, item),
  });
  const fetched = await Promise.all(fetching);
  const packages = fetched.map((pkg) => ({ record: pkg.record, url: pkg.url, path: pkg.path, size: pkg.size, datahash: pkg.datahash }));
  return { output: { arch, result, packages, sbom: sbomImage(arch, result, repositoryName) }, lock: await lockEntries(arch, packages, result) };
}

/** Applies a plan: fetches and verifies every package, assembles each arch, the index and SBOMs. */
export async function applyImagePlan(plan: ImagePlan, options: ApplyOptions): Promise<BuildImageResult> {
  const keys = await readPlanKeys(plan, options);
  const arches = plan.arches.map((planned) => planned.arch);
  const repositories = [...new Map(plan.arches.flatMap((planned) => planned.packages.map((pkg) => [pkg.repository.url, pkg.repository] as const))).values()];
  const repositoryName = parseImageReference(plan.tag).repository.split('/').pop()!;
  const outputs: ArchOutput[] = [];
  const lockPackages: LockPackage[] = [];
  for (const planned of plan.arches) {
    const { output, lock } = await applyArch(plan, planned, keys, repositoryName, options);
    outputs.push(output);
    lockPackages.push(...lock);
  }

  const created = Math.max(...outputs.map((output) => output.result.created));
  const createdText = rfc3339(created);
  const index = assembleIndex(
    outputs.map((output) => output.result.image),
    { ...plan.annotations, 'org.opencontainers.image.created': createdText },
  );
  const perArch = new Map(outputs.map((output) => [output.arch.apk, spdxImageDocument(output.sbom, KILN_SBOM_TOOL)]));
  const spdxIndex = spdxIndexDocument({ digest: index.index.digest, created: createdText, repository: repositoryName, images: outputs.map((output) => output.sbom) }, KILN_SBOM_TOOL);
  const cyclonedx = new Map(outputs.map((output) => [output.arch.apk, cyclonedxImageDocument(output.sbom, KILN_SBOM_TOOL)]));
  const lock: LockFile = {
    version: 'v1',
    config: { name: options.loaded.path, checksum: options.loaded.checksum },
    contents: {
      keyring: keys.map((key) => ({ name: key.url.replace(/^https?:\/\//, ''), url: key.url, content: Buffer.from(key.content).toString('utf8') })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      build_repositories: [],
      runtime_repositories: [],
      repositories: arches.flatMap((arch) =>
        repositories.map((repository) => ({ name: `${repository.url.replace(/^[a-z]+:\/\//, '')}/${arch.apk}`, url: `${repository.url}/${arch.apk}/APKINDEX.tar.gz`, architecture: arch.apk })),
      ),
      packages: lockPackages,
    },
  };
  return { index, arches: outputs, lock, created: createdText, spdx: { index: spdxIndex, perArch }, cyclonedx };
}
