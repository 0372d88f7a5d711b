import { Option } from 'commander';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApkError, loadSigningKey } from '../../apk/index.ts';
import type { SigningKey } from '../../apk/index.ts';
import { defaultCacheDir, isKeyUrl, openRepositoryClient } from '../../apk/repository/index.ts';
import {
  parseEnvFile,
  BuildError,
  createApkPublisher,
  createBwrapRunner,
  createFakeRunner,
  createHostEnvironmentProvider,
  createImageEnvironmentProvider,
} from '../../package-builder/index.ts';
import type { BuildEnvironmentProvider, DebianSourcePort, PackagePublisher, SandboxRunner, StepLogLine } from '../../package-builder/index.ts';
import { AptSourceFetcher } from '../../debian/index.ts';
import { KilnError, loadYamlBounded, readInputText, unreadableInput } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';

/** Flags shared by `kiln pkg build`, `build-all` and `test`. */
export interface PkgBuildFlags {
  arch?: string;
  outDir: string;
  signingKey?: string;
  runner: string;
  bootstrapHost?: boolean;
  pipelineDir?: string[];
  buildDate?: string;
  namespace?: string;
  gitCommit?: string;
  gitRepoUrl?: string;
  license?: string;
  varsFile?: string;
  envFile?: string;
  buildOption?: string[];
  generateIndex?: boolean;
  cacheDir?: string;
  repositoryAppend?: string[];
  keyringAppend?: string[];
  apkCacheDir?: string;
  debianSourceCache?: string;
  ignoreSignatures?: boolean;
  json?: boolean;
}

/** melange's -i/--interactive, honoured only when stdin and stderr are terminals (a shell on a pipe
 *  would hang a CI job); otherwise the flag is ignored with a note. */
export function interactiveRequested(flags: { interactive?: boolean }, context: CliContext, stdinIsTTY = Boolean(process.stdin.isTTY)): boolean {
  if (!flags.interactive) return false;
  if (stdinIsTTY && context.isTTY) return true;
  context.stderr('kiln: note: --interactive ignored: stdin is not a terminal\n');
  return false;
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the melange-style build flags. */
export function addBuildOptions(command: Command): Command {
  return command
    .option('--arch <ARCH>', 'architecture to build for (apk or OCI name; default the host\'s)')
    .option('--out-dir <DIR>', 'output directory (melange layout OUT/ARCH/NAME-VERSION.apk)', './packages/')
    .option('--signing-key <KEY>', 'RSA private key (PEM) signing packages and the index; the signature is named <key file>.pub. Without it outputs are unsigned (said on stderr) and a signed index in the output directory is refused')
    .addOption(new Option('--runner <RUNNER>', 'sandbox runner').choices(['bubblewrap', 'fake']).default('bubblewrap'))
    .option('--bootstrap-host', 'use the host root filesystem (read-only) as the build environment instead of assembling it from packages')
    .addOption(new Option('--pipeline-dir <DIR>', 'directory of extra pipeline definitions, searched before the built-ins (repeatable)').argParser(collect))
    .option('--build-date <RFC3339>', 'timestamp of everything built (SOURCE_DATE_EPOCH from the environment wins)')
    .option('--namespace <NAME>', 'distribution namespace for SBOM and maintainer', 'unknown')
    .option('--git-commit <SHA>', 'commit of the recipe repository (default: detected, else unknown)')
    .option('--git-repo-url <URL>', 'URL of the recipe repository, for the SBOM')
    .option('--license <SPDX>', 'license of the recipe itself, for the SBOM', 'NOASSERTION')
    .option('--vars-file <FILE>', 'YAML map overriding recipe vars')
    .option('--env-file <FILE>', 'NAME=VALUE lines preloaded into every build step\'s environment (the recipe\'s environment wins), as melange --env-file')
    .addOption(new Option('--build-option <NAME>', 'enable a build option declared in the recipe (repeatable)').argParser(collect))
    .option('--no-generate-index', 'do not update OUT/ARCH/APKINDEX.tar.gz')
    .option('--cache-dir <DIR>', 'host directory mounted at /var/cache/melange')
    .addOption(new Option('-r, --repository-append <REPO>', 'repository for the build environment (path or URL; repeatable)').argParser(collect))
    .addOption(new Option('-k, --keyring-append <KEY>', 'public key trusted for the build environment\'s repositories (repeatable)').argParser(collect))
    .option('--debian-source-cache <DIR>', 'verified Debian source packages fetched for debian/source steps (default: $XDG_CACHE_HOME/kiln/debian-sources)')
    .option('--apk-cache-dir <DIR>', 'cache of fetched packages and indexes (default: $XDG_CACHE_HOME/kiln)')
    .option('--ignore-signatures', 'accept build-environment repositories without a trusted signature')
    .option('--json', 'print a JSON summary on stdout');
}

/** SOURCE_DATE_EPOCH from the environment, else --build-date, else undefined (the build then takes
 *  a Debian source's changelog date, or 0). */
export function sourceDateEpoch(flags: PkgBuildFlags, context: CliContext): number | undefined {
  const env = context.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && env !== '') {
    if (!/^\d+$/.test(env)) throw new KilnError('USAGE', `SOURCE_DATE_EPOCH must be an integer number of seconds, got ${JSON.stringify(env)}`);
    return Number(env);
  }
  if (flags.buildDate) {
    const ms = Date.parse(flags.buildDate);
    if (Number.isNaN(ms)) throw new KilnError('USAGE', `--build-date: not an RFC 3339 timestamp: ${JSON.stringify(flags.buildDate)}`);
    return Math.floor(ms / 1000);
  }
  return undefined;
}

/** The host-side fetcher of pinned Debian sources (apt-get source against private lists). */
export function createDebianSources(flags: PkgBuildFlags, context: CliContext, logger?: Logger): DebianSourcePort {
  const cacheDir = flags.debianSourceCache ? resolve(context.cwd, flags.debianSourceCache) : join(defaultCacheDir(context.env, context.env.HOME ?? homedir()), 'debian-sources');
  return new AptSourceFetcher({ cacheDir, ...(logger ? { logger } : {}) });
}

/** Reads `--env-file` (melange's preloaded environment); undefined without the flag. */
export async function readEnvFile(path: string | undefined): Promise<Record<string, string> | undefined> {
  if (!path) return undefined;
  return parseEnvFile(await readInputText(path, { what: '--env-file' }), path);
}

export async function readVarsFile(path: string | undefined): Promise<Record<string, string> | undefined> {
  if (!path) return undefined;
  let value: unknown;
  try {
    value = loadYamlBounded(await readInputText(path, { what: '--vars-file' }), path, { schema: 'failsafe' });
  } catch (error) {
    throw new KilnError('USAGE', `--vars-file: ${(error as Error).message}`, { cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new KilnError('USAGE', `--vars-file ${path}: must be a YAML map of strings`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new KilnError('USAGE', `--vars-file ${path}: value of ${key} must be a string`);
    out[key] = item;
  }
  return out;
}

export function createRunner(flags: PkgBuildFlags): SandboxRunner {
  return flags.runner === 'fake' ? createFakeRunner() : createBwrapRunner();
}

/** The build-environment provider: the host root (--bootstrap-host) or one assembled from
 *  packages by the image assembler. Call `close` when done. */
export async function createEnvironment(flags: PkgBuildFlags, context: CliContext): Promise<{ provider: BuildEnvironmentProvider; close: () => void }> {
  if (flags.bootstrapHost && (flags.repositoryAppend ?? []).length === 0) return { provider: createHostEnvironmentProvider(), close: () => {} };
  const keyring = (flags.keyringAppend ?? []).map((key) => (isKeyUrl(key) ? key : resolve(context.cwd, key)));
  const open = (keyringPaths: readonly string[]) =>
    openRepositoryClient({
      cacheDir: flags.apkCacheDir ? resolve(context.cwd, flags.apkCacheDir) : defaultCacheDir(context.env, context.env.HOME ?? homedir()),
      keyringPaths,
      ...(flags.ignoreSignatures ? { allowUntrusted: true } : {}),
    });
  const handle = await open(keyring);
  const repositories = (flags.repositoryAppend ?? []).map((repo) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) ? repo : resolve(context.cwd, repo)));
  const assembled = createImageEnvironmentProvider({
      repository: handle.client,
      repositories,
      keyring,
      remoteKeys: handle.remoteKeys,
      // A recipe with its own keyring gets a client trusting the -k keys plus its own, and nothing more.
      openRepository: async (own) => {
        const recipe = await open([...keyring, ...own]);
        return { repository: recipe.client, remoteKeys: recipe.remoteKeys, close: recipe.close };
      },
      cwd: context.cwd,
    });
  // On the host, appended repositories feed the recipe's packages into a sysroot beside it.
  if (flags.bootstrapHost) return { provider: createHostEnvironmentProvider(repositories.length > 0 ? { sysroot: assembled } : {}), close: handle.close };
  return { provider: assembled, close: handle.close };
}

export async function createPublisher(flags: PkgBuildFlags, sde: number | undefined, context: CliContext): Promise<PackagePublisher> {
  const signingKey = flags.signingKey ? await readSigningKey(resolve(context.cwd, flags.signingKey), `--signing-key ${flags.signingKey}`) : undefined;
  return createApkPublisher({ ...(signingKey ? { signingKey } : {}), indexMtime: sde ?? 0 });
}

/**
 * Loads the RSA private key that signs packages and indexes. `origin` says where the path came
 * from (`--signing-key K`, or a default) for the messages, which name the file looked at: missing
 * (SIGNING_KEY_NOT_FOUND, followed by `whenMissing` if given), unreadable (IO), or a public key
 * given where the private key belongs (APK_KEY_INVALID).
 */
export async function readSigningKey(path: string, origin: string, whenMissing?: string): Promise<SigningKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new BuildError('SIGNING_KEY_NOT_FOUND', `signing key ${path} (${origin}): no such file${whenMissing ? `; ${whenMissing}` : ''}`, { cause: error, detail: { key: path } });
    }
    throw unreadableInput('signing key', path, error);
  }
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw new ApkError('APK_KEY_INVALID', `signing key ${path} (${origin}) is a public key; signing needs the private key${path.endsWith('.pub') ? ` (${path.slice(0, -'.pub'.length)}?)` : ''}`, {
      detail: { key: path },
    });
  }
  return loadSigningKey(path);
}

/** The plain statement that outputs are not signed, printed on stderr whenever a run had no key. */
export function unsignedNotice(what: string): string {
  return `kiln: warning: NOT signed (no --signing-key was given): ${what}; apk refuses unsigned packages and indexes unless it is told to allow untrusted ones\n`;
}

/** Streams step output to stderr, each line prefixed with its step. */
export function stepLogger(context: CliContext, prefix = ''): (line: StepLogLine) => void {
  return (line) => context.stderr(`${prefix}[${line.step}] ${line.line}\n`);
}

/** The build options `pkg build` and `pkg build-all` both take from their common flags. */
export function sharedBuildOptions(flags: PkgBuildFlags, context: CliContext, varsOverride: Record<string, string> | undefined) {
  return {
    ...(flags.arch ? { arch: flags.arch } : {}),
    ...(flags.pipelineDir ? { pipelineDirs: flags.pipelineDir.map((dir) => resolve(context.cwd, dir)) } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    ...(flags.gitCommit ? { gitCommit: flags.gitCommit } : {}),
    ...(flags.gitRepoUrl ? { gitRepoUrl: flags.gitRepoUrl } : {}),
    ...(flags.license ? { license: flags.license } : {}),
    ...(varsOverride ? { varsOverride } : {}),
    ...(flags.buildOption ? { buildOptions: flags.buildOption } : {}),
    generateIndex: flags.generateIndex !== false,
    ...(flags.cacheDir ? { cacheDir: resolve(context.cwd, flags.cacheDir) } : {}),
  };
}
