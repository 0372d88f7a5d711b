import { resolve } from '../resolve-api.ts';
import type { Resolution, ResolveFlags } from '../resolve-api.ts';
import type { PackageRecord } from '../package-api.ts';
import { ApkError } from '../errors.ts';
import type { PackageSource, RepositoryIndex } from './client.ts';
import { identityBytes } from './identity.ts';

/** The install plan of a world over loaded indexes: what to fetch from where, in install order. */
export interface InstallPlan {
  /** Every package of the resulting system, dependencies first (apk's order), with its source. */
  install: PackageSource[];
  /** What `apk add --simulate` prints for this plan. */
  text: string;
  /** The resolver's full answer. */
  resolution: Resolution;
}

/**
 * Resolves `world` over verified indexes with the resolver (repository order = priority; tags from
 * `@tag URL`) and maps each chosen package to the first repository whose index lists its identity,
 * which is where apk downloads it from. An unsatisfiable world throws the resolver's
 * ApkResolveError (code APK_RESOLVE_UNSATISFIABLE, message = apk's explanation). Pure.
 */
export function planInstall(
  indexes: readonly RepositoryIndex[],
  world: readonly string[],
  arch: string | readonly string[],
  options: { installed?: readonly PackageRecord[]; flags?: ResolveFlags } = {},
): InstallPlan {
  const resolution = resolve({
    repositories: indexes.map((index) => ({ records: index.records, name: index.repository.url, ...(index.repository.tag ? { tag: index.repository.tag } : {}) })),
    world,
    arch,
    ...(options.installed ? { installed: options.installed } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
  const byIdentity = new Map<string, RepositoryIndex>();
  for (const index of indexes) {
    for (const record of index.records) {
      const key = identityBytes(record.identity)?.toString('hex') ?? record.identity;
      if (!byIdentity.has(key)) byIdentity.set(key, index);
    }
  }
  const install = resolution.install.map((record): PackageSource => {
    const index = byIdentity.get(identityBytes(record.identity)?.toString('hex') ?? record.identity);
    if (!index) {
      // Only an installed package the repositories no longer carry can get here.
      throw new ApkError('APK_REPO_PACKAGE_UNKNOWN', `${record.name}-${record.version} (${record.identity}) is in the plan but in no loaded index`, {
        detail: { package: `${record.name}-${record.version}`, identity: record.identity },
      });
    }
    return { record, repository: index.repository, arch: index.arch };
  });
  return { install, text: resolution.text, resolution };
}
