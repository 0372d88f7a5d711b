// The package universe the solver works on, shaped like apk-tools' in-memory database: names with
// their providers and reverse dependencies, packages keyed by identity (`C:`) with a repository
// bitmask, repository tags, and the installed set. Loading order matters and follows apk_db_open:
// world, installed database, cache index, then repositories in order.
// Besides the objects, loading records every package's links as integers (LinkRecorder), from which
// the flat DiscoveryGraph the solver's discovery walks is assembled; per-solve state lives in one
// reusable object per name and package plus epoch-stamped typed arrays (SolveScope), so a solve
// allocates little and ending it is one increment.
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
interface NameState {
  seen: boolean;
  locked: boolean;
  /** The locked choice; `pkg` undefined when the name resolved to no package. */
  chosen: { pkg: Package | undefined; version: string } | undefined;
  requirers: number;
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

function newNameState(): NameState {
  return {
    seen: false, locked: false, chosen: undefined, requirers: 0, reevaluateIif: false,
    noIif: false, hasIif: false, iifNeeded: false, hasOptions: false, hasAutoSelectable: false, reverseDepsDone: false,
    resolvenow: false, orderId: 0, mergeDepends: 0, mergeProvides: 0, hasVirtualProvides: false, dirtySeq: 0, queue: 0,
    queueSeq: 0, installedPkg: undefined, installedName: undefined, changesetProcessed: false, changesetRemoved: false,
  };
}

/** Clears a name's state object for reuse by the next solve (same values as newNameState). */
function clearNameState(s: NameState): void {
  s.seen = false; s.locked = false; s.chosen = undefined; s.requirers = 0; s.reevaluateIif = false;
  s.noIif = false; s.hasIif = false; s.iifNeeded = false; s.hasOptions = false; s.hasAutoSelectable = false; s.reverseDepsDone = false;
  s.resolvenow = false; s.orderId = 0; s.mergeDepends = 0; s.mergeProvides = 0; s.hasVirtualProvides = false; s.dirtySeq = 0; s.queue = 0;
  s.queueSeq = 0; s.installedPkg = undefined; s.installedName = undefined; s.changesetProcessed = false; s.changesetRemoved = false;
}

const EPOCH_LIMIT = 0x7fff0000;

/**
 * Which solve per-solve state belongs to. Each name and package keeps one state object for the
 * life of the database and stamps it with the epoch of the solve that last cleared it; ending a
 * solve (apk's free_name/free_package) is one increment, and a state object is cleared when a
 * later solve first touches it. The lists hold what the current solve has touched.
 *
 * Discovery (which on a large index reaches most names, through the `docs` install_if) records its
 * results in typed arrays indexed by name serial and package id instead of in the state objects;
 * a state object picks them up when the solve first touches it (see Name.ss and Package.ss).
 */
export class SolveScope {
  epoch = 1;
  readonly names: Name[] = [];
  readonly packages: Package[] = [];
  /** Epoch in which the solve first touched a name's state object. */
  nameTouched = new Int32Array(0);
  /** Epoch in which a name was discovered. */
  nameSeen = new Int32Array(0);
  /** Epoch in which a name was marked for re-checking its providers' dependencies (apk's reevaluate_deps). */
  nameReevaluateDeps = new Int32Array(0);
  /** Discovery's order id and no-install_if bit of a name (valid when nameSeen is current). */
  nameOrder = new Float64Array(0);
  nameNoIif = new Uint8Array(0);
  /** Epoch in which a package was first reached by discovery. */
  packageSeen = new Int32Array(0);
  /** Epoch in which discovery visited every name a package provides. */
  packageProvidesSeen = new Int32Array(0);
  /** Discovery ran with SOLVERF_AVAILABLE inherited: install_if fails for unavailable packages. */
  iifNeedsAvailable = false;
  /** Where a restored universe's links come from until first use (see Database.fromParts). */
  lazy: LazyLinks | undefined;
  constructor(private readonly db: Database) {}
  /** Ends the current solve: every name's and package's state reads as fresh again. */
  reset(): void {
    this.epoch++;
    this.names.length = 0;
    this.packages.length = 0;
    // Epochs live in Int32Arrays: start over long before they would wrap.
    if (this.epoch >= EPOCH_LIMIT) this.restart();
  }
  /** Forgets every stamp and starts again at epoch 1. */
  restart(): void {
    this.epoch = 1;
    for (const stamps of [this.nameTouched, this.nameSeen, this.nameReevaluateDeps, this.packageSeen, this.packageProvidesSeen]) stamps.fill(0);
    // A restored universe's list has holes where packages are not objects yet (and have no state).
    for (const pkg of this.db.packageList) pkg?.forgetState();
  }
  /** Makes the discovery arrays cover every name and package (keeping their contents). */
  ensureCapacity(names: number, packages: number): void {
    if (this.nameSeen.length < names) {
      const size = Math.max(names, this.nameSeen.length * 2, 64);
      this.nameTouched = grow(this.nameTouched, new Int32Array(size));
      this.nameSeen = grow(this.nameSeen, new Int32Array(size));
      this.nameReevaluateDeps = grow(this.nameReevaluateDeps, new Int32Array(size));
      this.nameOrder = grow(this.nameOrder, new Float64Array(size));
      this.nameNoIif = grow(this.nameNoIif, new Uint8Array(size));
    }
    if (this.packageSeen.length < packages) {
      const size = Math.max(packages, this.packageSeen.length * 2, 64);
      this.packageSeen = grow(this.packageSeen, new Int32Array(size));
      this.packageProvidesSeen = grow(this.packageProvidesSeen, new Int32Array(size));
    }
  }
  /** The state discovery gives a package when it first reaches it (solver.c discover_name). */
  initDiscoveredPackage(pkg: Package, ss: PackageState): void {
    const db = this.db;
    // Pinning 1 is the untagged repositories' bit (solver.c DEFAULT_PINNING).
    ss.seen = true;
    ss.pinningAllowed = 1;
    ss.pinningPreferred = 1;
    ss.pkgAvailable = pkg.fromFile || db.isAvailable(pkg);
    ss.pkgSelectable =
      !pkg.uninstallable && (ss.pkgAvailable || pkg.cached || pkg.fromFile || pkg.cachedNonRepository || pkg.installedSize === 0 || !!pkg.installed);
    ss.iifFailed = pkg.installIf.length === 0 || (this.iifNeedsAvailable && !ss.pkgAvailable);
    const repos = pkg.repos | (pkg.installed ? db.repoTags[pkg.installed.repositoryTag]!.allowedRepos : 0);
    ss.tagPreferred = pkg.fromFile || pkg.installedSize === 0 || (repos & db.pinningMaskRepos(1)) !== 0;
    ss.tagOk = ss.tagPreferred || pkg.cachedNonRepository || !!pkg.installed;
  }
  /** Copies a discovered name's results into its state object. */
  initDiscoveredName(serial: number, ss: NameState): void {
    ss.seen = true;
    ss.noIif = this.nameNoIif[serial] === 1;
    ss.orderId = this.nameOrder[serial]!;
  }
}

function grow<T extends Int32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}

/** Reads a restored universe's lists when a name or package is first asked for them. */
interface LazyLinks {
  providersOf(serial: number): Provider[];
  rdependsOf(serial: number): Name[];
  rdependsSerialsOf(serial: number): Int32Array;
  rinstallIfOf(serial: number): Name[];
  dependentsOf(serial: number): Package[];
  iifDependentsOf(serial: number): Package[];
  dependsOf(id: number): Dep[];
  providesOf(id: number): Dep[];
  installIfOf(id: number): Dep[];
}

/**
 * The links of every package in creation order, recorded as packages are added (while their
 * names are at hand) so the discovery graph is assembled from integers rather than by walking the
 * object graph again. Offsets: a package's entries are [start[id], start[id + 1]).
 */
class LinkRecorder {
  /** Serial of each package's own name. */
  readonly packageName: number[] = [];
  readonly dependStart: number[] = [];
  readonly dependName: number[] = [];
  readonly provideStart: number[] = [];
  readonly provideName: number[] = [];
  readonly installIfStart: number[] = [];
  readonly installIfName: number[] = [];
  /** (name serial, package id) for every provider entry, in the order Name.providers lists them. */
  readonly providerName: number[] = [];
  readonly providerPackage: number[] = [];
  /** Names whose install_if reverse links are not empty. */
  readonly reverseIifNames: Name[] = [];

  // Index loops rather than for-of here and in the other per-record loops: they run once per
  // record while the code is still interpreted, where each for-of allocates an iterator.
  addPackage(pkg: Package): void {
    this.packageName.push(pkg.name.serial);
    this.dependStart.push(this.dependName.length);
    const { depends, provides, installIf } = pkg;
    for (let i = 0; i < depends.length; i++) this.dependName.push(depends[i]!.name.serial);
    this.provideStart.push(this.provideName.length);
    for (let i = 0; i < provides.length; i++) this.provideName.push(provides[i]!.name.serial);
    this.installIfStart.push(this.installIfName.length);
    for (let i = 0; i < installIf.length; i++) this.installIfName.push(installIf[i]!.name.serial);
  }

  addProvider(name: Name, pkg: Package): void {
    this.providerName.push(name.serial);
    this.providerPackage.push(pkg.id);
  }

  /** The links of a restored universe, read back from its discovery graph (grouping providers by
   *  name keeps each name's own order, which is all the graph's stable sort looks at). */
  static fromGraph(graph: DiscoveryGraph, reverseIifNames: readonly Name[]): LinkRecorder {
    const links = new LinkRecorder();
    const packageCount = graph.packageName.length;
    for (let p = 0; p < packageCount; p++) {
      links.packageName.push(graph.packageName[p]!);
      links.dependStart.push(graph.dependStart[p]!);
      links.provideStart.push(graph.provideStart[p]!);
      links.installIfStart.push(graph.installIfStart[p]!);
    }
    for (let i = 0; i < graph.dependName.length; i++) links.dependName.push(graph.dependName[i]!);
    for (let i = 0; i < graph.provideName.length; i++) links.provideName.push(graph.provideName[i]!);
    for (let i = 0; i < graph.installIfName.length; i++) links.installIfName.push(graph.installIfName[i]!);
    for (let n = 0; n < graph.nameCount; n++) {
      for (let i = graph.providerStart[n]!; i < graph.providerStart[n + 1]!; i++) {
        links.providerName.push(n);
        links.providerPackage.push(graph.providerPackage[i]!);
      }
    }
    links.reverseIifNames.push(...reverseIifNames);
    return links;
  }

  /** CSR offsets for `count` packages: the recorded starts plus the end. */
  static offsets(start: readonly number[], entries: readonly number[], count: number): Int32Array {
    const out = new Int32Array(count + 1);
    out.set(start);
    out[count] = entries.length;
    return out;
  }
}

/**
 * The links discovery walks, as flat integer arrays (names by serial, packages by id): compact
 * enough to stay in cache while a solve walks most of a large index. Built on first use (a
 * Resolver builds it with its universe) and again after a record is added.
 */
export interface DiscoveryGraph {
  /** Database.linkVersion when built. */
  version: number;
  availableRepos: number;
  nameCount: number;
  /** Providers of each name (package ids), as [providerStart[n], providerStart[n+1]). */
  providerStart: Int32Array;
  providerPackage: Int32Array;
  /** 1 when a name has a provider whose own name it is (not only virtual providers). */
  nameHasOwnProvider: Uint8Array;
  /** Names with an install_if on each name (Name.rinstallIf). */
  rinstallIfStart: Int32Array;
  rinstallIfName: Int32Array;
  packageName: Int32Array;
  dependStart: Int32Array;
  dependName: Int32Array;
  provideStart: Int32Array;
  provideName: Int32Array;
  installIfStart: Int32Array;
  installIfName: Int32Array;
  /** 1 when a package has no install_if. */
  packageNoInstallIf: Uint8Array;
  /** 1 when a package can be fetched (fromFile or in an available repository). */
  packageAvailable: Uint8Array;
}

// Most names have no reverse links; they share these empty lists until the first link is added.
const NO_NAMES: Name[] = [];
const NO_PACKAGES: Package[] = [];
const NO_PROVIDERS: Provider[] = [];

/** Adds a provider; a name's first list is allocated at its exact size (most names have one provider). */
function addProvider(name: Name, provider: Provider): void {
  if (name.providers.length === 0) name.providers = [provider];
  else name.providers.push(provider);
}
/** Shared by packages without depends / provides / install_if (never mutated in place). */
const NO_DEPS: Dep[] = [];
const WORD_FORMAT_ERROR = 1;
const WORD_VERSION_ERROR = 2;
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
  // One package without provides (the commonest case): its own name is the whole list.
  if (packages.length === 1 && packages[0]!.provides.length === 0) return [packages[0]!.name];
  const stamp = ++collectStamp;
  const out: Name[] = [];
  for (let p = 0; p < packages.length; p++) {
    const pkg = packages[p]!;
    const own = pkg.name;
    if (own.collectStamp !== stamp) {
      own.collectStamp = stamp;
      out.push(own);
    }
    const provides = pkg.provides;
    for (let i = 0; i < provides.length; i++) {
      const n = provides[i]!.name;
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
  private providerList: Provider[] | undefined = NO_PROVIDERS;
  private dependentList: Package[] | undefined = NO_PACKAGES;
  private iifDependentList: Package[] | undefined = NO_PACKAGES;
  /** Packages offering this name (shared empty list until the first; never modified in place when empty). */
  get providers(): Provider[] {
    return this.providerList ?? (this.providerList = this.scope.lazy!.providersOf(this.serial));
  }
  set providers(value: Provider[]) {
    this.providerList = value;
  }
  /** Packages loaded before the database was opened whose depends / install_if name this one. */
  get dependents(): Package[] {
    return this.dependentList ?? (this.dependentList = this.scope.lazy!.dependentsOf(this.serial));
  }
  set dependents(value: Package[]) {
    this.dependentList = value;
  }
  get iifDependents(): Package[] {
    return this.iifDependentList ?? (this.iifDependentList = this.scope.lazy!.iifDependentsOf(this.serial));
  }
  set iifDependents(value: Package[]) {
    this.iifDependentList = value;
  }
  /** Marks the links of a restored name for reading from the universe on first use; `dependents`
   *  and `iifDependents` tell whether those lists are empty (their reverse links then are too). */
  deferLinks(dependents: boolean, iifDependents: boolean): void {
    this.providerList = undefined;
    if (dependents) {
      this.dependentList = undefined;
      this.staleReverse();
      this.rdependsFromUniverse = true;
    }
    if (iifDependents) {
      this.iifDependentList = undefined;
      this.staleReverseIif();
      this.rinstallIfFromUniverse = true;
    }
  }
  /** Reverse links, built on first use from `dependents` (undefined = not built yet). */
  private rdependsList: Name[] | undefined = NO_NAMES;
  private rinstallIfList: Name[] | undefined = NO_NAMES;
  solverFlagsSet = false;
  /** Listed in LinkRecorder.reverseIifNames. */
  hasReverseIif = false;
  /** The dependency on any version of this name that records share (Database.pullDep with shareBare). */
  plainDep: Dep | undefined;
  hasRepositoryProviders = false;
  isDependency = false;
  /** Scratch bits of the error reporter and the del applet. */
  stateInt = 0;
  collectStamp = 0;
  private tableKeyCache = -1;
  private state: NameState | undefined;
  private rdependsSerialList: Int32Array | undefined;
  /** The reverse links are read from the restored universe (not computed from `dependents`). */
  private rdependsFromUniverse = false;
  private rinstallIfFromUniverse = false;
  /** Names that depend on this one (apk's rdepends), in apk's name-table order. */
  get rdepends(): Name[] {
    return (this.rdependsList ??= this.rdependsFromUniverse ? this.scope.lazy!.rdependsOf(this.serial) : reverseNames(this.dependents));
  }
  set rdepends(value: Name[]) {
    this.rdependsList = value;
    this.rdependsSerialList = undefined;
  }
  /** Names with an install_if on this one, in apk's name-table order. */
  get rinstallIf(): Name[] {
    return (this.rinstallIfList ??= this.rinstallIfFromUniverse ? this.scope.lazy!.rinstallIfOf(this.serial) : reverseNames(this.iifDependents));
  }
  set rinstallIf(value: Name[]) {
    this.rinstallIfList = value;
  }
  /** Marks the reverse links for rebuilding after a package was added to `dependents`. */
  staleReverse(): void {
    this.rdependsList = undefined;
    this.rdependsSerialList = undefined;
    this.rdependsFromUniverse = false;
  }
  /** Serials of `rdepends`. */
  get rdependsSerials(): Int32Array {
    if (this.rdependsSerialList === undefined) {
      if (this.rdependsList === undefined && this.rdependsFromUniverse) {
        // A restored universe stores them: no name needs to become an object to list them.
        this.rdependsSerialList = this.scope.lazy!.rdependsSerialsOf(this.serial);
        return this.rdependsSerialList;
      }
      // A plain loop: Int32Array.from with a mapping function iterates and calls back per name.
      const names = this.rdepends;
      const serials = new Int32Array(names.length);
      for (let i = 0; i < names.length; i++) serials[i] = names[i]!.serial;
      this.rdependsSerialList = serials;
    }
    return this.rdependsSerialList;
  }
  staleReverseIif(): void {
    this.rinstallIfList = undefined;
    this.rinstallIfFromUniverse = false;
  }
  /**
   * Position in apk's name-table walk as one number: bucket ascending, then the most recently
   * created name first (apk adds to the head of a bucket's list).
   */
  get tableKey(): number {
    if (this.tableKeyCache < 0) this.presetBucket(nameBucket(this.name));
    return this.tableKeyCache;
  }
  /** Sets the name's table key from its bucket (a universe image stores every name's bucket). */
  presetBucket(bucket: number): void {
    if (this.serial >= SERIAL_LIMIT) throw new RangeError('more than 2^24 package names');
    this.tableKeyCache = bucket * SERIAL_LIMIT + (SERIAL_LIMIT - 1 - this.serial);
  }
  /** Per-solve state, cleared on first use in each solve (large indexes have many names no solve touches). */
  get ss(): NameState {
    return this.scope.nameTouched[this.serial] === this.scope.epoch ? this.state! : this.beginState();
  }
  private beginState(): NameState {
    this.scope.nameTouched[this.serial] = this.scope.epoch;
    this.scope.names.push(this);
    let state = this.state;
    if (state === undefined) state = this.state = newNameState();
    else clearNameState(state);
    if (this.scope.nameSeen[this.serial] === this.scope.epoch) this.scope.initDiscoveredName(this.serial, state);
    return state;
  }
  /** True when the current solve has touched this name. */
  get hasState(): boolean {
    return this.scope.nameTouched[this.serial] === this.scope.epoch;
  }
  /** The state object if the current solve has touched this name. */
  get currentState(): NameState | undefined {
    return this.scope.nameTouched[this.serial] === this.scope.epoch ? this.state : undefined;
  }
  /** `ss.seen` without touching a name the solve has not reached. */
  get seen(): boolean {
    return this.scope.nameSeen[this.serial] === this.scope.epoch;
  }
  constructor(
    readonly name: string,
    /** Creation order, for the hash-table walk. */
    readonly serial: number,
    /** The database's solve scope. */
    private readonly scope: SolveScope,
  ) {}
}

/** Per-solve state of a package (apk_package.ss). */
interface PackageState {
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
}

function newPackageState(): PackageState {
  return {
    seen: false, pinningAllowed: 0, pinningPreferred: 0, pkgAvailable: false, pkgSelectable: false, iifFailed: false,
    iifTriggered: false, tagPreferred: false, tagOk: false, solverFlags: 0, solverFlagsInheritable: 0, conflicts: 0,
    dependenciesMerged: false, dependenciesUsed: false, error: false, inChangeset: false,
  };
}

function clearPackageState(s: PackageState): void {
  s.seen = false; s.pinningAllowed = 0; s.pinningPreferred = 0; s.pkgAvailable = false; s.pkgSelectable = false; s.iifFailed = false;
  s.iifTriggered = false; s.tagPreferred = false; s.tagOk = false; s.solverFlags = 0; s.solverFlagsInheritable = 0; s.conflicts = 0;
  s.dependenciesMerged = false; s.dependenciesUsed = false; s.error = false; s.inChangeset = false;
}

/** Installed-database facts of a package. */
interface InstalledInfo {
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
  private stateEpoch = 0;
  /** Per-solve state, cleared on first use in each solve. */
  get ss(): PackageState {
    return this.stateEpoch === this.scope.epoch ? this.state! : this.beginState();
  }
  private beginState(): PackageState {
    this.stateEpoch = this.scope.epoch;
    this.scope.packages.push(this);
    let state = this.state;
    if (state === undefined) state = this.state = newPackageState();
    else clearPackageState(state);
    if (this.scope.packageSeen[this.id] === this.scope.epoch) this.scope.initDiscoveredPackage(this, state);
    return state;
  }
  get hasState(): boolean {
    return this.stateEpoch === this.scope.epoch;
  }
  /** Marks the state as belonging to no solve (SolveScope.restart). */
  forgetState(): void {
    this.stateEpoch = 0;
  }
  /** The state object if the current solve has touched this package. */
  get currentState(): PackageState | undefined {
    return this.stateEpoch === this.scope.epoch ? this.state : undefined;
  }
  constructor(
    /** Creation order within the database. */
    readonly id: number,
    readonly identity: string,
    readonly name: Name,
    readonly version: string,
    readonly arch: string,
    readonly installedSize: number,
    public size: number,
    readonly providerPriority: number,
    /** Dependency lists; undefined = read from the restored universe on first use. */
    private dependList: Dep[] | undefined,
    private provideList: Dep[] | undefined,
    private installIfList: Dep[] | undefined,
    /** The index record, or how to read it when first asked (a universe image reads records lazily). */
    private recordSource: PackageRecord | ((id: number) => PackageRecord),
    /** The database's solve scope. */
    private readonly scope: SolveScope,
  ) {}
  get depends(): Dep[] {
    return this.dependList ?? (this.dependList = this.scope.lazy!.dependsOf(this.id));
  }
  get provides(): Dep[] {
    return this.provideList ?? (this.provideList = this.scope.lazy!.providesOf(this.id));
  }
  get installIf(): Dep[] {
    return this.installIfList ?? (this.installIfList = this.scope.lazy!.installIfOf(this.id));
  }
  set installIf(value: Dep[]) {
    this.installIfList = value;
  }
  /** The index record this package was loaded from. */
  get record(): PackageRecord {
    const source = this.recordSource;
    if (typeof source !== 'function') return source;
    const record = source(this.id);
    this.recordSource = record;
    return record;
  }
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
type RecordSource =
  | { kind: 'installed'; files?: readonly string[] }
  | { kind: 'repository'; index: number }
  | { kind: 'cache' }
  /** A package given as a local .apk file. */
  | { kind: 'file' }
  /** `apk add -t`: a virtual package apk marks as cached. */
  | { kind: 'virtual' };

const MAX_TAGS = 16;

const NAME_REPOSITORY_PROVIDERS = 1;
const NAME_DEPENDENCY = 2;
const NAME_REVERSE_IIF = 4;
const PACKAGE_UNINSTALLABLE = 1;
const PACKAGE_FROM_FILE = 2;
const PACKAGE_CACHED = 4;
const COMPAT_NEW_FEATURES = 1;
const COMPAT_NOT_INSTALLABLE = 2;
const COMPAT_DEP_VERSIONS = 4;

/** A list of strings read by position (an array, or a packed table that decodes on demand). */
export interface StringTable {
  readonly length: number;
  at(index: number): string | undefined;
  indexOf(text: string): number;
}

/**
 * An opened universe of repositories as plain data (Database.toParts): strings by index, names by
 * serial, packages by id, every list as offsets into a flat array (`xStart[i]..xStart[i + 1]`).
 * A dependency reference `r` is `deps[r]` when r >= 0, else the shared any-version dependency on
 * name serial `-1 - r`.
 */
export interface UniverseParts {
  arches: string[];
  strings: StringTable;
  names: StringTable;
  nameBucket: Int32Array;
  nameFlags: Uint8Array;
  providerStart: Int32Array;
  providerPackage: Int32Array;
  /** String index of each provider's version ('' for an unversioned provide). */
  providerVersion: Int32Array;
  dependentStart: Int32Array;
  dependentPackage: Int32Array;
  iifDependentStart: Int32Array;
  iifDependentPackage: Int32Array;
  /** Each name's reverse dependencies (Name.rdepends), in apk's name-table order. */
  rdependStart: Int32Array;
  rdependName: Int32Array;
  reverseIifNames: Int32Array;
  packageName: Int32Array;
  packageVersion: Int32Array;
  packageIdentity: Int32Array;
  packageArch: Int32Array;
  packageInstalledSize: Float64Array;
  packageSize: Float64Array;
  packagePriority: Int32Array;
  packageRepos: Int32Array;
  packageFlags: Uint8Array;
  dependStart: Int32Array;
  dependRef: Int32Array;
  provideStart: Int32Array;
  provideRef: Int32Array;
  installIfStart: Int32Array;
  installIfRef: Int32Array;
  depName: Int32Array;
  depOp: Int32Array;
  depVersion: Int32Array;
  depTag: Int32Array;
  depBroken: Uint8Array;
  repoTags: RepoTag[];
  repos: Repository[];
  availableRepos: number;
  compat: number;
  linkVersion: number;
  graph: DiscoveryGraph;
}

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
  /** Per-solve state bookkeeping (reset after each solve). */
  readonly scope = new SolveScope(this);
  /** Names by serial and packages by id. */
  readonly nameList: Name[] = [];
  readonly packageList: Package[] = [];
  /** Changes whenever a package, a provider or a reverse link is added. */
  linkVersion = 0;
  /** How many names an applet has set solver flags on (Name.solverFlagsSet). */
  flaggedNames = 0;
  private graph: DiscoveryGraph | undefined;
  /** Recorded links; a restored universe reads them back from its graph only if a record is added. */
  private linkRecorder: LinkRecorder | undefined = new LinkRecorder();
  private restoredReverseIif: Name[] = [];
  /** A universe restored from parts whose names and packages are not all objects yet. */
  private restored: RestoredUniverse | undefined;
  private get links(): LinkRecorder {
    return (this.linkRecorder ??= LinkRecorder.fromGraph(this.graph!, this.restoredReverseIif));
  }
  private recordWordErrors = 0;
  /** Names the current solve has touched. */
  get touchedNames(): readonly Name[] {
    return this.scope.names;
  }

  constructor(readonly arches: readonly string[]) {}

  getName(name: string): Name {
    let n = this.names.get(name);
    if (!n && this.restored) {
      const serial = this.restored.serialOf(name);
      if (serial !== undefined) return this.nameAt(serial);
    }
    if (!n) {
      n = new Name(name, this.nameSerial++, this.scope);
      this.names.set(name, n);
      this.nameList.push(n);
      this.scope.ensureCapacity(this.nameList.length, this.packageList.length);
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
   * only for entries that parse. With `shareBare`, a bare name returns the name's shared object.
   */
  pullDep(word: string, allowTag: boolean, shareBare = false): Dep | undefined {
    let start = 0;
    let op = 0;
    if (word.charCodeAt(0) === 33 /* ! */) {
      op |= VERSION_CONFLICT;
      start = 1;
    }
    // One native search instead of a character loop: this runs for every word of an index, mostly
    // before V8 optimizes it, where each charCodeAt is a call.
    const opStart = word.search(OPERATOR_CHAR);
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
    const at = name.indexOf('@');
    if (shareBare && op === DEPMASK_ANY && at < 0 && name !== '') {
      // A bare name (most words of an index: so:…, cmd:…, package names): one dependency object
      // per name, shared by every record that names it. Records' dependencies are never modified;
      // world entries and command-line arguments get their own objects.
      const target = this.getName(name);
      return (target.plainDep ??= { name: target, op: DEPMASK_ANY, version: '', tag: 0, broken: PLAIN_BROKEN });
    }
    const broken = (op & DEPMASK_CHECKSUM) !== DEPMASK_CHECKSUM && !isValidVersion(version);
    let tag = 0;
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

  /**
   * pullDeps for a record's fields, without the result object: returns the entries and sets
   * `recordWordErrors` (WORD_FORMAT_ERROR, WORD_VERSION_ERROR).
   */
  private pullRecordDeps(words: readonly string[]): Dep[] {
    this.recordWordErrors = 0;
    if (words.length === 0) return NO_DEPS;
    if (oneWordEach(words)) {
      // The index parser splits fields at spaces: one dependency per item, so the list is built at
      // its exact size (a list grown by push reserves room for 16). Words after a format error
      // are not parsed, as apk stops there.
      const count = words.length;
      const deps = new Array<Dep>(count);
      let parsed = 0;
      for (; parsed < count; parsed++) {
        const dep = this.pullDep(words[parsed]!, false, true);
        if (dep === undefined) {
          this.recordWordErrors |= WORD_FORMAT_ERROR;
          break;
        }
        if (dep.broken) this.recordWordErrors |= WORD_VERSION_ERROR;
        deps[parsed] = dep;
      }
      if (parsed < count) deps.length = parsed;
      return parsed ? deps : NO_DEPS;
    }
    const deps: Dep[] = [];
    for (const item of words) {
      if (!hasSeparator(item)) {
        // The index parser already split the field at spaces: one word per item.
        if (item === '') continue;
        if (!this.pushRecordDep(item, deps)) break;
        continue;
      }
      let stop = false;
      for (const word of item.split(/[ \t\n]+/)) {
        if (word !== '' && !this.pushRecordDep(word, deps)) {
          stop = true;
          break;
        }
      }
      if (stop) break;
    }
    return deps.length ? deps : NO_DEPS;
  }

  private pushRecordDep(word: string, deps: Dep[]): boolean {
    const dep = this.pullDep(word, false, true);
    if (dep === undefined) {
      this.recordWordErrors |= WORD_FORMAT_ERROR;
      return false;
    }
    if (dep.broken) this.recordWordErrors |= WORD_VERSION_ERROR;
    deps.push(dep);
    return true;
  }

  /** apk_db_pkg_add for one record from the given source. */
  addRecord(record: PackageRecord, source: RecordSource): Package {
    this.materializeAll();
    const name = this.getName(record.name);
    const depends = this.pullRecordDeps(record.depends);
    let uninstallable = false;
    if (this.recordWordErrors !== 0) {
      this.compatDepVersions = true;
      this.compatNotInstallable = true;
      uninstallable = true;
    }
    const provides = this.pullRecordDeps(record.provides);
    if (this.recordWordErrors !== 0) this.compatDepVersions = true;
    let iif = this.pullRecordDeps(record.installIf);
    if (this.recordWordErrors !== 0) {
      iif = NO_DEPS;
      this.compatDepVersions = true;
    }
    const unknown = record.unknown;
    for (let i = 0; i < unknown.length; i++) {
      const letter = unknown[i]![0];
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
        this.packageList.length, record.identity, name, record.version, arch, record.installedSize ?? 0, record.size ?? 0, record.providerPriority ?? 0,
        depends, provides, iif,
        record, this.scope,
      );
      pkg.uninstallable = uninstallable;
      this.packages.set(key, pkg);
      this.packageList.push(pkg);
      this.scope.ensureCapacity(this.nameList.length, this.packageList.length);
      addProvider(name, { pkg, version: pkg.version });
      this.links.addProvider(name, pkg);
      for (let i = 0; i < provides.length; i++) {
        const dep = provides[i]!;
        addProvider(dep.name, { pkg, version: dep.version });
        this.links.addProvider(dep.name, pkg);
      }
      this.links.addPackage(pkg);
      if (this.openComplete) this.addReverseDependencies(pkg);
      else this.indexReverseDependencies(pkg);
    } else {
      oldRepos = pkg.repos;
      if (!oldRepos && repoBit && pkg.size !== (record.size ?? 0)) pkg.size = record.size ?? 0;
    }
    this.linkVersion++;
    pkg.repos |= repoBit;
    if (source.kind === 'cache') pkg.cachedNonRepository = true;
    if (source.kind === 'file') pkg.fromFile = true;
    if (source.kind === 'virtual') pkg.cached = true;
    if (pkg.repos && !oldRepos) {
      pkg.name.hasRepositoryProviders = true;
      const pkgProvides = pkg.provides;
      for (let i = 0; i < pkgProvides.length; i++) pkgProvides[i]!.name.hasRepositoryProviders = true;
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
      const list = target.rdepends === NO_NAMES ? [] : target.rdepends;
      if (!list.includes(name)) list.push(name);
      // Assigned again so the serials the solver reads are rebuilt from the longer list.
      target.rdepends = list;
    };
    const addRiif = (name: Name, target: Name): void => {
      this.noteReverseIif(target);
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

  private noteReverseIif(target: Name): void {
    if (target.hasReverseIif) return;
    target.hasReverseIif = true;
    this.links.reverseIifNames.push(target);
  }

  /**
   * Records a package loaded before the database is opened as a dependent of the names it depends
   * on; each name's reverse links (apk_db_name_rdepends) are built from these on first use.
   */
  private indexReverseDependencies(pkg: Package): void {
    const { depends, installIf } = pkg;
    for (let i = 0; i < depends.length; i++) {
      const dep = depends[i]!;
      const target = dep.name;
      target.isDependency ||= (dep.op & VERSION_CONFLICT) === 0;
      if (target.dependents.length === 0) target.dependents = [pkg];
      else target.dependents.push(pkg);
      target.staleReverse();
    }
    for (let i = 0; i < installIf.length; i++) {
      const target = installIf[i]!.name;
      this.noteReverseIif(target);
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

  /**
   * The discovery graph of the current universe (built on first use, rebuilt after changes).
   * Names created later (by a world entry nothing provides) are past `nameCount`: no links.
   */
  discoveryGraph(): DiscoveryGraph {
    const graph = this.graph;
    if (graph && graph.version === this.linkVersion && graph.availableRepos === this.availableRepos) {
      return graph;
    }
    return (this.graph = this.buildDiscoveryGraph());
  }

  private buildDiscoveryGraph(): DiscoveryGraph {
    const links = this.links;
    const nameCount = this.nameList.length;
    const packages = this.packageList;
    const packageCount = packages.length;
    // Providers by name: a stable counting sort of the recorded (name, package) pairs keeps each
    // name's providers in Name.providers order.
    const pairNames = links.providerName;
    const pairPackages = links.providerPackage;
    const providerStart = new Int32Array(nameCount + 1);
    for (let i = 0; i < pairNames.length; i++) providerStart[pairNames[i]! + 1]!++;
    for (let n = 0; n < nameCount; n++) providerStart[n + 1]! += providerStart[n]!;
    const providerPackage = new Int32Array(pairNames.length);
    const fill = providerStart.slice(0, nameCount);
    const nameHasOwnProvider = new Uint8Array(nameCount);
    const packageName = Int32Array.from(links.packageName);
    for (let i = 0; i < pairNames.length; i++) {
      const n = pairNames[i]!;
      const p = pairPackages[i]!;
      providerPackage[fill[n]!++] = p;
      if (packageName[p] === n) nameHasOwnProvider[n] = 1;
    }
    // install_if reverse links: only names some install_if names have any.
    const rinstallIfStart = new Int32Array(nameCount + 1);
    for (const name of links.reverseIifNames) rinstallIfStart[name.serial + 1] = name.rinstallIf.length;
    for (let n = 0; n < nameCount; n++) rinstallIfStart[n + 1]! += rinstallIfStart[n]!;
    const rinstallIfName = new Int32Array(rinstallIfStart[nameCount]!);
    for (const name of links.reverseIifNames) {
      let at = rinstallIfStart[name.serial]!;
      for (const name0 of name.rinstallIf) rinstallIfName[at++] = name0.serial;
    }
    const installIfStart = LinkRecorder.offsets(links.installIfStart, links.installIfName, packageCount);
    const packageNoInstallIf = new Uint8Array(packageCount);
    const packageAvailable = new Uint8Array(packageCount);
    for (let p = 0; p < packageCount; p++) {
      packageNoInstallIf[p] = installIfStart[p + 1] === installIfStart[p] ? 1 : 0;
      const pkg = packages[p]!;
      packageAvailable[p] = pkg.fromFile || this.isAvailable(pkg) ? 1 : 0;
    }
    return {
      version: this.linkVersion, availableRepos: this.availableRepos, nameCount,
      providerStart, providerPackage, nameHasOwnProvider, rinstallIfStart, rinstallIfName, packageName,
      dependStart: LinkRecorder.offsets(links.dependStart, links.dependName, packageCount), dependName: Int32Array.from(links.dependName),
      provideStart: LinkRecorder.offsets(links.provideStart, links.provideName, packageCount), provideName: Int32Array.from(links.provideName),
      installIfStart, installIfName: Int32Array.from(links.installIfName), packageNoInstallIf, packageAvailable,
    };
  }

  /**
   * The opened universe as plain data (names by serial, packages by id, links as offsets), which a
   * universe image stores and {@link Database.fromParts} turns back into the same database. Only a
   * universe of repositories can be exported: installed and cached packages belong to one root.
   */
  toParts(): UniverseParts {
    this.materializeAll();
    if (!this.openComplete || this.installed.length || this.cacheActive || this.world.length || this.flaggedNames || this.files.size) {
      throw new RangeError('only an opened universe of repositories, before any solve flags, can be exported');
    }
    const graph = this.discoveryGraph();
    const strings: string[] = [];
    const stringIds = new Map<string, number>();
    const stringId = (value: string): number => {
      let id = stringIds.get(value);
      if (id === undefined) {
        id = strings.length;
        strings.push(value);
        stringIds.set(value, id);
      }
      return id;
    };
    const names = this.nameList;
    const nameCount = names.length;
    const nameBucketOf = new Int32Array(nameCount);
    const nameFlags = new Uint8Array(nameCount);
    const providerStart = new Int32Array(nameCount + 1);
    const providers: number[] = [];
    const providerVersions: number[] = [];
    const dependentStart = new Int32Array(nameCount + 1);
    const dependents: number[] = [];
    const iifDependentStart = new Int32Array(nameCount + 1);
    const iifDependents: number[] = [];
    const rdependStart = new Int32Array(nameCount + 1);
    const rdepends: number[] = [];
    for (let n = 0; n < nameCount; n++) {
      const name = names[n]!;
      // From the table key the reverse links below compute anyway (and cache): one hash per name.
      nameBucketOf[n] = Math.floor(name.tableKey / SERIAL_LIMIT);
      nameFlags[n] = (name.hasRepositoryProviders ? NAME_REPOSITORY_PROVIDERS : 0) | (name.isDependency ? NAME_DEPENDENCY : 0) | (name.hasReverseIif ? NAME_REVERSE_IIF : 0);
      for (const provider of name.providers) {
        providers.push(provider.pkg.id);
        providerVersions.push(stringId(provider.version));
      }
      providerStart[n + 1] = providers.length;
      for (const pkg of name.dependents) dependents.push(pkg.id);
      dependentStart[n + 1] = dependents.length;
      for (const pkg of name.iifDependents) iifDependents.push(pkg.id);
      iifDependentStart[n + 1] = iifDependents.length;
      for (const serial of name.rdependsSerials) rdepends.push(serial);
      rdependStart[n + 1] = rdepends.length;
    }
    const packages = this.packageList;
    const packageCount = packages.length;
    const depName: number[] = [];
    const depOp: number[] = [];
    const depVersion: number[] = [];
    const depTag: number[] = [];
    const depBroken: number[] = [];
    const depIds = new Map<Dep, number>();
    const depRef = (dep: Dep): number => {
      // A record's dependency on any version of a name is the name's shared object.
      if (dep === dep.name.plainDep) return -1 - dep.name.serial;
      let id = depIds.get(dep);
      if (id === undefined) {
        id = depName.length;
        depName.push(dep.name.serial);
        depOp.push(dep.op);
        depVersion.push(stringId(dep.version));
        depTag.push(dep.tag);
        depBroken.push(dep.broken ? 1 : 0);
        depIds.set(dep, id);
      }
      return id;
    };
    const lists = (pick: (pkg: Package) => Dep[]): { start: Int32Array; refs: Int32Array } => {
      const start = new Int32Array(packageCount + 1);
      const refs: number[] = [];
      for (let p = 0; p < packageCount; p++) {
        for (const dep of pick(packages[p]!)) refs.push(depRef(dep));
        start[p + 1] = refs.length;
      }
      return { start, refs: Int32Array.from(refs) };
    };
    const depends = lists((pkg) => pkg.depends);
    const provides = lists((pkg) => pkg.provides);
    const installIf = lists((pkg) => pkg.installIf);
    const packageName = new Int32Array(packageCount);
    const packageVersion = new Int32Array(packageCount);
    const packageIdentity = new Int32Array(packageCount);
    const packageArch = new Int32Array(packageCount);
    const packageInstalledSize = new Float64Array(packageCount);
    const packageSize = new Float64Array(packageCount);
    const packagePriority = new Int32Array(packageCount);
    const packageRepos = new Int32Array(packageCount);
    const packageFlags = new Uint8Array(packageCount);
    for (let p = 0; p < packageCount; p++) {
      const pkg = packages[p]!;
      packageName[p] = pkg.name.serial;
      packageVersion[p] = stringId(pkg.version);
      packageIdentity[p] = stringId(pkg.identity);
      packageArch[p] = stringId(pkg.arch);
      packageInstalledSize[p] = pkg.installedSize;
      packageSize[p] = pkg.size;
      packagePriority[p] = pkg.providerPriority;
      packageRepos[p] = pkg.repos;
      packageFlags[p] = (pkg.uninstallable ? PACKAGE_UNINSTALLABLE : 0) | (pkg.fromFile ? PACKAGE_FROM_FILE : 0) | (pkg.cached ? PACKAGE_CACHED : 0);
    }
    return {
      arches: [...this.arches],
      strings,
      names: names.map((name) => name.name),
      nameBucket: nameBucketOf, nameFlags,
      providerStart, providerPackage: Int32Array.from(providers), providerVersion: Int32Array.from(providerVersions),
      dependentStart, dependentPackage: Int32Array.from(dependents),
      iifDependentStart, iifDependentPackage: Int32Array.from(iifDependents),
      rdependStart, rdependName: Int32Array.from(rdepends),
      reverseIifNames: Int32Array.from(this.links.reverseIifNames, (name) => name.serial),
      packageName, packageVersion, packageIdentity, packageArch, packageInstalledSize, packageSize, packagePriority, packageRepos, packageFlags,
      dependStart: depends.start, dependRef: depends.refs, provideStart: provides.start, provideRef: provides.refs, installIfStart: installIf.start, installIfRef: installIf.refs,
      depName: Int32Array.from(depName), depOp: Int32Array.from(depOp), depVersion: Int32Array.from(depVersion), depTag: Int32Array.from(depTag), depBroken: Uint8Array.from(depBroken),
      repoTags: this.repoTags.map((tag) => ({ ...tag })),
      repos: this.repos.map((repo) => ({ ...repo })),
      availableRepos: this.availableRepos,
      compat: (this.compatNewFeatures ? COMPAT_NEW_FEATURES : 0) | (this.compatNotInstallable ? COMPAT_NOT_INSTALLABLE : 0) | (this.compatDepVersions ? COMPAT_DEP_VERSIONS : 0),
      linkVersion: this.linkVersion,
      graph,
    };
  }

  /**
   * The database {@link toParts} exported, opened and ready to solve. Names and packages become
   * objects only when a solve first reaches them (a solve touches a few hundred of a large index's
   * thousands), their lists when first read, and records through `record(packageId)` when first
   * asked for. The parts must be internally consistent (see universe-image.ts); they are trusted.
   */
  static fromParts(parts: UniverseParts, record: (id: number) => PackageRecord): Database {
    const db = new Database(parts.arches);
    const nameCount = parts.names.length;
    const packageCount = parts.packageName.length;
    db.restored = new RestoredUniverse(db, parts, record);
    db.scope.lazy = db.restored;
    db.nameList.length = nameCount;
    db.packageList.length = packageCount;
    db.nameSerial = nameCount;
    db.repoTags.length = 0;
    for (const tag of parts.repoTags) db.repoTags.push({ ...tag });
    for (const repo of parts.repos) db.repos.push({ ...repo });
    db.availableRepos = parts.availableRepos;
    db.compatNewFeatures = (parts.compat & COMPAT_NEW_FEATURES) !== 0;
    db.compatNotInstallable = (parts.compat & COMPAT_NOT_INSTALLABLE) !== 0;
    db.compatDepVersions = (parts.compat & COMPAT_DEP_VERSIONS) !== 0;
    db.linkVersion = parts.linkVersion;
    db.graph = { ...parts.graph, version: parts.linkVersion, availableRepos: parts.availableRepos };
    db.linkRecorder = undefined;
    db.openComplete = true;
    db.scope.ensureCapacity(nameCount, packageCount);
    return db;
  }

  /** The name with this serial. */
  nameAt(serial: number): Name {
    return this.nameList[serial] ?? this.restored!.name(serial);
  }

  /** The package with this id. */
  packageAt(id: number): Package {
    return this.packageList[id] ?? this.restored!.package(id);
  }

  /** Makes every name and package of a restored universe an object (before adding to it or exporting it). */
  private materializeAll(): void {
    const restored = this.restored;
    if (!restored) return;
    for (let serial = 0; serial < restored.nameCount; serial++) this.nameAt(serial);
    for (let id = 0; id < restored.packageCount; id++) this.packageAt(id);
    this.restoredReverseIif = restored.reverseIifNames();
    this.restored = undefined;
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
    if (!name.solverFlagsSet) this.flaggedNames++;
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
 * The source of a restored universe's objects (Database.fromParts): makes a name, a package or a
 * list an object the first time it is asked for, registering names and packages in the
 * database's tables as apk's loading would have.
 */
class RestoredUniverse implements LazyLinks {
  readonly nameCount: number;
  readonly packageCount: number;
  private serials: Map<string, number> | undefined;
  private readonly deps: Array<Dep | undefined>;
  constructor(
    private readonly db: Database,
    private readonly parts: UniverseParts,
    private readonly record: (id: number) => PackageRecord,
  ) {
    this.nameCount = parts.names.length;
    this.packageCount = parts.packageName.length;
    this.deps = new Array<Dep | undefined>(parts.depName.length);
  }

  private lookups = 0;
  /** The serial of a loaded name. A world names a few: the first questions scan the list
   *  natively; the lookup table is built only once there are more. */
  serialOf(text: string): number | undefined {
    if (!this.serials && ++this.lookups <= 32) {
      const serial = this.parts.names.indexOf(text);
      return serial < 0 ? undefined : serial;
    }
    if (!this.serials) {
      const names = this.parts.names;
      const serials = new Map<string, number>();
      for (let n = 0; n < names.length; n++) serials.set(names.at(n)!, n);
      this.serials = serials;
    }
    return this.serials.get(text);
  }

  name(serial: number): Name {
    const parts = this.parts;
    const text = parts.names.at(serial)!;
    const name = new Name(text, serial, this.db.scope);
    name.presetBucket(parts.nameBucket[serial]!);
    const flags = parts.nameFlags[serial]!;
    if (flags & NAME_REPOSITORY_PROVIDERS) name.hasRepositoryProviders = true;
    if (flags & NAME_DEPENDENCY) name.isDependency = true;
    if (flags & NAME_REVERSE_IIF) name.hasReverseIif = true;
    name.deferLinks(parts.dependentStart[serial] !== parts.dependentStart[serial + 1], parts.iifDependentStart[serial] !== parts.iifDependentStart[serial + 1]);
    this.db.names.set(text, name);
    this.db.nameList[serial] = name;
    return name;
  }

  package(id: number): Package {
    const parts = this.parts;
    const strings = parts.strings;
    const identity = strings.at(parts.packageIdentity[id]!)!;
    const pkg = new Package(
      id, identity, this.db.nameAt(parts.packageName[id]!), strings.at(parts.packageVersion[id]!)!, strings.at(parts.packageArch[id]!)!,
      parts.packageInstalledSize[id]!, parts.packageSize[id]!, parts.packagePriority[id]!, undefined, undefined, undefined, this.record, this.db.scope,
    );
    const flags = parts.packageFlags[id]!;
    if (flags & PACKAGE_UNINSTALLABLE) pkg.uninstallable = true;
    if (flags & PACKAGE_FROM_FILE) pkg.fromFile = true;
    if (flags & PACKAGE_CACHED) pkg.cached = true;
    pkg.repos = parts.packageRepos[id]!;
    this.db.packages.set(identityKey(identity), pkg);
    this.db.packageList[id] = pkg;
    return pkg;
  }

  private dep(ref: number): Dep {
    if (ref < 0) {
      const name = this.db.nameAt(-1 - ref);
      return (name.plainDep ??= { name, op: DEPMASK_ANY, version: '', tag: 0, broken: PLAIN_BROKEN });
    }
    let dep = this.deps[ref];
    if (dep === undefined) {
      const parts = this.parts;
      dep = { name: this.db.nameAt(parts.depName[ref]!), op: parts.depOp[ref]!, version: parts.strings.at(parts.depVersion[ref]!)!, tag: parts.depTag[ref]!, broken: parts.depBroken[ref] === 1 };
      this.deps[ref] = dep;
    }
    return dep;
  }

  private depList(start: Int32Array, refs: Int32Array, id: number): Dep[] {
    const from = start[id]!;
    const to = start[id + 1]!;
    if (from === to) return NO_DEPS;
    const list = new Array<Dep>(to - from);
    for (let i = from; i < to; i++) list[i - from] = this.dep(refs[i]!);
    return list;
  }

  private packages(start: Int32Array, ids: Int32Array, serial: number, empty: Package[]): Package[] {
    const from = start[serial]!;
    const to = start[serial + 1]!;
    if (from === to) return empty;
    const list = new Array<Package>(to - from);
    for (let i = from; i < to; i++) list[i - from] = this.db.packageAt(ids[i]!);
    return list;
  }

  rdependsSerialsOf(serial: number): Int32Array {
    return this.parts.rdependName.subarray(this.parts.rdependStart[serial]!, this.parts.rdependStart[serial + 1]!);
  }

  rdependsOf(serial: number): Name[] {
    return Array.from(this.rdependsSerialsOf(serial), (n) => this.db.nameAt(n));
  }

  rinstallIfOf(serial: number): Name[] {
    const graph = this.parts.graph;
    if (serial >= graph.nameCount) return [];
    return Array.from(graph.rinstallIfName.subarray(graph.rinstallIfStart[serial]!, graph.rinstallIfStart[serial + 1]!), (n) => this.db.nameAt(n));
  }

  reverseIifNames(): Name[] {
    return Array.from(this.parts.reverseIifNames, (serial) => this.db.nameAt(serial));
  }

  providersOf(serial: number): Provider[] {
    const parts = this.parts;
    const from = parts.providerStart[serial]!;
    const to = parts.providerStart[serial + 1]!;
    if (from === to) return NO_PROVIDERS;
    const list = new Array<Provider>(to - from);
    for (let i = from; i < to; i++) list[i - from] = { pkg: this.db.packageAt(parts.providerPackage[i]!), version: parts.strings.at(parts.providerVersion[i]!)! };
    return list;
  }

  dependentsOf(serial: number): Package[] {
    return this.packages(this.parts.dependentStart, this.parts.dependentPackage, serial, NO_PACKAGES);
  }

  iifDependentsOf(serial: number): Package[] {
    return this.packages(this.parts.iifDependentStart, this.parts.iifDependentPackage, serial, NO_PACKAGES);
  }

  dependsOf(id: number): Dep[] {
    return this.depList(this.parts.dependStart, this.parts.dependRef, id);
  }

  providesOf(id: number): Dep[] {
    return this.depList(this.parts.provideStart, this.parts.provideRef, id);
  }

  installIfOf(id: number): Dep[] {
    return this.depList(this.parts.installIfStart, this.parts.installIfRef, id);
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

/** `broken` of a dependency without version, as pullDep computes it. */
const PLAIN_BROKEN = (DEPMASK_ANY & DEPMASK_CHECKSUM) !== DEPMASK_CHECKSUM && !isValidVersion('');

/** Is every item of a dependency field one non-empty word? */
function oneWordEach(items: readonly string[]): boolean {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item === '' || hasSeparator(item)) return false;
  }
  return true;
}

/** The first character of a version operator in a dependency word. */
const OPERATOR_CHAR = /[<>=~]/;
/** A list separator inside a dependency field item. */
const SEPARATOR = /[ \t\n]/;

/** Does a dependency field item contain a list separator (space, tab, newline)? */
function hasSeparator(item: string): boolean {
  // A native search rather than a character loop, for the same reason as in pullDep.
  return SEPARATOR.test(item);
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
