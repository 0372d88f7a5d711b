import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { ApkError, compareVersions, isConflict, parseDependency, versionMatches } from '../../apk/index.ts';
import { planInstall } from '../../apk/repository/index.ts';
import type { PackageSource, RepositoryIndex } from '../../apk/repository/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addRepositoryOptions, downloadProgress, loadIndexes, openRepositories } from './apk-resolve.ts';
import type { RepositoryFlags } from './apk-resolve.ts';

interface FetchFlags extends RepositoryFlags {
  output?: string;
  recursive?: boolean;
  concurrency?: string;
}

/** The best package for one `name[op version][@tag]` argument: highest version among records
 *  named so (apk fetch picks by package name, not by provides), lowest repository on a tie. */
function pickPackage(indexes: readonly RepositoryIndex[], spec: string): PackageSource {
  const dep = parseDependency(spec, { allowTag: true });
  if (!dep || isConflict(dep) || dep.broken) throw new KilnError('USAGE', `invalid package argument ${JSON.stringify(spec)}`);
  let best: PackageSource | undefined;
  for (const index of indexes) {
    if (dep.tag !== undefined && index.repository.tag !== dep.tag) continue;
    for (const record of index.records) {
      if (record.name !== dep.name || !versionMatches(record.version, dep.op, dep.version)) continue;
      if (!best || compareVersions(record.version, best.record.version) > 0) best = { record, repository: index.repository, arch: index.arch };
    }
  }
  if (!best) throw new ApkError('APK_REPO_PACKAGE_UNKNOWN', `${spec}: no such package in ${indexes.map((index) => index.url).join(', ')}`, { detail: { package: spec } });
  return best;
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const temp = join(resolve(to, '..'), `.${basename(to)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(from, temp);
    await rename(temp, to);
  } finally {
    await rm(temp, { force: true });
  }
}

/** `kiln apk fetch`: like `apk fetch`, download verified packages (and with --recursive their dependencies). */
export function registerApkFetch(apk: Command, context: CliContext): void {
  addRepositoryOptions(
    apk
      .command('fetch')
      .description('download packages (verified against the signed index) into a directory, like apk fetch')
      .argument('<packages...>', 'package names, optionally name=version or name@tag'),
  )
    .option('-o, --output <DIR>', 'directory to write NAME-VERSION.apk files to (default: current directory)')
    .option('-R, --recursive', 'also fetch every dependency (the resolved install set)')
    .option('--concurrency <N>', 'parallel downloads (default 6)')
    .option('--json', 'print {"fetched":[…]} on stdout')
    .action(async (packages: string[], flags: FetchFlags) => {
      const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
      if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) {
        throw new KilnError('USAGE', `--concurrency: expected an integer from 1 to 64, got ${JSON.stringify(flags.concurrency)}`);
      }
      const open = await openRepositories(flags, context);
      try {
        const indexes = await loadIndexes(open);
        const sources = flags.recursive ? planInstall(indexes, packages, open.arch).install : packages.map((spec) => pickPackage(indexes, spec));
        const progress = downloadProgress(context);
        const fetched = await open.handle.client.fetchPackages(sources, { ...(concurrency ? { concurrency } : {}), ...(progress ? { onProgress: progress } : {}) });
        const output = resolve(context.cwd, flags.output ?? '.');
        await mkdir(output, { recursive: true });
        const written = [];
        for (const item of fetched) {
          const file = join(output, `${item.source.record.name}-${item.source.record.version}.apk`);
          await copyAtomic(item.path, file);
          written.push({ item, file });
        }
        if (flags.json) {
          printJson(context, {
            fetched: written.map(({ item, file }) => ({
              name: item.source.record.name,
              version: item.source.record.version,
              arch: item.source.record.arch ?? item.source.arch,
              identity: item.identity,
              repository: item.source.repository.url,
              ...(item.source.repository.tag ? { tag: item.source.repository.tag } : {}),
              url: item.url,
              file,
              size: item.size,
              cached: item.cached,
            })),
          });
        } else {
          for (const { item, file } of written) context.stdout(`Downloading ${item.source.record.name}-${item.source.record.version} -> ${file}\n`);
        }
      } finally {
        open.handle.close();
      }
    });
}
