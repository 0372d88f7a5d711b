import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashFile, silentLogger } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { parseChangelog } from './format/changelog.ts';
import type { ChangelogEntry } from './format/changelog.ts';
import { compareDebianVersions, field, fileCreatedByDiff, parseControl, sourceFileRole, sourceFiles, stripClearSignature } from './format/control.ts';
import type { SourceFile, SourceFileRole } from './format/control.ts';
import { parseSeries } from './format/series.ts';
import { DebianError } from './errors.ts';

const run = promisify(execFile);

/** A Debian source package pinned by a recipe. */
export interface DebianSourceRequest {
  package: string;
  version: string;
  dscSha256: string;
  /** The upstream tarball (3.0 quilt) or the only tarball (native). */
  origSha256?: string;
  debianSha256?: string;
}

/** One verified file in the cache. */
export interface FetchedFile extends SourceFile {
  role: SourceFileRole;
  /** Its path in the cache (`sha256:<hex>`). */
  path: string;
}

/** A verified source package: its files, the patches its series applies, and its changelog. */
export interface FetchedDebianSource {
  package: string;
  version: string;
  files: FetchedFile[];
  patches: { name: string; sha256: string }[];
  changelog: ChangelogEntry[];
  /** Date of the newest changelog entry (dpkg-parsechangelog -STimestamp). */
  sourceDateEpoch: number;
}

/** Where sources come from; deb-src lines for the same mirror and suites as the host's. */
export interface AptSourceOptions {
  /** Cache directory: verified files as `sha256:<hex>`, apt's private lists under `apt/`. */
  cacheDir: string;
  mirrors?: readonly { uri: string; suites: readonly string[] }[];
  /** Lists older than this are refreshed before a download (default 6 h). */
  listsMaxAgeMs?: number;
  logger?: Logger;
  now?: () => number;
}

export const DEFAULT_DEBIAN_MIRRORS = [
  { uri: 'http://deb.debian.org/debian', suites: ['bookworm', 'bookworm-updates'] },
  { uri: 'http://deb.debian.org/debian-security', suites: ['bookworm-security'] },
] as const;

/** Fetches Debian source packages with `apt-get source --download-only` against private lists
 *  (the machine's apt state is never touched), verifies every file against the recipe's pins and
 *  the .dsc, and keeps them content-addressed so later builds run offline. */
/** Debian policy's source package names and version characters. Both reach apt's command line on
 *  the host: a name such as `-c/some/file` would be read as an option. */
const DEBIAN_SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const DEBIAN_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+~:-]*$/;

function checkSourceName(name: string): void {
  if (!DEBIAN_SOURCE_NAME.test(name)) throw new DebianError('DEBIAN_SOURCE_INVALID', `${JSON.stringify(name)} is not a Debian source package name (lower-case letters, digits, + . -, starting with a letter or digit)`, { detail: { package: name } });
}

export class AptSourceFetcher {
  readonly cacheDir: string;
  private readonly logger: Logger;
  /** One `apt-get update` at a time per fetcher: parallel builds share it (single flight). */
  private listsUpdate: Promise<void> | undefined;

  constructor(private readonly options: AptSourceOptions) {
    this.cacheDir = options.cacheDir;
    this.logger = options.logger ?? silentLogger;
  }

  /** The verified source: from the cache when every file is there, else downloaded and verified. */
  async fetch(request: DebianSourceRequest): Promise<FetchedDebianSource> {
    checkSourceName(request.package);
    if (!DEBIAN_VERSION.test(request.version)) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package}: ${JSON.stringify(request.version)} is not a Debian version`, { detail: { package: request.package, version: request.version } });
    await mkdir(this.cacheDir, { recursive: true });
    let files = await this.fromCache(request);
    if (!files) {
      await this.download(request);
      files = await this.fromCache(request);
      if (!files) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: downloaded, but its files are not all in the cache ${this.cacheDir}`, { detail: { package: request.package, version: request.version } });
    }
    return this.describe(request, files);
  }

  /** Versions of a source package the private lists know, newest first. */
  async availableVersions(name: string): Promise<string[]> {
    checkSourceName(name);
    await this.updateLists();
    const versions = new Set<string>();
    const { stdout } = await run('apt-cache', [...this.aptOptions(), 'showsrc', '--only-source', name], { maxBuffer: 64 * 1024 * 1024 }).catch(() => ({ stdout: '' }));
    for (const paragraph of parseControl(stdout)) {
      const version = field(paragraph, 'Version');
      if (version && (field(paragraph, 'Package') ?? name) === name) versions.add(version);
    }
    return [...versions].sort((a, b) => compareDebianVersions(b, a));
  }

  private cachePath(sha256: string): string {
    return join(this.cacheDir, `sha256:${sha256}`);
  }

  /** The .dsc's files from the cache, each re-hashed; undefined when any is missing. */
  private async fromCache(request: DebianSourceRequest): Promise<FetchedFile[] | undefined> {
    const dscPath = this.cachePath(request.dscSha256);
    let dscText: string;
    try {
      dscText = await readFile(dscPath, 'utf8');
    } catch {
      return undefined;
    }
    const dscHash = createHash('sha256').update(dscText).digest('hex');
    if (dscHash !== request.dscSha256) {
      // A cache entry that no longer matches its name is dropped, never used.
      await rm(dscPath, { force: true });
      return undefined;
    }
    const paragraph = parseControl(stripClearSignature(dscText))[0];
    if (!paragraph) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: the .dsc has no control paragraph`, { detail: { package: request.package } });
    const listed = sourceFiles(paragraph);
    const dscName = `${request.package}_${request.version.replace(/^\d+:/, '')}.dsc`;
    const files: FetchedFile[] = [{ name: dscName, size: Buffer.byteLength(dscText), sha256: request.dscSha256, role: 'dsc', path: dscPath }];
    for (const file of listed) {
      const path = this.cachePath(file.sha256);
      try {
        await stat(path);
      } catch {
        return undefined;
      }
      files.push({ ...file, role: sourceFileRole(file.name), path });
    }
    this.checkPins(request, files);
    return files;
  }

  /** The recipe's pins must name files of this .dsc. */
  private checkPins(request: DebianSourceRequest, files: readonly FetchedFile[]): void {
    const pins: [string | undefined, SourceFileRole[], string][] = [
      [request.origSha256, ['orig', 'native'], 'orig-sha256'],
      [request.debianSha256, ['debian', 'diff'], 'debian-sha256'],
    ];
    for (const [pin, roles, input] of pins) {
      const candidates = files.filter((file) => roles.includes(file.role));
      if (!pin) {
        if (candidates.length > 0) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: ${input} is required (the .dsc lists ${candidates.map((file) => `${file.name} sha256 ${file.sha256}`).join(', ')})`, { detail: { package: request.package, input } });
        continue;
      }
      const match = candidates.find((file) => file.sha256 === pin);
      if (!match) {
        const listed = candidates.map((file) => `${file.name} sha256 ${file.sha256}`).join(', ') || 'no such file';
        throw new DebianError('DEBIAN_SOURCE_CHECKSUM_MISMATCH', `debian source ${request.package} ${request.version}: ${input} ${pin} does not match its .dsc, which lists ${listed}`, { detail: { package: request.package, input, expected: pin } });
      }
    }
  }

  private aptOptions(): string[] {
    const base = join(this.cacheDir, 'apt');
    return [
      '-o', `Dir::Etc::sourcelist=${join(base, 'sources.list')}`,
      '-o', 'Dir::Etc::sourceparts=/dev/null',
      '-o', `Dir::State::Lists=${join(base, 'lists')}`,
      '-o', `Dir::Cache=${join(base, 'cache')}`,
      '-o', 'APT::Sandbox::User=root',
      '-o', 'Acquire::Retries=3',
    ];
  }

  /** `apt-get update` into private lists when they are missing or stale (once per fetcher; callers
   *  running in parallel wait for the same update). */
  private updateLists(): Promise<void> {
    this.listsUpdate ??= this.refreshLists().catch((error: unknown) => {
      this.listsUpdate = undefined;
      throw error;
    });
    return this.listsUpdate;
  }

  private async refreshLists(): Promise<void> {
    const base = join(this.cacheDir, 'apt');
    await mkdir(join(base, 'lists', 'partial'), { recursive: true });
    await mkdir(join(base, 'cache', 'archives', 'partial'), { recursive: true });
    const mirrors = this.options.mirrors ?? DEFAULT_DEBIAN_MIRRORS;
    // One line per suite: apt's one-line format takes one suite per line.
    const lines = mirrors.flatMap((mirror) => mirror.suites.map((suite) => `deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror.uri} ${suite} main`));
    await writeFile(join(base, 'sources.list'), `${lines.join('\n')}\n`);
    const stamp = join(base, 'lists', '.kiln-updated');
    const maxAge = this.options.listsMaxAgeMs ?? 6 * 3600_000;
    const now = (this.options.now ?? Date.now)();
    const fresh = await stat(stamp).then((info) => now - info.mtimeMs < maxAge).catch(() => false);
    if (!fresh) {
      this.logger.info({ mirrors: mirrors.map((mirror) => mirror.uri) }, 'updating debian source lists');
      try {
        await run('apt-get', [...this.aptOptions(), '-q', 'update'], { maxBuffer: 16 * 1024 * 1024 });
      } catch (error) {
        const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').slice(-3).join('; ');
        throw new DebianError('DEBIAN_APT_FAILED', `apt-get update of the debian source lists (${mirrors.map((mirror) => mirror.uri).join(', ')}) failed: ${stderr}`, { cause: error });
      }
      await writeFile(stamp, '');
    }
  }

  /** Downloads NAME=VERSION into a fresh directory, verifies every file, then moves each into the
   *  cache under its hash. A mismatch leaves nothing in the cache. */
  private async download(request: DebianSourceRequest): Promise<void> {
    await this.updateLists();
    const work = await mkdtemp(join(this.cacheDir, '.download-'));
    try {
      try {
        this.logger.info({ package: request.package, version: request.version }, 'downloading debian source');
        await run('apt-get', [...this.aptOptions(), '-q', 'source', '--download-only', `${request.package}=${request.version}`], { cwd: work, maxBuffer: 16 * 1024 * 1024 });
      } catch (error) {
        const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
        const available = await this.availableVersions(request.package);
        const listed = available.includes(request.version);
        const why = listed
          ? `it is listed, but the mirror does not serve its files (${stderr.split('\n').find((line) => /^E: |^Err/.test(line)) ?? stderr.split('\n').pop() ?? 'download failed'})`
          : 'the mirror does not list it';
        throw new DebianError('DEBIAN_SOURCE_UNAVAILABLE', `debian source ${request.package} ${request.version} is not available: ${why}; available: ${available.length ? available.join(', ') : 'none (no such source package)'}`, {
          cause: error,
          detail: { package: request.package, version: request.version, available },
        });
      }
      const names = (await readdir(work)).filter((name) => !name.startsWith('.'));
      const dsc = names.find((name) => name.endsWith('.dsc'));
      if (!dsc) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: apt-get downloaded no .dsc`, { detail: { package: request.package } });
      const dscHash = await hashFile(join(work, dsc));
      if (dscHash !== request.dscSha256) {
        throw new DebianError('DEBIAN_SOURCE_CHECKSUM_MISMATCH', `debian source ${request.package} ${request.version}: ${dsc}: expected sha256 ${request.dscSha256}, got ${dscHash}`, { detail: { package: request.package, file: dsc, expected: request.dscSha256, actual: dscHash } });
      }
      const paragraph = parseControl(stripClearSignature(await readFile(join(work, dsc), 'utf8')))[0];
      const listed = paragraph ? sourceFiles(paragraph) : [];
      if (listed.length === 0) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: ${dsc} lists no Checksums-Sha256 files`, { detail: { package: request.package, file: dsc } });
      const verified: [string, string][] = [[join(work, dsc), request.dscSha256]];
      for (const file of listed) {
        const actual = await hashFile(join(work, file.name)).catch((error: unknown) => {
          throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: ${file.name}, listed in ${dsc}, was not downloaded`, { cause: error, detail: { package: request.package, file: file.name } });
        });
        if (actual !== file.sha256) {
          throw new DebianError('DEBIAN_SOURCE_CHECKSUM_MISMATCH', `debian source ${request.package} ${request.version}: ${file.name}: ${dsc} lists sha256 ${file.sha256}, got ${actual}`, { detail: { package: request.package, file: file.name, expected: file.sha256, actual } });
        }
        verified.push([join(work, file.name), actual]);
      }
      const pinned = listed.map((file) => ({ ...file, role: sourceFileRole(file.name), path: '' }));
      this.checkPins(request, [{ name: dsc, size: 0, sha256: request.dscSha256, role: 'dsc', path: '' }, ...pinned]);
      for (const [path, hash] of verified) await rename(path, this.cachePath(hash));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Reads debian/changelog and debian/patches/series out of the verified debian tarball (or the
   *  changelog out of a format 1.0 .diff.gz, which has no series of its own to apply). */
  private async describe(request: DebianSourceRequest, files: FetchedFile[]): Promise<FetchedDebianSource> {
    const diff = files.find((file) => file.role === 'diff');
    const tarball = files.find((file) => file.role === 'debian') ?? files.find((file) => file.role === 'native') ?? diff;
    if (!tarball) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: the .dsc lists neither a .debian.tar, a .diff.gz nor a native tarball`, { detail: { package: request.package } });
    const member = async (name: string): Promise<string | undefined> => {
      if (tarball === diff) {
        const { stdout } = await run('gzip', ['-dc', tarball.path], { maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' });
        return fileCreatedByDiff(stdout.toString('utf8'), name);
      }
      const { stdout } = await run('tar', ['-xOf', tarball.path, '--wildcards', `*${name}`], { maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' }).catch(() => ({ stdout: undefined }));
      return stdout && stdout.length > 0 ? stdout.toString('utf8') : undefined;
    };
    const changelogText = await member('debian/changelog');
    if (!changelogText) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: ${tarball.name} has no debian/changelog`, { detail: { package: request.package, file: tarball.name } });
    const { entries, problems } = parseChangelog(changelogText);
    const newest = entries[0];
    if (!newest || problems.length > 0 && entries.length === 0) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: debian/changelog: ${problems[0] ?? 'no entries'}`, { detail: { package: request.package } });
    if (newest.version !== request.version) {
      throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: debian/changelog's newest entry is ${newest.version}`, { detail: { package: request.package, changelog: newest.version } });
    }
    const patches: { name: string; sha256: string }[] = [];
    const format = tarball.role === 'debian' ? (await member('debian/source/format'))?.trim() : '1.0';
    const series = format === '3.0 (quilt)' ? await member('debian/patches/series') : undefined;
    for (const patch of parseSeries(series ?? '')) {
      const text = await member(`debian/patches/${patch.name}`);
      if (text === undefined) throw new DebianError('DEBIAN_SOURCE_INVALID', `debian source ${request.package} ${request.version}: debian/patches/series names ${patch.name}, which ${tarball.name} does not contain`, { detail: { package: request.package, patch: patch.name } });
      patches.push({ name: patch.name, sha256: createHash('sha256').update(text).digest('hex') });
    }
    return { package: request.package, version: request.version, files, patches, changelog: entries, sourceDateEpoch: newest.timestamp };
  }
}
