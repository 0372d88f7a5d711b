// The package universe the solver works on, shaped like apk-tools' in-memory database: names with
// their providers and reverse dependencies, packages keyed by identity (`C:`) with a repository
// bitmask, repository tags, and the installed set. Loading order matters and follows apk_db_open:
// world, installed database, cache index, then repositories in order.
import type { PackageRecord } from '../format/record.ts';
import {
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
  isValidVersion,
  VERSION_CONFLICT,
  VERSION_EQUAL,
  VERSION_FUZZY,
  VERSION_GREATER,
  VERSION_LESS,
} from '../version.ts';
import { nameBucket } from './name-order.ts';

/** Solver flags (apk_solver.h). */
export const SOLVERF_UPGRADE = 0x01;
export const SOLVERF_AVAILABLE = 0x02;
export const SOLVERF_REINSTALL = 0x04;
export const SOLVERF_LATEST = 0x08;
export const SOLVERF_IGNORE_CONFLICT = 0x10;
export const SOLVERF_INSTALLED = 0x20;
export const SOLVERF_REMOVE = 0x40;

/** A dependency bound to names of one database. */
export interface Dep {
  name: Name;
  op: number;
  /** '' is apk's null atom (no version). */
  version: string;
  /** Repository tag id (0 = untagged). */
  tag: number;
  broken: boolean;
}

/** A (package, version) pair offering a name. `version` '' marks an unversioned provide. */
export interface Provider {
  pkg: Package;
  version: string;
}

/** Per-solve state of a name (apk_name.ss). */
export interface NameState {
  seen: boolean;
  locked: boolean;
  /** The locked choice; `pkg` undefined when the name resolved to no package. */
  chosen: { pkg: Package | undefined; version: string } | undefined;
  requirers: number;
  reevaluateDeps: boolean;
  reevaluateIif: boolean;
  noIif: boolean;
  hasIif: boolean;
  iifNeeded: boolean;
  hasOptions: boolean;
  hasAutoSelectable: boolean;
  reverseDepsDone: boolean;
  resolvenow: boolean;
  orderId: number;
  mergeDepends: number;
  mergeProvides: number;
  hasVirtualProvides: boolean;
  dirtySeq: number;
  /** 0 = not queued, 1 = resolvenow, 2 = selectable, 3 = unresolved. */
  queue: number;
  queueSeq: number;
  installedPkg: Package | undefined;
  installedName: Name | undefined;
  changesetProcessed: boolean;
  changesetRemoved: boolean;
}

export function newNameState(): NameState {
  return {
    seen: false, locked: false, chosen: undefined, requirers: 0, reevaluateDeps: false, reevaluateIif: false,
    noIif: false, hasIif: false, iifNeeded: false, hasOptions: false, hasAutoSelectable: false, reverseDepsDone: false,
    resolvenow: false, orderId: 0, mergeDepends: 0, mergeProvides: 0, hasVirtualProvides: false, dirtySeq: 0, queue: 0,
    queueSeq: 0, installedPkg: undefined, installedName: undefined, changesetProcessed: false, changesetRemoved: false,
  };
}

// Most names have no reverse links; they share these empty lists until the first link is added.
const NO_NAMES: Name[] = [];
const NO_PACKAGES: Package[] = [];
/** Shared by packages without depends / provides / install_if (never mutated in place). */
const NO_DEPS: Dep[] = [];
/** Generation counter for de-duplicating names while collecting reverse links. */
let collectStamp = 0;

/**
 * apk_db_name_rdepends for one name: the names of the given packages (own name and provided names),
 * each once, in apk's name-table walk order (bucket ascending, newer name first within a bucket).
 * The set equals what apk collects by walking every name's providers, so computing it on demand
 * gives the same list as the eager walk over the whole table.
 */
function reverseNames(packages: readonly Package[]): Name[] {
  if (packages.length === 0) return NO_NAMES;
  const stamp = ++collectStamp;
  const out: Name[] = [];
  for (const pkg of packages) {
    const own = pkg.name;
    if (own.collectStamp !== stamp) {
      own.collectStamp = stamp;
      out.push(own);
    }
    for (const d of pkg.provides) {
      const n = d.name;
      if (n.collectStamp !== stamp) {
        n.collectStamp = stamp;
        out.push(n);
      }
    }
  }
  if (out.length > 1) sortByTableKey(out);
  return out;
}

const SERIAL_LIMIT = 0x1000000;
const INDEX_LIMIT = 0x4000;

/**
 * Sorts names into table order. Each name's key (bucket, then newest first) is one integer; with
 * the list position packed below it the keys sort natively as a Float64Array (all values stay
 * below 2^53: 20000 buckets × 2^24 serials × 2^14 positions).
 */
function sortByTableKey(names: Name[]): void {
  const count = names.length;
  if (count >= INDEX_LIMIT) {
    names.sort((a, b) => a.tableKey - b.tableKey);
    return;
  }
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = names[i]!.tableKey * INDEX_LIMIT + i;
  keys.sort();
  const copy = names.slice();
  for (let i = 0; i < count; i++) names[i] = copy[keys[i]! % INDEX_LIMIT]!;
}

/** A package or provided name. */
export class Name {
  providers: Provider[] = [];
  /** Packages loaded before the database was opened whose depends / install_if name this one. */
  dependents: Package[] = NO_PACKAGES;
  iifDependents: Package[] = NO_PACKAGES;
  /** Reverse links, built on first use from `dependents` (undefined = not built yet). */
  private rdependsList: Name[] | undefined = NO_NAMES;
  private rinstallIfList: Name[] | undefined = NO_NAMES;
  solverFlagsSet = false;
  hasRepositoryProviders = false;
  isDependency = false;
  /** Scratch bits of the error reporter and the del applet. */
  stateInt = 0;
  collectStamp = 0;
  private tableKeyCache = -1;
  private state: NameState | undefined;
  /** Names that depend on this one (apk's rdepends), in apk's name-table order. */
  get rdepends(): Name[] {
    return (this.rdependsList ??= reverseNames(this.dependents));
  }
  set rdepends(value: Name[]) {
    this.rdependsList = value;
  }
  /** Names with an install_if on this one, in apk's name-table order. */
  get rinstallIf(): Name[] {
    return (this.rinstallIfList ??= reverseNames(this.iifDependents));
  }
  set rinstallIf(value: Name[]) {
    this.rinstallIfList = value;
  }
  /** Marks the reverse links for rebuilding after a package was added to `dependents`. */
  staleReverse(): void {
    this.rdependsList = undefined;
  }
  staleReverseIif(): void {
    this.rinstallIfList = undefined;
  }
  /**
   * Position in apk's name-table walk as one number: bucket ascending, then the most recently
   * created name first (apk adds to the head of a bucket's list).
   */
  get tableKey(): number {
    if (this.tableKeyCache < 0) {
      if (this.serial >= SERIAL_LIMIT) throw new RangeError('more than 2^24 package names');
      this.tableKeyCache = nameBucket(this.name) * SERIAL_LIMIT + (SERIAL_LIMIT - 1 - this.serial);
    }
    return this.tableKeyCache;
  }
  /** Per-solve state, allocated on first use (large indexes have many names no solve touches). */
  get ss(): NameState {
    let state = this.state;
    if (state === undefined) {
      state = this.state = newNameState();
      this.touched.push(this);
    }
    return state;
  }
  set ss(value: NameState | undefined) {
    this.state = value;
  }
  /** True when a solve has touched this name since the last reset. */
  get hasState(): boolean {
    return this.state !== undefined;
  }
  /** `ss.seen` without allocating state for a name the solve has not reached. */
  get seen(): boolean {
    return this.state !== undefined && this.state.seen;
  }
  constructor(
    readonly name: string,
    /** Creation order, for the hash-table walk. */
    readonly serial: number,
    /** The database's list of names with per-solve state. */
    private readonly touched: Name[],
  ) {}
}

/** Per-solve state of a package (apk_package.ss). */
export interface PackageState {
  seen: boolean;
  pinningAllowed: number;
  pinningPreferred: number;
  pkgAvailable: boolean;
  pkgSelectable: boolean;
  iifFailed: boolean;
  iifTriggered: boolean;
  tagPreferred: boolean;
  tagOk: boolean;
  solverFlags: number;
  solverFlagsInheritable: number;
  conflicts: number;
  dependenciesMerged: boolean;
  dependenciesUsed: boolean;
  error: boolean;
  inChangeset: boolean;
  /** Discovery has visited every name this package provides (and its name's install_if reverse links). */
  providesDiscovered: boolean;
}

export function newPackageState(): PackageState {
  return {
    seen: false, pinningAllowed: 0, pinningPreferred: 0, pkgAvailable: false, pkgSelectable: false, iifFailed: false,
    iifTriggered: false, tagPreferred: false, tagOk: false, solverFlags: 0, solverFlagsInheritable: 0, conflicts: 0,
    dependenciesMerged: false, dependenciesUsed: false, error: false, inChangeset: false, providesDiscovered: false,
  };
}

/** Installed-database facts of a package. */
export interface InstalledInfo {
  repositoryTag: number;
  brokenFiles: boolean;
  brokenScript: boolean;
  brokenXattr: boolean;
  /** Where the package sits in the installed list (apk keeps file order). */
  order: number;
}

/** One package, keyed by identity. */
export class Package {
  repos = 0;
  installed: InstalledInfo | undefined;
  cached = false;
  cachedNonRepository = false;
  fromFile = false;
  uninstallable = false;
  marked = false;
  stateInt = 0;
  foreachGenid = 0;
  private state: PackageState | undefined;
  /** Per-solve state, allocated on first use. */
  get ss(): PackageState {
    let state = this.state;
    if (state === undefined) {
      state = this.state = newPackageState();
      this.touched.push(this);
    }
    return state;
  }
  set ss(value: PackageState | undefined) {
    this.state = value;
  }
  get hasState(): boolean {
    return this.state !== undefined;
  }
  constructor(
    readonly identity: string,
    readonly name: Name,
    readonly version: string,
    readonly arch: string,
    readonly installedSize: number,
    public size: number,
    readonly providerPriority: number,
    readonly depends: Dep[],
    readonly provides: Dep[],
    public installIf: Dep[],
    readonly record: PackageRecord,
    /** The database's list of packages with per-solve state. */
    private readonly touched: Package[],
  ) {}
}

/** A repository (index) and the tags it is listed under. */
export interface Repository {
  key: string;
  tagMask: number;
}

/** A repository tag; index 0 is the untagged default. */
export interface RepoTag {
  /** `@name`, or '' for the default tag. */
  tag: string;
  plain: string;
  allowedRepos: number;
}

/** How a record enters the database. */
export type RecordSource =
  | { kind: 'installed'; files?: readonly string[] }
  | { kind: 'repository'; index: number }
  | { kind: 'cache' }
  /** A package given as a local .apk file. */
  | { kind: 'file' }
  /** `apk add -t`: a virtual package apk marks as cached. */
  | { kind: 'virtual' };

const MAX_TAGS = 16;

/** The package universe and repository/tag configuration. */
export class Database {
  readonly names = new Map<string, Name>();
  readonly packages = new Map<string, Package>();
  readonly installed: Package[] = [];
  /** /etc/apk/world as read when the database was opened. */
  world: Dep[] = [];
  readonly repoTags: RepoTag[] = [{ tag: '', plain: '', allowedRepos: 0 }];
  readonly repos: Repository[] = [];
  availableRepos = 0;
  openComplete = false;
  compatNewFeatures = false;
  compatNotInstallable = false;
  compatDepVersions = false;
  performingPreupgrade = false;
  cacheActive = false;
  installedBytes = 0;
  /** Generation counter of apk_foreach_genid. */
  genid = 0;
  readonly dirs = new Set<string>();
  readonly files = new Map<string, Package>();
  private nameSerial = 0;
  /** Names and packages whose per-solve state is allocated (reset after each solve). */
  readonly touchedNames: Name[] = [];
  readonly touchedPackages: Package[] = [];

  constructor(readonly arches: readonly string[]) {}

  getName(name: string): Name {
    let n = this.names.get(name);
    if (!n) {
      n = new Name(name, this.nameSerial++, this.touchedNames);
      this.names.set(name, n);
    }
    return n;
  }

  /** apk_db_get_tag_id: `@tag` or plain `tag`; creates the tag if new; -1 when there are too many. */
  getTagId(tag: string | undefined): number {
    if (tag === undefined) return 0;
    const withAt = tag.startsWith('@');
    for (let i = 1; i < this.repoTags.length; i++) {
      if ((withAt ? this.repoTags[i]!.tag : this.repoTags[i]!.plain) === tag) return i;
    }
    if (this.repoTags.length >= MAX_TAGS) return -1;
    const full = withAt ? tag : `@${tag}`;
    this.repoTags.push({ tag: full, plain: full.slice(1), allowedRepos: 0 });
    return this.repoTags.length - 1;
  }

  pinningMaskRepos(mask: number): number {
    let repos = 0;
    for (let i = 0; i < this.repoTags.length; i++) if (mask & (1 << i)) repos |= this.repoTags[i]!.allowedRepos;
    return repos;
  }

  archCompatible(arch: string): boolean {
    return arch === '' || arch === 'noarch' || this.arches.includes(arch);
  }

  isAvailable(pkg: Package): boolean {
    return (pkg.repos & this.availableRepos) !== 0;
  }

  /**
   * apk_blob_pull_dep over one word. Returns undefined on a format error. Names are created
   * only for entries that parse.
   */
  pullDep(word: string, allowTag: boolean): Dep | undefined {
    let start = 0;
    let op = 0;
    if (word.charCodeAt(0) === 33 /* ! */) {
      op |= VERSION_CONFLICT;
      start = 1;
    }
    let opStart = -1;
    for (let i = start; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (c === 60 || c === 62 || c === 61 || c === 126) {
        opStart = i;
        break;
      }
    }
    let name: string;
    let version = '';
    if (opStart >= 0) {
      name = word.slice(start, opStart);
      let end = opStart;
      let bits = 0;
      for (; end < word.length; end++) {
        const c = word.charCodeAt(end);
        if (c === 60 /* < */) bits |= VERSION_LESS;
        else if (c === 62 /* > */) bits |= VERSION_GREATER;
        else if (c === 61 /* = */) bits |= VERSION_EQUAL;
        else if (c === 126 /* ~ */) bits |= VERSION_FUZZY | VERSION_EQUAL;
        else break;
      }
      if (end >= word.length) return undefined;
      op |= bits;
      if ((op & ~VERSION_CONFLICT) === 0) return undefined;
      version = word.slice(end);
    } else {
      name = start ? word.slice(start) : word;
      op |= DEPMASK_ANY;
    }
    const broken = (op & DEPMASK_CHECKSUM) !== DEPMASK_CHECKSUM && !isValidVersion(version);
    let tag = 0;
    const at = name.indexOf('@');
    if (at >= 0) {
      if (!allowTag) return undefined;
      tag = this.getTagId(name.slice(at + 1));
      name = name.slice(0, at);
    }
    if (name === '') return undefined;
    return { name: this.getName(name), op, version, tag, broken };
  }

  /** apk_blob_pull_deps: returns the parsed entries and whether a format or version error occurred. */
  pullDeps(words: readonly string[], allowTag: boolean): { deps: Dep[]; formatError: boolean; versionError: boolean } {
    const deps: Dep[] = [];
    let formatError = false;
    let versionError = false;
    outer: for (const item of words) {
      if (!hasSeparator(item)) {
        // The index parser already split the field at spaces: one word per item.
        if (item === '') continue;
        const dep = this.pullDep(item, allowTag);
        if (!dep) {
          formatError = true;
          break;
        }
        if (dep.broken) versionError = true;
        deps.push(dep);
        continue;
      }
      for (const word of item.split(/[ \t\n]+/)) {
        if (word === '') continue;
        const dep = this.pullDep(word, allowTag);
        if (!dep) {
          formatError = true;
          break outer;
        }
        if (dep.broken) versionError = true;
        deps.push(dep);
      }
    }
    return { deps, formatError, versionError };
  }

  /** apk_db_pkg_add for one record from the given source. */
  addRecord(record: PackageRecord, source: RecordSource): Package {
    const name = this.getName(record.name);
    const depends = this.pullDeps(record.depends, false);
    let uninstallable = false;
    if (depends.formatError || depends.versionError) {
      this.compatDepVersions = true;
      this.compatNotInstallable = true;
      uninstallable = true;
    }
    const provides = this.pullDeps(record.provides, false);
    if (provides.formatError || provides.versionError) this.compatDepVersions = true;
    const installIf = this.pullDeps(record.installIf, false);
    let iif = installIf.deps;
    if (installIf.formatError || installIf.versionError) {
      iif = [];
      this.compatDepVersions = true;
    }
    for (const [letter] of record.unknown) {
      if (!(letter >= 'a' && letter <= 'z')) {
        this.compatNotInstallable = true;
        uninstallable = true;
      }
      this.compatNewFeatures = true;
    }
    const arch = record.arch ?? '';
    if (!this.archCompatible(arch)) uninstallable = true;

    const key = identityKey(record.identity);
    let pkg = this.packages.get(key);
    let oldRepos = 0;
    const repoBit = source.kind === 'repository' ? 1 << source.index : 0;
    if (!pkg) {
      pkg = new Package(
        record.identity, name, record.version, arch, record.installedSize ?? 0, record.size ?? 0, record.providerPriority ?? 0,
        depends.deps.length ? depends.deps : NO_DEPS, provides.deps.length ? provides.deps : NO_DEPS, iif.length ? iif : NO_DEPS,
        record, this.touchedPackages,
      );
      pkg.uninstallable = uninstallable;
      this.packages.set(key, pkg);
      name.providers.push({ pkg, version: pkg.version });
      for (const dep of pkg.provides) dep.name.providers.push({ pkg, version: dep.version });
      if (this.openComplete) this.addReverseDependencies(pkg);
      else this.indexReverseDependencies(pkg);
    } else {
      oldRepos = pkg.repos;
      if (!oldRepos && repoBit && pkg.size !== (record.size ?? 0)) pkg.size = record.size ?? 0;
    }
    pkg.repos |= repoBit;
    if (source.kind === 'cache') pkg.cachedNonRepository = true;
    if (source.kind === 'file') pkg.fromFile = true;
    if (source.kind === 'virtual') pkg.cached = true;
    if (pkg.repos && !oldRepos) {
      pkg.name.hasRepositoryProviders = true;
      for (const dep of pkg.provides) dep.name.hasRepositoryProviders = true;
    }
    if (source.kind === 'installed' && !pkg.installed) {
      const flags = record.flags ?? '';
      pkg.installed = {
        repositoryTag: record.repositoryTag !== undefined ? Math.max(0, this.getTagId(record.repositoryTag)) : 0,
        brokenFiles: flags.includes('f'),
        brokenScript: flags.includes('s'),
        brokenXattr: flags.includes('x'),
        order: this.installed.length,
      };
      this.installed.push(pkg);
      this.installedBytes += pkg.installedSize;
      for (const file of source.files ?? []) {
        this.files.set(file, pkg);
      }
    }
    return pkg;
  }

  /** Registers installed directories (for the `-v` statistics line). */
  addInstalledDir(dir: string): void {
    this.dirs.add('');
    let path = dir.replace(/\/+$/, '');
    while (path !== '') {
      this.dirs.add(path);
      const slash = path.lastIndexOf('/');
      path = slash < 0 ? '' : path.slice(0, slash);
    }
  }

  /** apk_db_pkg_rdepends: reverse links for a package added after the database was opened. */
  private addReverseDependencies(pkg: Package): void {
    const addRdep = (name: Name, target: Name): void => {
      if (target.rdepends === NO_NAMES) target.rdepends = [];
      if (!target.rdepends.includes(name)) target.rdepends.push(name);
    };
    const addRiif = (name: Name, target: Name): void => {
      if (target.rinstallIf === NO_NAMES) target.rinstallIf = [];
      if (!target.rinstallIf.includes(name)) target.rinstallIf.push(name);
    };
    for (const dep of pkg.depends) {
      dep.name.isDependency ||= (dep.op & VERSION_CONFLICT) === 0;
      addRdep(pkg.name, dep.name);
      for (const p of pkg.provides) addRdep(p.name, dep.name);
    }
    for (const dep of pkg.installIf) {
      addRiif(pkg.name, dep.name);
      for (const p of pkg.provides) addRiif(p.name, dep.name);
    }
  }

  /**
   * Records a package loaded before the database is opened as a dependent of the names it depends
   * on; each name's reverse links (apk_db_name_rdepends) are built from these on first use.
   */
  private indexReverseDependencies(pkg: Package): void {
    for (const dep of pkg.depends) {
      const target = dep.name;
      target.isDependency ||= (dep.op & VERSION_CONFLICT) === 0;
      if (target.dependents.length === 0) target.dependents = [pkg];
      else target.dependents.push(pkg);
      target.staleReverse();
    }
    for (const dep of pkg.installIf) {
      const target = dep.name;
      if (target.iifDependents.length === 0) target.iifDependents = [pkg];
      else target.iifDependents.push(pkg);
      target.staleReverseIif();
    }
  }

  /**
   * Marks the database open. apk links every name to its reverse dependencies here by walking the
   * name table; the links are built lazily per name instead, in the same order (see reverseNames).
   */
  finishOpen(): void {
    this.openComplete = true;
  }

  /** Adds a repository (apk merges repeated URLs and ORs their tags). Returns its index. */
  addRepository(key: string, tag: string | undefined): number {
    const tagId = Math.max(0, this.getTagId(tag));
    const existing = this.repos.findIndex((r) => r.key === key);
    if (existing >= 0) {
      this.repos[existing]!.tagMask |= 1 << tagId;
      return existing;
    }
    if (this.repos.length >= 32) throw new RangeError('apk supports at most 32 repositories');
    this.repos.push({ key, tagMask: 1 << tagId });
    return this.repos.length - 1;
  }

  /** Marks a loaded repository usable (and fetchable when `available`). */
  openRepository(index: number, available: boolean): void {
    const repo = this.repos[index]!;
    const bit = 1 << index;
    if (available) this.availableRepos |= bit;
    for (let tagId = 0; tagId < this.repoTags.length; tagId++) {
      if (repo.tagMask & (1 << tagId)) this.repoTags[tagId]!.allowedRepos |= bit;
    }
  }

  /** apk_solver_set_name_flags. */
  setNameFlags(name: Name, flags: number, inheritable: number): void {
    name.solverFlagsSet = true;
    for (const p of name.providers) {
      p.pkg.ss.solverFlags |= flags;
      p.pkg.ss.solverFlagsInheritable |= inheritable;
    }
  }

  /** The installed package whose own name is `name`. */
  installedByName(name: Name): Package | undefined {
    for (const p of name.providers) if (p.pkg.name === name && p.pkg.installed) return p.pkg;
    return undefined;
  }

  /** Warnings apk prints after opening the database. */
  openWarnings(): string[] {
    const out: string[] = [];
    const how = this.compatNotInstallable ? 'are not installable' : 'might not function properly';
    if (this.compatNewFeatures) out.push(`WARNING: This apk-tools is OLD! Some packages ${how}.`);
    if (this.compatDepVersions) out.push(`WARNING: The indexes contain broken packages which ${how}.`);
    return out;
  }
}

/**
 * The key apk stores a package under: the decoded digest of its `C:` value. apk decodes base64
 * leniently (unused low bits of the last character are dropped), so two spellings that differ only
 * there name the same package — the solver fixtures rely on this.
 */
export function identityKey(identity: string): string {
  if (identity.length < 4 || identity[0] !== 'Q' || !identity.endsWith('=')) {
    return identity[0] === 'X' ? identity.toLowerCase() : identity;
  }
  // Clear the bits of the last base64 character that padding leaves unused (2 per '=').
  const padding = identity.endsWith('==') ? 2 : 1;
  const last = identity.length - padding - 1;
  const index = B64.indexOf(identity[last]!);
  if (index < 0) return identity;
  const mask = padding === 1 ? ~3 : ~15;
  // Canonical spellings (the unused bits already clear) are their own key.
  if ((index & mask) === index) return identity;
  return identity.slice(0, last) + B64[index & mask]! + identity.slice(last + 1);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Does a dependency field item contain a list separator (space, tab, newline)? */
function hasSeparator(item: string): boolean {
  for (let i = 0; i < item.length; i++) {
    const c = item.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10) return true;
  }
  return false;
}

/** apk_name_cmp_display: case-insensitive, then exact. */
export function compareNamesForDisplay(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `name-version` as apk prints packages. */
export function pkgText(pkg: Package): string {
  return `${pkg.name.name}-${pkg.version}`;
}
