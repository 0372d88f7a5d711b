import { resolve } from '../solver/resolve.ts';
import type { Resolution, ResolveFlags, ResolveRepository, Resolver } from '../solver/resolve.ts';
import type { PackageRecord } from '../format/record.ts';
import { ApkError } from '../errors.ts';
import type { PackageSource, RepositoryIndex } from './client.ts';
import type { Repository } from './repositories.ts';
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

/** The key apk stores a package under: its decoded digest (hex), or the identity as written. */
function keyOf(identity: string): string {
  return identityBytes(identity)?.toString('hex') ?? identity;
}

/**
 * Per records array (memo caches keyed by the array; they cannot change a result): the identities
 * exactly as written, and — built only when an exact match fails — the decoded keys. Most plans
 * map every package by its exact identity string, so the 20-byte decode of every record of every
 * index (a third of a one-shot `kiln apk resolve`'s planning time on a 5000-record index) is skipped.
 */
const identityTexts = new WeakMap<readonly PackageRecord[], { length: number; texts: Set<string> }>();
const identityKeySets = new WeakMap<readonly PackageRecord[], { length: number; keys: Set<string> }>();

function identityTextsOf(records: readonly PackageRecord[]): Set<string> {
  let entry = identityTexts.get(records);
  if (!entry || entry.length !== records.length) {
    const texts = new Set<string>();
    for (const record of records) texts.add(record.identity);
    entry = { length: records.length, texts };
    identityTexts.set(records, entry);
  }
  return entry.texts;
}

function identityKeys(records: readonly PackageRecord[]): Set<string> {
  let entry = identityKeySets.get(records);
  if (!entry || entry.length !== records.length) {
    entry = { length: records.length, keys: new Set(records.map((record) => keyOf(record.identity))) };
    identityKeySets.set(records, entry);
  }
  return entry.keys;
}

/**
 * Whether an index lists a package with this identity (same decoded digest). An identical string
 * is the same digest; otherwise the spellings may differ (Q1 base64 vs X1 hex, lenient base64),
 * so the decoded keys decide.
 */
function listsIdentity(records: readonly PackageRecord[], identity: string, key: string): boolean {
  return identityTextsOf(records).has(identity) || identityKeys(records).has(key);
}

/**
 * Resolves `world` over verified indexes with the resolver (repository order = priority; tags from
 * `@tag URL`) and maps each chosen package to the first repository whose index lists its identity,
 * which is where apk downloads it from. An unsatisfiable world throws the resolver's
 * ApkResolveError (code APK_RESOLVE_UNSATISFIABLE, message = apk's explanation). Pure.
 * The resolver's universe and the identity tables (needed only when a planned record is not an
 * object of the index being checked) are built once per loaded index and reused by later plans.
 */
export function planInstall(
  indexes: readonly RepositoryIndex[],
  world: readonly string[],
  arch: string | readonly string[],
  options: { installed?: readonly PackageRecord[]; flags?: ResolveFlags } = {},
): InstallPlan {
  const resolution = resolve({
    repositories: indexes.map((index) => resolveRepository(index.repository, index.records)),
    world,
    arch,
    ...(options.installed ? { installed: options.installed } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
  const sourceOf = (record: PackageRecord): RepositoryIndex | undefined => {
    let key: string | undefined;
    return indexes.find((index) => {
      // The resolver hands back the records it was given: an index holding this very record lists
      // its identity, found by a native scan without building the identity tables.
      if (index.records.includes(record)) return true;
      key ??= keyOf(record.identity);
      return listsIdentity(index.records, record.identity, key);
    });
  };
  // Only an installed package the repositories no longer carry can have no source.
  const install = resolution.install.map((record) => packageSource(record, sourceOf(record)));
  return { install, text: resolution.text, resolution };
}

/** A loaded index as the resolver's repository: named by its URL (which planInstallWith maps the
 *  resolver's answer back by), with its `@tag`. */
export function resolveRepository(repository: Repository, records: readonly PackageRecord[]): ResolveRepository {
  return { records, name: repository.url, ...(repository.tag ? { tag: repository.tag } : {}) };
}

/** Where a planned package is fetched from; APK_REPO_PACKAGE_UNKNOWN when no loaded index lists it. */
function packageSource(record: PackageRecord, index: { repository: Repository; arch: string } | undefined): PackageSource {
  if (!index) {
    throw new ApkError('APK_REPO_PACKAGE_UNKNOWN', `${record.name}-${record.version} (${record.identity}) is in the plan but in no loaded index`, {
      detail: { package: `${record.name}-${record.version}`, identity: record.identity },
    });
  }
  return { record, repository: index.repository, arch: index.arch };
}

/**
 * The install plan of a world over a universe already built from indexes (see
 * openPreparedResolver), whose repositories were named by their URLs: each chosen package comes
 * from the first of `indexes` whose URL lists it, as in {@link planInstall}. Pure.
 */
export function planInstallWith(
  resolver: Resolver,
  indexes: ReadonlyArray<{ repository: Repository; arch: string }>,
  world: readonly string[],
  options: { flags?: ResolveFlags } = {},
): InstallPlan {
  const resolution = resolver.resolve(world, options.flags ? { flags: options.flags } : {});
  const install = resolution.install.map((record, position) => {
    const from = resolution.installFrom[position] ?? [];
    return packageSource(record, indexes.find((candidate) => from.includes(candidate.repository.url)));
  });
  return { install, text: resolution.text, resolution };
}
