import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Option } from 'commander';
import type { Command } from 'commander';
import { hostArchName } from '../../apk/format/arch.ts';
import { KilnError } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { defaultCacheDir, isKeyUrl, openRepositoryClient, parseRepositories, parseRepository, planInstallWith, proxyFromEnvironment, withPreparedResolver } from '../../apk/repository/index.ts';
import type { DownloadProgress, PackageSource, Repository, RepositoryClientHandle, RepositoryIndex } from '../../apk/repository/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

/** Flags shared by `kiln apk resolve` and `kiln apk fetch` (apk/apko spellings). */
export interface RepositoryFlags {
  repository?: string[];
  repositoriesFile?: string;
  keyring?: string[];
  allowUntrusted?: boolean;
  arch?: string;
  cacheDir?: string;
  cacheMaxAge?: string;
  timeout?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** apk's name for the machine's architecture. */
export function hostArch(): string {
  return hostArchName(process.arch);
}

/** Adds the repository, trust and cache flags to a command. */
export function addRepositoryOptions(command: Command): Command {
  return command
    .addOption(new Option('-X, --repository <[@tag ]URL>', 'repository to use (repeatable); https://, http://, file:// or a path; "@tag URL" pins a tag').argParser(collect))
    .option('--repositories-file <FILE>', 'read repositories from FILE (/etc/apk/repositories syntax); used before --repository')
    .addOption(new Option('-k, --keyring <PATH>', 'trusted public key file, directory of keys, or https:// URL of a key (repeatable); key name = file name').argParser(collect))
    .option('--allow-untrusted', 'accept indexes without a signature by a trusted key')
    .option('--arch <ARCH>', `architecture to resolve for (default: ${hostArch()})`)
    .option('--cache-dir <DIR>', 'cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)')
    .option('--cache-max-age <MINUTES>', 'use a cached index younger than this without asking the server (default 0: revalidate)')
    .option('--timeout <SECONDS>', 'network idle timeout per request (default 30)');
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new KilnError('USAGE', `${flag}: expected a non-negative number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Repositories, arch and an open client from the shared flags. */
interface OpenRepositories {
  repositories: Repository[];
  arch: string;
  handle: RepositoryClientHandle;
}

export async function openRepositories(flags: RepositoryFlags, context: CliContext): Promise<OpenRepositories> {
  const repositories: Repository[] = [];
  if (flags.repositoriesFile) {
    const path = resolve(context.cwd, flags.repositoriesFile);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new KilnError('USAGE', `--repositories-file ${flags.repositoriesFile}: ${(cause as Error).message}`, { cause });
    }
    repositories.push(...parseRepositories(text, path));
  }
  for (const spec of flags.repository ?? []) {
    // A location that is neither a URL nor absolute is a directory relative to the working directory.
    const local = spec.trim().replace(/^(@\S+\s+)?(\S+)$/, (_match, tag: string | undefined, location: string) =>
      `${tag ?? ''}${/^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('/') ? location : resolve(context.cwd, location)}`,
    );
    repositories.push(parseRepository(local, `--repository ${spec}`));
  }
  if (repositories.length === 0) throw new KilnError('USAGE', 'no repositories: give --repository URL or --repositories-file FILE');
  if (!flags.keyring?.length && !flags.allowUntrusted) throw new KilnError('USAGE', 'no trusted keys: give --keyring DIR|FILE or --allow-untrusted');
  const arch = flags.arch ?? hostArch();
  if (!/^[A-Za-z0-9_.-]+$/.test(arch)) throw new KilnError('USAGE', `--arch: invalid architecture ${JSON.stringify(arch)}`);
  const maxAge = positiveNumber(flags.cacheMaxAge, '--cache-max-age');
  const timeout = positiveNumber(flags.timeout, '--timeout');
  const handle = await openRepositoryClient({
    cacheDir: flags.cacheDir ? resolve(context.cwd, flags.cacheDir) : defaultCacheDir(context.env, context.env.HOME ?? homedir()),
    keyringPaths: (flags.keyring ?? []).map((path) => (isKeyUrl(path) ? path : resolve(context.cwd, path))),
    allowUntrusted: Boolean(flags.allowUntrusted),
    ...(maxAge !== undefined ? { indexMaxAgeMs: maxAge * 60_000 } : {}),
    ...(timeout !== undefined ? { timeoutMs: Math.max(1, timeout * 1000) } : {}),
    proxy: proxyFromEnvironment(context.env),
    logger: warningsToStderr(context),
  });
  return { repositories, arch, handle };
}

/** Shows the client's warnings (stale index used, cached package replaced) apk-style on stderr. */
function warningsToStderr(context: CliContext): Logger {
  const ignore = (): void => undefined;
  return {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (fields, message) => {
      const reason = typeof fields.reason === 'string' ? ` (${fields.reason})` : '';
      context.stderr(`WARNING: ${message}: ${String(fields.url ?? '')}${reason}\n`);
    },
  };
}

/** Loads every repository's index (verified) for the arch. */
export async function loadIndexes(open: OpenRepositories): Promise<RepositoryIndex[]> {
  return open.handle.client.loadIndexes(open.repositories, open.arch);
}

/** Progress line on stderr, only on a terminal. */
export function downloadProgress(context: CliContext): ((progress: DownloadProgress) => void) | undefined {
  if (!context.isTTY) return undefined;
  return (progress) => {
    const mib = (progress.bytes / 2 ** 20).toFixed(1);
    context.stderr(`\rdownloading ${progress.done}/${progress.total ?? '?'} packages, ${mib} MiB${progress.done === progress.total ? '\n' : ''}`);
  };
}

/** One `--json` plan entry. */
function planEntry(source: PackageSource, client: RepositoryClientHandle['client']): Record<string, unknown> {
  const { record, repository } = source;
  return {
    name: record.name,
    version: record.version,
    arch: record.arch ?? source.arch,
    identity: record.identity,
    repository: repository.url,
    ...(repository.tag ? { tag: repository.tag } : {}),
    url: client.packageUrl(source),
    ...(record.size !== undefined ? { size: record.size } : {}),
    ...(record.installedSize !== undefined ? { installedSize: record.installedSize } : {}),
  };
}

/** `kiln apk resolve`: load and verify the indexes, resolve the world, print the install plan. */
export function registerApkResolve(apk: Command, context: CliContext): void {
  addRepositoryOptions(
    apk
      .command('resolve')
      .description('resolve a world against signed repositories and print the install plan (like apk add --simulate on an empty root)')
      .argument('<world...>', 'dependencies: name, name@tag, name>=version, !name, so:libfoo.so.1 …'),
  )
    .option('--json', 'print {"install":[{name,version,arch,identity,repository,url,…}]} in install order')
    .action(async (world: string[], flags: RepositoryFlags) => {
      // One solve in a short-lived process runs mostly before V8's optimizing compiler would pay off:
      // compiling costs more than it saves here (about a fifth of the command's CPU, same plan).
      if (context.shortLivedProcess) setFlagsFromString('--no-opt');
      const open = await openRepositories(flags, context);
      try {
        // Verified indexes seen before open as the universe prepared from them (no record parsing).
        const indexes = await open.handle.client.verifyIndexes(open.repositories, open.arch);
        const plan = await withPreparedResolver(indexes, open.arch, { cache: open.handle.cache, logger: warningsToStderr(context) }, (resolver) => planInstallWith(resolver, indexes, world));
        if (flags.json) printJson(context, { install: plan.install.map((source) => planEntry(source, open.handle.client)) });
        else context.stdout(plan.text);
      } finally {
        open.handle.close();
      }
    });
}
