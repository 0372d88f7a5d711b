// The resolver as a library call: repositories, installed and cached records and a world in, an
// apk-tools-identical changeset (or apk's explanation of the failure) out. Pure: no I/O, no clock.
import type { PackageRecord } from '../format/record.ts';
import { ApkError } from '../errors.ts';
import type { Dep, Package } from './database.ts';
import {
  Database,
  SOLVERF_AVAILABLE,
  SOLVERF_IGNORE_CONFLICT,
  SOLVERF_LATEST,
  SOLVERF_REINSTALL,
  SOLVERF_UPGRADE,
} from './database.ts';
import { changeAction, checkWorld, commitChangeset, Output, printSolverErrors } from './report.ts';
import { resetSolverState, solve } from './solve.ts';
import { decodeUniverseImage, encodeUniverseImage } from './universe-image.ts';
import type { UniverseRecordReader } from './universe-image.ts';

/** One repository (an APKINDEX), in priority order. */
export interface ResolveRepository {
  /** The index records. */
  records: readonly PackageRecord[];
  /** Repository tag without `@` (`@edge URL` in /etc/apk/repositories); untagged when absent. */
  tag?: string;
  /** Shown in messages; repositories with the same name are one repository listed under several tags. */
  name?: string;
  /** Packages can be fetched from it now (false models `--no-network` for remote repositories). Default true. */
  available?: boolean;
}

/** Solver flags applied to the whole world (apk's global flags). */
export interface ResolveFlags {
  /** `apk upgrade`: prefer newer versions over installed ones. */
  upgrade?: boolean;
  /** `--available`: prefer packages that can be fetched. */
  available?: boolean;
  /** `--latest`: always pick the newest version. */
  latest?: boolean;
  /** Reinstall installed packages. */
  reinstall?: boolean;
  /** `--force` on conflicts: ignore conflict dependencies. */
  ignoreConflict?: boolean;
}

/** Inputs of {@link resolve}. */
export interface ResolveInput {
  repositories: readonly ResolveRepository[];
  /** World: dependency expressions `[!]name[@tag][op version]` (or one whitespace-separated string). */
  world: readonly string[] | string;
  /** Architectures packages may have (`A:`); packages with no arch or `noarch` always qualify. */
  arch: string | readonly string[];
  /** The installed database (`repositoryTag` = `s:` tag); empty for a fresh root. */
  installed?: readonly PackageRecord[];
  /** Packages in the local cache (etc/apk/cache/installed): installable without a repository. */
  cache?: readonly PackageRecord[];
  flags?: ResolveFlags;
  /** `--force-broken-world`: drop world entries that cannot be satisfied instead of failing. */
  forceBrokenWorld?: boolean;
}

/** What happens to one package. */
export type ChangeAction = 'install' | 'remove' | 'upgrade' | 'downgrade' | 'replace' | 'reinstall' | 'repin' | 'keep';

/** One changeset entry in apk's execution order. */
export interface ResolvedChange {
  action: ChangeAction;
  /** The installed package being replaced or removed. */
  old?: PackageRecord;
  /** The package installed or kept. */
  new?: PackageRecord;
  /** Repository tag the new package is pinned to (without `@`), if any. */
  tag?: string;
}

/** A successful resolution. */
export interface Resolution {
  /** Every package of the resulting system, in apk's install order (dependencies first). */
  install: PackageRecord[];
  /** Packages to remove, in apk's order. */
  remove: PackageRecord[];
  /** The full changeset including unchanged packages (`keep`). */
  changes: ResolvedChange[];
  /** What `apk add --simulate` would print for this changeset. */
  text: string;
  /** For each package of `install`: the names of the repositories that list it, in priority order
   *  (where apk would download it from first). */
  installFrom: string[][];
}

/** The resolver could not satisfy the world; `message` is apk's report ("unable to select packages: …"). */
export class ApkResolveError extends ApkError {
  /** apk's full error text, starting with `ERROR: unable to select packages:`. */
  readonly report: string;
  constructor(report: string, detail: Record<string, unknown>) {
    super('APK_RESOLVE_UNSATISFIABLE', report.replace(/^ERROR: /, '').trimEnd(), { detail });
    this.name = 'ApkResolveError';
    this.report = report;
  }
}

const ACTIONS: Record<string, ChangeAction> = {
  Installing: 'install',
  Purging: 'remove',
  Upgrading: 'upgrade',
  Downgrading: 'downgrade',
  Replacing: 'replace',
  Reinstalling: 'reinstall',
  '[APK unavailable, skipped] Reinstalling': 'reinstall',
  'Updating pinning': 'repin',
};

/** Builds the solver database from records (apk_db_open order: installed, cache, repositories). */
export function openResolveDatabase(input: UniverseInput): Database {
  const db = new Database(typeof input.arch === 'string' ? [input.arch] : [...input.arch]);
  for (const record of input.installed ?? []) db.addRecord(record, { kind: 'installed' });
  if (input.cache) {
    db.cacheActive = true;
    for (const record of input.cache) db.addRecord(record, { kind: 'cache' });
  }
  const loaded = new Set<number>();
  input.repositories.forEach((repo, position) => {
    const index = db.addRepository(repo.name ?? `#${position}`, repo.tag === undefined ? undefined : `@${repo.tag}`);
    if (!loaded.has(index)) {
      loaded.add(index);
      for (const record of repo.records) db.addRecord(record, { kind: 'repository', index });
    }
    db.openRepository(index, repo.available ?? true);
  });
  db.finishOpen();
  return db;
}

function parseWorld(db: Database, world: readonly string[] | string): Dep[] {
  const words = typeof world === 'string' ? world.split(/\s+/) : world.flatMap((w) => w.split(/\s+/));
  const deps: Dep[] = [];
  for (const word of words) {
    if (!word) continue;
    const dep = db.pullDep(word, true);
    if (!dep || dep.broken) {
      throw new ApkError('APK_DEPENDENCY_INVALID', `'${word}' is not a valid world dependency, format is name(@tag)([<>~=]version)`, {
        detail: { dependency: word },
      });
    }
    const existing = deps.findIndex((d) => d.name === dep.name);
    if (existing >= 0) deps[existing] = dep;
    else deps.push(dep);
  }
  return deps;
}

function solverFlags(flags: ResolveFlags | undefined): number {
  return (
    (flags?.upgrade ? SOLVERF_UPGRADE : 0) |
    (flags?.available ? SOLVERF_AVAILABLE : 0) |
    (flags?.latest ? SOLVERF_LATEST : 0) |
    (flags?.reinstall ? SOLVERF_REINSTALL : 0) |
    (flags?.ignoreConflict ? SOLVERF_IGNORE_CONFLICT : 0)
  );
}

/** Per-call options of {@link Resolver.resolve}. */
export interface ResolveOptions {
  flags?: ResolveFlags;
  forceBrokenWorld?: boolean;
}

/**
 * A package universe built once from repositories (plus installed and cached records) that can
 * resolve many worlds; building the universe costs more than a solve on large indexes.
 */
export class Resolver {
  private readonly db: Database;
  private readonly loadedNames: number;
  /** A universe from its inputs, or an opened database (see {@link Resolver.fromImage}). */
  constructor(input: UniverseInput | Database) {
    this.db = input instanceof Database ? input : openResolveDatabase(input);
    // Build the solver's flat graph now, with the rest of the universe, not in the first solve.
    this.db.discoveryGraph();
    this.loadedNames = this.db.nameList.length;
  }

  /**
   * The universe of a prepared image ({@link Resolver.toImage}), with the metadata it was stored
   * with: the whole file, or its lead bytes and a reader of its records. Throws
   * APK_UNIVERSE_IMAGE_INVALID when the bytes are not a sound image.
   */
  static fromImage(bytes: Uint8Array, where: string, readRecords?: UniverseRecordReader): { resolver: Resolver; meta: unknown } {
    const { db, meta } = decodeUniverseImage(bytes, where, readRecords);
    return { resolver: new Resolver(db), meta };
  }

  /** This universe as an image that {@link Resolver.fromImage} opens again; only a universe of
   *  repositories (no installed or cached packages), before any world was resolved on it. */
  toImage(meta: unknown): Buffer {
    if (this.addedNames !== 0) throw new RangeError('a universe that has resolved worlds naming unknown packages cannot be stored');
    return encodeUniverseImage(this.db, meta);
  }

  /** Names added since loading: world entries naming packages no repository has stay in the
   *  name table (harmless for answers, but memory a long-lived cache should bound). */
  get addedNames(): number {
    return this.db.nameList.length - this.loadedNames;
  }

  /** See {@link resolve}. */
  resolve(worldInput: readonly string[] | string, options: ResolveOptions = {}): Resolution {
    const db = this.db;
    // A world entry may name a tag no repository carries; apk creates it in its tag table. Drop
    // such tags again so the universe answers the next world as a fresh one would.
    const tags = db.repoTags.length;
    try {
      return this.resolveWorld(db, worldInput, options);
    } finally {
      db.repoTags.length = tags;
      resetSolverState(db);
    }
  }

  private resolveWorld(db: Database, worldInput: readonly string[] | string, options: ResolveOptions): Resolution {
    const world = parseWorld(db, worldInput);
    const out = new Output(1);
    const forceBrokenWorld = options.forceBrokenWorld ?? false;
    if (checkWorld(db, world, out, forceBrokenWorld) !== 0) {
      throw new ApkError('APK_REPOSITORY_TAG_UNKNOWN', out.text().replace(/^WARNING: /gm, '').trimEnd(), {
        detail: { tags: world.filter((d) => d.tag !== 0 && !(d.tag > 0 && db.repoTags[d.tag]!.allowedRepos)).map((d) => db.repoTags[Math.max(d.tag, 0)]!.plain) },
      });
    }
    const { errors, changeset } = solve(db, solverFlags(options.flags), world, { forceBrokenWorld });
    if (errors) {
      const report = new Output(1);
      printSolverErrors(db, changeset, world, report);
      throw new ApkResolveError(report.text(), { errors, world: world.map((d) => d.name.name) });
    }
    const changes: ResolvedChange[] = changeset.changes.map((change) => {
      const action = ACTIONS[changeAction(db, change) ?? ''] ?? 'keep';
      const entry: ResolvedChange = { action };
      if (change.oldPkg) entry.old = change.oldPkg.record;
      if (change.newPkg) entry.new = change.newPkg.record;
      const tag = db.repoTags[change.newTag]!.plain;
      if (change.newPkg && tag) entry.tag = tag;
      return entry;
    });
    commitChangeset(db, changeset, world, out, { forceBrokenWorld });
    const installed = changeset.changes.filter((c) => c.newPkg).map((c) => c.newPkg as Package);
    const install = installed.map((pkg) => pkg.record);
    const installFrom = installed.map((pkg) => db.repos.filter((_repo, index) => (pkg.repos & (1 << index)) !== 0).map((repo) => repo.key));
    const remove = changeset.changes.filter((c) => !c.newPkg).map((c) => (c.oldPkg as Package).record);
    return { install, remove, changes, text: out.text(), installFrom };
  }
}

/** The inputs that make up a package universe (everything of a ResolveInput but the world and flags). */
export type UniverseInput = Omit<ResolveInput, 'world' | 'flags' | 'forceBrokenWorld'>;

interface CachedUniverse {
  arch: string;
  repositories: Array<{ records: readonly PackageRecord[]; length: number; tag: string | undefined; name: string | undefined; available: boolean }>;
  installed: readonly PackageRecord[] | undefined;
  installedLength: number;
  cache: readonly PackageRecord[] | undefined;
  cacheLength: number;
  resolver: Resolver;
}

/** How many universes are kept per first records array (e.g. one per architecture list or tag set). */
const UNIVERSES_PER_KEY = 4;
/** How many names unknown to the indexes a cached universe may collect before it is rebuilt. */
const MAX_ADDED_NAMES = 4096;

/**
 * Universes built by {@link resolve}, keyed on the identity of the records arrays they were built
 * from (the first repository's, else the installed or cached records). A memo, not state: an
 * entry answers exactly as a fresh universe would, and it lives only as long as its records array.
 * apk-tools likewise builds its tables once when it loads the indexes and then solves.
 */
const universes = new WeakMap<readonly PackageRecord[], CachedUniverse[]>();

function sameUniverse(entry: CachedUniverse, input: UniverseInput, arch: string): boolean {
  if (entry.arch !== arch || entry.repositories.length !== input.repositories.length) return false;
  if (entry.installed !== input.installed || entry.installedLength !== (input.installed?.length ?? 0)) return false;
  if (entry.cache !== input.cache || entry.cacheLength !== (input.cache?.length ?? 0)) return false;
  return entry.repositories.every((repo, i) => {
    const other = input.repositories[i]!;
    return repo.records === other.records && repo.length === other.records.length && repo.tag === other.tag && repo.name === other.name &&
      repo.available === (other.available ?? true);
  });
}

/**
 * The {@link Resolver} for a set of loaded repositories (plus installed and cached records), built
 * on first use and reused while the same records arrays are passed again: `resolve()` with the
 * same repositories costs only the solve from the second call on. Records arrays are identified by
 * identity and must not be modified once passed (an array whose length changed gets a new
 * universe). Different arrays, tags, names, availability or architectures never share a universe.
 */
export function cachedResolver(input: UniverseInput): Resolver {
  const key = input.repositories[0]?.records ?? input.installed ?? input.cache;
  if (!key) return new Resolver(input);
  const arch = typeof input.arch === 'string' ? input.arch : input.arch.join(' ');
  const entries = universes.get(key) ?? [];
  const found = entries.find((entry) => sameUniverse(entry, input, arch));
  if (found && found.resolver.addedNames <= MAX_ADDED_NAMES) return found.resolver;
  // A universe that has collected many unknown names from worlds is rebuilt rather than kept growing.
  if (found) entries.splice(entries.indexOf(found), 1);
  const resolver = new Resolver(input);
  entries.push({
    arch,
    repositories: input.repositories.map((repo) => ({
      records: repo.records, length: repo.records.length, tag: repo.tag, name: repo.name, available: repo.available ?? true,
    })),
    installed: input.installed,
    installedLength: input.installed?.length ?? 0,
    cache: input.cache,
    cacheLength: input.cache?.length ?? 0,
    resolver,
  });
  if (entries.length > UNIVERSES_PER_KEY) entries.shift();
  universes.set(key, entries);
  return resolver;
}

/**
 * Resolves `world` exactly as apk-tools 3.0.6 would (`apk add`/`apk upgrade` with the given flags).
 * The package universe is built once per set of records arrays and reused by later calls with
 * the same arrays (see {@link cachedResolver}).
 * Throws {@link ApkResolveError} (code APK_RESOLVE_UNSATISFIABLE) with apk's report when the world
 * cannot be satisfied, APK_DEPENDENCY_INVALID for a malformed world entry, and
 * APK_REPOSITORY_TAG_UNKNOWN when a world entry is pinned to a tag no repository carries.
 */
export function resolve(input: ResolveInput): Resolution {
  const options: ResolveOptions = {};
  if (input.flags) options.flags = input.flags;
  if (input.forceBrokenWorld !== undefined) options.forceBrokenWorld = input.forceBrokenWorld;
  return cachedResolver(input).resolve(input.world, options);
}
