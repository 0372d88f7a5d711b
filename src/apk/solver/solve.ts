// The apk-tools solver (src/solver.c), reimplemented step for step: discovery with post-order
// priorities, requirer counting, down-propagation of common dependencies, install_if evaluation,
// greedy selection by compare_providers, and the depth-first changeset walk. It never backtracks;
// exact choices and output order depend on reproducing the same queues and tie-breaks, so this
// module deliberately mirrors the reference algorithm rather than using a generic SAT solver.
// Loops over arrays use indexes, not for-of: a CLI run solves once, mostly before V8 optimizes this
// code, and unoptimized for-of allocates an iterator and a result object per step.
import { DEPMASK_CHECKSUM, VERSION_CONFLICT, VERSION_GREATER, VERSION_LESS, compareVersionBits, versionMatches } from '../version.ts';
import type { Database, Dep, DiscoveryGraph, Name, Package, Provider } from './database.ts';
import {
  compareNamesForDisplay,
  identityKey,
  SOLVERF_AVAILABLE,
  SOLVERF_IGNORE_CONFLICT,
  SOLVERF_INSTALLED,
  SOLVERF_LATEST,
  SOLVERF_REINSTALL,
  SOLVERF_REMOVE,
  SOLVERF_UPGRADE,
} from './database.ts';

/** One entry of a changeset; unchanged packages are included (and not printed). */
export interface Change {
  oldPkg: Package | undefined;
  newPkg: Package | undefined;
  oldTag: number;
  newTag: number;
  reinstall: boolean;
}

/** The solver's result: every change in apk's execution order. */
export interface Changeset {
  changes: Change[];
  numInstall: number;
  numRemove: number;
  numAdjust: number;
  numTotal: number;
}

/** A chosen provider; `pkg` undefined means "no package" (apk's provider_none). */
interface Choice {
  pkg: Package | undefined;
  version: string;
}

const NONE: Choice = { pkg: undefined, version: '' };
const DEFAULT_PINNING = 1;

const DEP_IRRELEVANT = 1;
export const DEP_SATISFIES = 2;
export const DEP_CONFLICTS = 4;

function isConflict(dep: Dep): boolean {
  return (dep.op & VERSION_CONFLICT) !== 0;
}

/** apk_dep_is_provided. */
function depIsProvided(deppkg: Package | undefined, dep: Dep, p: Choice | Provider | undefined): boolean {
  if (!p || !p.pkg) return isConflict(dep);
  if (isConflict(dep) && deppkg === p.pkg) return true;
  if (dep.op === DEPMASK_CHECKSUM) return identityKey(dep.version) === identityKey(p.pkg.identity);
  return versionMatches(p.version, dep.op, dep.version);
}

/** apk_dep_is_materialized. */
export function depIsMaterialized(dep: Dep, pkg: Package | undefined): boolean {
  if (!pkg || dep.name !== pkg.name) return isConflict(dep);
  if (dep.op === DEPMASK_CHECKSUM) return identityKey(dep.version) === identityKey(pkg.identity);
  return versionMatches(pkg.version, dep.op, dep.version);
}

/** apk_dep_analyze: how `dep` (declared by `deppkg`) relates to `pkg`. */
export function depAnalyze(deppkg: Package | undefined, dep: Dep, pkg: Package | undefined): number {
  if (!pkg) return DEP_IRRELEVANT;
  if (dep.name === pkg.name) return depIsMaterialized(dep, pkg) ? DEP_SATISFIES : DEP_CONFLICTS;
  for (let pAt = 0, pList = pkg.provides; pAt < pList.length; pAt++) {
    const p = pList[pAt]!;
    if (p.name !== dep.name) continue;
    return depIsProvided(deppkg, dep, { pkg, version: p.version }) ? DEP_SATISFIES : DEP_CONFLICTS;
  }
  return DEP_IRRELEVANT;
}

/** Options of {@link foreachReverseDependency} (apk's APK_FOREACH_* bits). */
interface ReverseDependencyMatch {
  match: number;
  installed?: boolean;
  marked?: boolean;
  genid?: number;
  /** With a genid and without this, only the first matching dependency of a package is reported. */
  allDeps?: boolean;
}

/** apk_pkg_match_genid. */
export function matchGenid(pkg: Package | undefined, genid: number | undefined): boolean {
  if (pkg && genid) {
    if (pkg.foreachGenid >= genid) return true;
    pkg.foreachGenid = genid;
  }
  return false;
}

/** apk_pkg_foreach_reverse_dependency. */
export function foreachReverseDependency(pkg: Package, m: ReverseDependencyMatch, cb: (pkg0: Package, dep0: Dep) => void): void {
  const oneDepOnly = m.genid !== undefined && !m.allDeps;
  const walk = (rdepends: readonly Name[]): void => {
    for (let name0At = 0, name0List = rdepends; name0At < name0List.length; name0At++) {
      const name0 = name0List[name0At]!;
      for (let p0At = 0, p0List = name0.providers; p0At < p0List.length; p0At++) {
        const p0 = p0List[p0At]!;
        const pkg0 = p0.pkg;
        if (m.installed && !pkg0.installed) continue;
        if (m.marked && !pkg0.marked) continue;
        if (matchGenid(pkg0, m.genid)) continue;
        for (let d0At = 0, d0List = pkg0.depends; d0At < d0List.length; d0At++) {
          const d0 = d0List[d0At]!;
          if (depAnalyze(pkg0, d0, pkg) & m.match) {
            cb(pkg0, d0);
            if (oneDepOnly) break;
          }
        }
      }
    }
  };
  walk(pkg.name.rdepends);
  for (let pAt = 0, pList = pkg.provides; pAt < pList.length; pAt++) { const p = pList[pAt]!; walk(p.name.rdepends); }
}

/** Max-heap of names by order id with lazy deletion (apk keeps sorted lists). */
class NameHeap {
  private items: Array<{ name: Name; seq: number; key: number }> = [];
  constructor(private readonly id: number) {}
  push(name: Name, seq: number): void {
    const items = this.items;
    items.push({ name, seq, key: name.ss.orderId });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.key >= items[i]!.key) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }
  pop(): Name | undefined {
    const items = this.items;
    while (items.length > 0) {
      const top = items[0]!;
      const last = items.pop()!;
      if (items.length > 0) {
        items[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < items.length && items[l]!.key > items[m]!.key) m = l;
          if (r < items.length && items[r]!.key > items[m]!.key) m = r;
          if (m === i) break;
          [items[m], items[i]] = [items[i]!, items[m]!];
          i = m;
        }
      }
      if (top.name.ss.queue === this.id && top.name.ss.queueSeq === top.seq) return top.name;
    }
    return undefined;
  }
}

/** Options of one solver run. */
interface SolveOptions {
  /** --force-broken-world: drop failing world entries and solve again. */
  forceBrokenWorld?: boolean;
  /** Receives a trace of the solver's decisions (for debugging differences from apk). */
  trace?: (message: string) => void;
}

/** Result of {@link solve}. */
interface SolveResult {
  errors: number;
  changeset: Changeset;
}

class SolverRun {
  errors = 0;
  solverFlagsInherit = 0;
  pinningInherit = 0;
  ignoreConflict: boolean;
  private orderCounter = 0;
  private seq = 0;
  private dirty: Array<{ name: Name; seq: number }> = [];
  private dirtyHead = 0;
  private resolvenow: Array<{ name: Name; seq: number }> = [];
  private resolvenowHead = 0;
  private selectable = new NameHeap(2);
  private unresolved = new NameHeap(3);
  readonly changeset: Changeset = { changes: [], numInstall: 0, numRemove: 0, numAdjust: 0, numTotal: 0 };

  trace: ((message: string) => void) | undefined;

  constructor(
    private readonly db: Database,
    solverFlags: number,
  ) {
    this.ignoreConflict = (solverFlags & SOLVERF_IGNORE_CONFLICT) !== 0;
  }

  private pkgRepos(pkg: Package): number {
    return pkg.repos | (pkg.installed ? this.db.repoTags[pkg.installed.repositoryTag]!.allowedRepos : 0);
  }

  private getTag(pinningMask: number, repos: number): number {
    for (let i = 0; i < this.db.repoTags.length; i++) {
      if (!(pinningMask & (1 << i))) continue;
      if (this.db.repoTags[i]!.allowedRepos & repos) return i;
    }
    return 0;
  }

  private markError(pkg: Package | undefined): void {
    if (!pkg || pkg.ss.error) return;
    pkg.ss.error = true;
    this.errors++;
  }

  private queueDirty(name: Name): void {
    const ss = name.ss;
    if (ss.dirtySeq !== 0 || ss.locked || (ss.requirers === 0 && !ss.reevaluateIif)) return;
    ss.dirtySeq = ++this.seq;
    this.dirty.push({ name, seq: ss.dirtySeq });
  }

  private popDirty(): Name | undefined {
    while (this.dirtyHead < this.dirty.length) {
      const entry = this.dirty[this.dirtyHead++]!;
      if (entry.name.ss.dirtySeq === entry.seq) {
        entry.name.ss.dirtySeq = 0;
        return entry.name;
      }
    }
    this.dirty = [];
    this.dirtyHead = 0;
    return undefined;
  }

  private static queueResolvenow(name: Name): boolean {
    const ss = name.ss;
    return ss.reverseDepsDone && ss.requirers > 0 && ss.hasAutoSelectable && !ss.hasOptions;
  }

  private queueUnresolved(name: Name, reevaluate: boolean): void {
    const ss = name.ss;
    if (ss.locked) return;
    if (ss.queue !== 0) {
      if (ss.resolvenow) return;
      if (SolverRun.queueResolvenow(name)) ss.resolvenow = true;
      else if (!reevaluate) return;
      ss.queue = 0;
    } else {
      if (ss.requirers === 0 && !ss.hasIif && !ss.iifNeeded) return;
      ss.resolvenow = SolverRun.queueResolvenow(name);
    }
    ss.queueSeq = ++this.seq;
    if (ss.resolvenow) {
      ss.queue = 1;
      this.resolvenow.push({ name, seq: ss.queueSeq });
      return;
    }
    if (ss.hasAutoSelectable) {
      ss.queue = 2;
      this.selectable.push(name, ss.queueSeq);
    } else {
      ss.queue = 3;
      this.unresolved.push(name, ss.queueSeq);
    }
  }

  private dequeueNextName(): Name | undefined {
    while (this.resolvenowHead < this.resolvenow.length) {
      const entry = this.resolvenow[this.resolvenowHead++]!;
      if (entry.name.ss.queue === 1 && entry.name.ss.queueSeq === entry.seq) {
        entry.name.ss.queue = 0;
        return entry.name;
      }
    }
    for (const heap of [this.selectable, this.unresolved]) {
      const name = heap.pop();
      if (name) {
        name.ss.queue = 0;
        return name;
      }
    }
    return undefined;
  }

  private reevaluateReverseDeps(name: Name): void {
    // Large names (so:libc.musl…) have thousands of reverse dependencies, most never touched by
    // the solve: mark them in the scope's arrays, and queue only names with state (queueDirty
    // does nothing for a name without requirers or a pending install_if re-check).
    const scope = this.db.scope;
    const epoch = scope.epoch;
    const serials = name.rdependsSerials;
    for (let i = 0; i < serials.length; i++) {
      const serial = serials[i]!;
      if (scope.nameSeen[serial] !== epoch) continue;
      scope.nameReevaluateDeps[serial] = epoch;
      if (scope.nameTouched[serial] === epoch) this.queueDirty(this.db.nameAt(serial));
    }
  }

  private reevaluateReverseInstallIf(name: Name): void {
    for (let name0At = 0, name0List = name.rinstallIf; name0At < name0List.length; name0At++) {
      const name0 = name0List[name0At]!;
      if (!name0.seen) continue;
      if (name0.ss.noIif) continue;
      name0.ss.reevaluateIif = true;
      this.queueDirty(name0);
    }
  }

  private reevaluateReverseInstallIfPkg(pkg: Package): void {
    this.reevaluateReverseInstallIf(pkg.name);
    for (let dAt = 0, dList = pkg.provides; dAt < dList.length; dAt++) { const d = dList[dAt]!; this.reevaluateReverseInstallIf(d.name); }
  }

  private disqualifyPackage(pkg: Package): void {
    pkg.ss.pkgSelectable = false;
    this.reevaluateReverseDeps(pkg.name);
    for (let pAt = 0, pList = pkg.provides; pAt < pList.length; pAt++) { const p = pList[pAt]!; this.reevaluateReverseDeps(p.name); }
    this.reevaluateReverseInstallIfPkg(pkg);
  }

  private dependencySatisfiable(dpkg: Package, dep: Dep): boolean {
    const name = dep.name;
    if (isConflict(dep) && this.ignoreConflict) return true;
    if (name.ss.locked) return depIsProvided(dpkg, dep, name.ss.chosen);
    if (name.ss.requirers === 0 && depIsProvided(dpkg, dep, NONE)) return true;
    for (let pAt = 0, pList = name.providers; pAt < pList.length; pAt++) { const p = pList[pAt]!; if (p.pkg.ss.pkgSelectable && depIsProvided(dpkg, dep, p)) return true; }
    return false;
  }

  /**
   * solver.c discover_name over the discovery graph: marks the names and packages a world entry
   * can reach and gives each name its order id. Package and name state objects pick the results
   * up when the solve first touches them (SolveScope); objects touched before discovery (applets
   * set flags first) are updated here.
   */
  discoverName(name: Name): void {
    const db = this.db;
    const scope = db.scope;
    scope.ensureCapacity(db.nameList.length, db.packageList.length);
    scope.iifNeedsAvailable = (this.solverFlagsInherit & SOLVERF_AVAILABLE) !== 0;
    if (scope.nameSeen[name.serial] === scope.epoch) return;
    this.discover(db.discoveryGraph(), name.serial);
  }

  private discover(g: DiscoveryGraph, n: number): void {
    const db = this.db;
    const scope = db.scope;
    const epoch = scope.epoch;
    const nameSeen = scope.nameSeen;
    const packageSeen = scope.packageSeen;
    const packageProvidesSeen = scope.packageProvidesSeen;
    const iifNeedsAvailable = scope.iifNeedsAvailable;
    nameSeen[n] = epoch;
    let noIif = 1;
    const known = n < g.nameCount;
    const first = known ? g.providerStart[n]! : 0;
    const last = known ? g.providerStart[n + 1]! : 0;
    for (let i = first; i < last; i++) {
      const p = g.providerPackage[i]!;
      if (packageSeen[p] !== epoch) {
        packageSeen[p] = epoch;
        if (scope.packages.length !== 0) {
          // A package not yet an object (restored universe) has no state to update.
          const pkg = db.packageList[p];
          const state = pkg?.currentState;
          if (state) scope.initDiscoveredPackage(pkg!, state);
        }
        for (let j = g.dependStart[p]!, end = g.dependStart[p + 1]!; j < end; j++) {
          const n0 = g.dependName[j]!;
          if (nameSeen[n0] !== epoch) this.discover(g, n0);
        }
      }
      if (noIif && !(g.packageNoInstallIf[p] || (iifNeedsAvailable && !g.packageAvailable[p]))) noIif = 0;
    }
    if (known) {
      for (let j = g.rinstallIfStart[n]!, end = g.rinstallIfStart[n + 1]!; j < end; j++) {
        const n0 = g.rinstallIfName[j]!;
        if (nameSeen[n0] !== epoch) this.discover(g, n0);
      }
    }
    for (let i = first; i < last; i++) {
      // Once this loop has completed for a package every name it visits is seen, so visiting the
      // package again (once per name it provides) would do nothing: skip it.
      const p = g.providerPackage[i]!;
      if (packageProvidesSeen[p] === epoch) continue;
      const own = g.packageName[p]!;
      for (let j = g.rinstallIfStart[own]!, end = g.rinstallIfStart[own + 1]!; j < end; j++) {
        const n0 = g.rinstallIfName[j]!;
        if (nameSeen[n0] !== epoch) this.discover(g, n0);
      }
      for (let j = g.provideStart[p]!, end = g.provideStart[p + 1]!; j < end; j++) {
        const n0 = g.provideName[j]!;
        if (nameSeen[n0] !== epoch) this.discover(g, n0);
      }
      packageProvidesSeen[p] = epoch;
    }
    // Names an applet set flags on (everything named on the command line) are resolved first;
    // the solver fixtures (basic17, pinning7, provides-swap, selfupgrade1) pin down this polarity.
    let orderFlags = 0;
    if (db.flaggedNames !== 0 && db.nameList[n]?.solverFlagsSet) orderFlags += 0x80000000;
    if (known && g.nameHasOwnProvider[n]) orderFlags += 0x40000000;
    scope.nameOrder[n] = orderFlags + ++this.orderCounter;
    scope.nameNoIif[n] = noIif;
    if (scope.names.length !== 0) {
      const state = db.nameList[n]?.currentState;
      if (state) scope.initDiscoveredName(n, state);
    }
    for (let i = first; i < last; i++) {
      const p = g.providerPackage[i]!;
      for (let j = g.installIfStart[p]!, end = g.installIfStart[p + 1]!; j < end; j++) {
        const n0 = g.installIfName[j]!;
        if (nameSeen[n0] !== epoch) this.discover(g, n0);
      }
    }
  }

  private nameRequirersChanged(name: Name): void {
    this.queueUnresolved(name, false);
    this.reevaluateReverseInstallIf(name);
    this.queueDirty(name);
  }

  private inheritPinningAndFlags(pkg: Package, ppkg: Package | undefined): void {
    const ss = pkg.ss;
    const repos = this.pkgRepos(pkg);
    if (ppkg) {
      ss.solverFlags |= ppkg.ss.solverFlagsInheritable;
      ss.solverFlagsInheritable |= ppkg.ss.solverFlagsInheritable;
      ss.pinningAllowed |= ppkg.ss.pinningAllowed;
    } else {
      ss.solverFlags |= this.solverFlagsInherit;
      ss.solverFlagsInheritable |= this.solverFlagsInherit;
      ss.pinningAllowed |= this.pinningInherit;
      ss.pinningPreferred = this.pinningInherit;
      ss.tagPreferred = (repos & this.db.pinningMaskRepos(ss.pinningPreferred)) !== 0;
    }
    ss.tagOk ||= (repos & this.db.pinningMaskRepos(ss.pinningAllowed)) !== 0;
  }

  applyConstraint(ppkg: Package | undefined, dep: Dep): void {
    const name = dep.name;
    const conflict = isConflict(dep);
    if (conflict && this.ignoreConflict) return;
    if (!conflict) name.ss.requirers++;
    if (name.ss.requirers === 1 && !conflict) this.nameRequirersChanged(name);
    for (let p0At = 0, p0List = name.providers; p0At < p0List.length; p0At++) {
      const p0 = p0List[p0At]!;
      const pkg0 = p0.pkg;
      const isProvided = depIsProvided(ppkg, dep, p0);
      if (!isProvided) pkg0.ss.conflicts++;
      if (pkg0.ss.pkgSelectable && pkg0.ss.conflicts) this.disqualifyPackage(pkg0);
      if (isProvided) this.inheritPinningAndFlags(pkg0, ppkg);
    }
  }

  private excludeNonProviders(name: Name, mustProvide: Name, skipVirtuals: boolean): void {
    if (name === mustProvide || this.ignoreConflict) return;
    next: for (let pAt = 0, pList = name.providers; pAt < pList.length; pAt++) {
      const p = pList[pAt]!;
      if (p.pkg.name === mustProvide || !p.pkg.ss.pkgSelectable || (skipVirtuals && p.version === '')) continue;
      for (let dAt = 0, dList = p.pkg.provides; dAt < dList.length; dAt++) { const d = dList[dAt]!; if (d.name === mustProvide || (skipVirtuals && d.version === '')) continue next; }
      this.disqualifyPackage(p.pkg);
    }
  }

  private static isProviderAutoSelectable(p: Provider): boolean {
    if (p.version !== '') return true;
    if (p.pkg.providerPriority) return true;
    if (p.pkg.name.ss.requirers) return true;
    return false;
  }

  reconsiderName(name: Name): void {
    const ss = name.ss;
    const scope = this.db.scope;
    const reevaluateDeps = scope.nameReevaluateDeps[name.serial] === scope.epoch;
    this.trace?.(`reconsider ${name.name} deps=${reevaluateDeps} iif=${ss.reevaluateIif}`);
    const reevaluateIif = ss.reevaluateIif;
    scope.nameReevaluateDeps[name.serial] = 0;
    ss.reevaluateIif = false;
    let firstCandidate: Package | undefined;
    let numOptions = 0;
    let numTagNotOk = 0;
    let hasIif = false;
    let noIif = true;
    let hasAutoSelectable = false;
    let reevaluate = false;

    for (let pAt = 0, pList = name.providers; pAt < pList.length; pAt++) {
      const p = pList[pAt]!;
      const pkg = p.pkg;
      pkg.ss.dependenciesMerged = false;
      if (reevaluateDeps) {
        if (!pkg.ss.pkgSelectable) continue;
        for (let depAt = 0, depList = pkg.depends; depAt < depList.length; depAt++) {
          const dep = depList[depAt]!;
          if (!this.dependencySatisfiable(pkg, dep)) {
            this.disqualifyPackage(pkg);
            break;
          }
        }
      }
      if (!pkg.ss.pkgSelectable) continue;

      if (reevaluateIif && !pkg.ss.iifTriggered && !pkg.ss.iifFailed) {
        pkg.ss.iifTriggered = true;
        pkg.ss.iifFailed = false;
        for (let depAt = 0, depList = pkg.installIf; depAt < depList.length; depAt++) {
          const dep = depList[depAt]!;
          if (!dep.name.ss.locked) {
            if (isConflict(dep)) {
              dep.name.ss.iifNeeded = true;
              this.queueUnresolved(dep.name, false);
            }
            pkg.ss.iifTriggered = false;
            pkg.ss.iifFailed = false;
            break;
          }
          if (!depIsProvided(pkg, dep, dep.name.ss.chosen)) {
            pkg.ss.iifTriggered = false;
            pkg.ss.iifFailed = true;
            break;
          }
        }
      }
      if (reevaluateIif && pkg.ss.iifTriggered) {
        for (let depAt = 0, depList = pkg.installIf; depAt < depList.length; depAt++) { const dep = depList[depAt]!; this.inheritPinningAndFlags(pkg, dep.name.ss.chosen?.pkg); }
      }
      hasIif ||= pkg.ss.iifTriggered;
      noIif &&= pkg.ss.iifFailed;
      hasAutoSelectable ||= pkg.ss.iifTriggered;

      if (ss.requirers === 0) continue;

      pkg.ss.dependenciesMerged = true;
      firstCandidate ??= pkg;
      for (let depAt = 0, depList = pkg.depends; depAt < depList.length; depAt++) {
        const dep = depList[depAt]!;
        if (!isConflict(dep) && dep.name.ss.mergeDepends === numOptions) dep.name.ss.mergeDepends = numOptions + 1;
      }
      if (pkg.name.ss.mergeProvides === numOptions) {
        pkg.name.ss.mergeProvides = numOptions + 1;
        pkg.name.ss.hasVirtualProvides ||= p.version === '';
      }
      for (let depAt = 0, depList = pkg.provides; depAt < depList.length; depAt++) {
        const dep = depList[depAt]!;
        if (dep.name.ss.mergeProvides === numOptions) {
          dep.name.ss.mergeProvides = numOptions + 1;
          dep.name.ss.hasVirtualProvides ||= dep.version === '';
        }
      }
      if (!pkg.ss.tagOk) numTagNotOk++;
      numOptions++;
      if (!hasAutoSelectable && SolverRun.isProviderAutoSelectable(p)) hasAutoSelectable = true;
    }
    ss.hasOptions = numOptions > 1 || numTagNotOk > 0;
    ss.hasIif = hasIif;
    ss.noIif = noIif;
    if (hasAutoSelectable !== ss.hasAutoSelectable) {
      ss.hasAutoSelectable = hasAutoSelectable;
      reevaluate = true;
    }

    if (firstCandidate) {
      const pkg = firstCandidate;
      for (let pAt = 0, pList = name.providers; pAt < pList.length; pAt++) { const p = pList[pAt]!; p.pkg.ss.dependenciesUsed = p.pkg.ss.dependenciesMerged; }
      const complete = (n: Name, field: 'mergeDepends' | 'mergeProvides'): boolean => {
        const ret = n.ss[field] === numOptions;
        n.ss[field] = 0;
        return ret;
      };
      if (numOptions === 1) {
        for (let depAt = 0, depList = pkg.depends; depAt < depList.length; depAt++) { const dep = depList[depAt]!; if (complete(dep.name, 'mergeDepends')) this.applyConstraint(pkg, dep); }
      } else {
        for (let depAt = 0, depList = pkg.depends; depAt < depList.length; depAt++) {
          const dep = depList[depAt]!;
          const name0 = dep.name;
          if (complete(name0, 'mergeDepends') && name0.ss.requirers === 0) {
            name0.ss.requirers++;
            this.nameRequirersChanged(name0);
            for (let pAt = 0, pList = name0.providers; pAt < pList.length; pAt++) { const p = pList[pAt]!; this.inheritPinningAndFlags(p.pkg, pkg); }
          }
        }
      }
      if (complete(pkg.name, 'mergeProvides')) this.excludeNonProviders(pkg.name, name, pkg.name.ss.hasVirtualProvides);
      for (let depAt = 0, depList = pkg.provides; depAt < depList.length; depAt++) {
        const dep = depList[depAt]!;
        if (complete(dep.name, 'mergeProvides')) this.excludeNonProviders(dep.name, name, dep.name.ss.hasVirtualProvides);
      }
      pkg.name.ss.hasVirtualProvides = false;
      for (let depAt = 0, depList = pkg.provides; depAt < depList.length; depAt++) { const dep = depList[depAt]!; dep.name.ss.hasVirtualProvides = false; }
    }

    ss.reverseDepsDone = true;
    // By serial: only names the solve has seen become objects (a restored universe's others need not).
    for (let at = 0, serials = name.rdependsSerials; at < serials.length; at++) {
      const serial = serials[at]!;
      if (scope.nameSeen[serial] === scope.epoch && !this.db.nameAt(serial).ss.locked) {
        ss.reverseDepsDone = false;
        break;
      }
    }
    this.queueUnresolved(name, reevaluate);
  }

  compareProviders(pA: Choice, pB: Choice): number {
    const pkgA = pA.pkg;
    const pkgB = pB.pkg;
    if (!pkgA || !pkgB) return (pkgA ? 1 : 0) - (pkgB ? 1 : 0);
    const a = pkgA.ss;
    const b = pkgB.ss;
    const flags = a.solverFlags | b.solverFlags;
    const bool = (x: boolean): number => (x ? 1 : 0);
    let r: number;
    if ((flags & SOLVERF_LATEST) && a.pinningAllowed === DEFAULT_PINNING && b.pinningAllowed === DEFAULT_PINNING) {
      r = bool(a.tagOk) - bool(b.tagOk);
      if (r) return r;
      if (flags & SOLVERF_AVAILABLE) {
        r = bool(a.pkgAvailable) - bool(b.pkgAvailable);
        if (r) return r;
      } else if (flags & SOLVERF_REINSTALL) {
        r = bool(a.pkgSelectable) - bool(b.pkgSelectable);
        if (r) return r;
      }
    } else {
      r = bool(a.pkgSelectable) - bool(b.pkgSelectable);
      if (r) return r;
      r = bool(a.dependenciesUsed) - bool(b.dependenciesUsed);
      if (r) return r;
      r = b.conflicts - a.conflicts;
      if (r) return r;
      if ((this.db.performingPreupgrade && !(flags & SOLVERF_UPGRADE)) || (flags & SOLVERF_INSTALLED)) {
        r = bool(!!pkgA.installed) - bool(!!pkgB.installed);
        if (r) return r;
      }
      r = bool(a.tagOk) - bool(b.tagOk);
      if (r) return r;
      if (flags & SOLVERF_AVAILABLE) {
        r = bool(a.pkgAvailable) - bool(b.pkgAvailable);
        if (r) return r;
      }
      r = bool(a.tagPreferred) - bool(b.tagPreferred);
      if (r) return r;
      if (!(flags & (SOLVERF_REMOVE | SOLVERF_UPGRADE)) && (pkgA.name === pkgB.name || pA.version !== '' || pB.version !== '')) {
        r = bool(!!pkgA.installed) - bool(!!pkgB.installed);
        if (r) return r;
      }
    }
    const byRequested = compareVersionBits(pA.version, pB.version);
    if (byRequested === VERSION_LESS) return -1;
    if (byRequested === VERSION_GREATER) return 1;
    if (pkgA.name === pkgB.name) {
      const byPrincipal = compareVersionBits(pkgA.version, pkgB.version);
      if (byPrincipal === VERSION_LESS) return -1;
      if (byPrincipal === VERSION_GREATER) return 1;
    }
    r = pkgA.providerPriority - pkgB.providerPriority;
    if (r) return r;
    if (!(flags & SOLVERF_REMOVE)) {
      r = bool(!!pkgA.installed) - bool(!!pkgB.installed);
      if (r) return r;
    }
    r = bool(a.pkgSelectable) - bool(b.pkgSelectable);
    if (r) return r;
    return ffs(pkgB.repos) - ffs(pkgA.repos);
  }

  private assignName(name: Name, p: Choice): void {
    const ss = name.ss;
    if (ss.locked) {
      if (p.version === '' && ss.chosen!.version === '') return;
      if (this.ignoreConflict) return;
      this.markError(p.pkg);
      this.markError(ss.chosen!.pkg);
      return;
    }
    ss.locked = true;
    ss.chosen = p;
    ss.queue = 0;
    ss.dirtySeq = 0;
    if (p.pkg && !ss.requirers && p.pkg.ss.iifTriggered) {
      for (let depAt = 0, depList = p.pkg.installIf; depAt < depList.length; depAt++) { const dep = depList[depAt]!; if (!dep.name.ss.locked) this.applyConstraint(p.pkg, dep); }
    }
    if (!this.ignoreConflict) {
      for (let p0At = 0, p0List = name.providers; p0At < p0List.length; p0At++) {
        const p0 = p0List[p0At]!;
        if (p0.pkg === p.pkg) continue;
        if (p.version === '' && p0.version === '') continue;
        this.disqualifyPackage(p0.pkg);
      }
    }
    this.reevaluateReverseDeps(name);
    if (p.pkg) this.reevaluateReverseInstallIfPkg(p.pkg);
    else this.reevaluateReverseInstallIf(name);
  }

  selectPackage(name: Name): void {
    let chosen: Choice = NONE;
    const ss = name.ss;
    this.trace?.(`select ${name.name} requirers=${ss.requirers} iif=${ss.hasIif} order=${ss.orderId.toString(16)}`);
    if (ss.requirers || ss.hasIif) {
      for (let pAt = 0, pList = name.providers; pAt < pList.length; pAt++) {
        const p = pList[pAt]!;
        const ps = p.pkg.ss;
        if (ss.requirers === 0 && (!ps.iifTriggered || !ps.tagOk || !ps.pkgSelectable)) continue;
        if (!SolverRun.isProviderAutoSelectable(p)) continue;
        if (this.compareProviders(p, chosen) > 0) chosen = p;
      }
    }
    const pkg = chosen.pkg;
    if (pkg) {
      if (!pkg.ss.pkgSelectable || !pkg.ss.tagOk) this.markError(pkg);
      this.assignName(pkg.name, { pkg, version: pkg.version });
      for (let dAt = 0, dList = pkg.provides; dAt < dList.length; dAt++) { const d = dList[dAt]!; this.assignName(d.name, { pkg, version: d.version }); }
      for (let dAt = 0, dList = pkg.depends; dAt < dList.length; dAt++) { const d = dList[dAt]!; this.applyConstraint(pkg, d); }
    } else {
      this.assignName(name, NONE);
      if (ss.requirers > 0) this.errors++;
    }
  }

  run(): void {
    for (;;) {
      for (let name = this.popDirty(); name; name = this.popDirty()) this.reconsiderName(name);
      const name = this.dequeueNextName();
      if (!name) break;
      this.selectPackage(name);
    }
  }

  // ---- changeset generation ----

  private recordChange(opkg: Package | undefined, npkg: Package | undefined): void {
    const cs = this.changeset;
    const change: Change = {
      oldPkg: opkg,
      oldTag: opkg ? opkg.installed!.repositoryTag : 0,
      newPkg: npkg,
      newTag: npkg ? this.getTag(npkg.ss.pinningAllowed, this.pkgRepos(npkg)) : 0,
      reinstall: npkg ? (npkg.ss.solverFlags & SOLVERF_REINSTALL) !== 0 : false,
    };
    cs.changes.push(change);
    if (!npkg) cs.numRemove++;
    else if (!opkg) cs.numInstall++;
    else if (npkg !== opkg || change.reinstall || change.newTag !== change.oldTag) cs.numAdjust++;
  }

  private trackDepsAdded(pkg: Package): void {
    for (let dAt = 0, dList = pkg.depends; dAt < dList.length; dAt++) {
      const d = dList[dAt]!;
      if (isConflict(d) || !d.name.ss.installedName) continue;
      d.name.ss.installedName.ss.requirers++;
    }
  }

  private trackDepsRemoved(pkg: Package): void {
    for (let dAt = 0, dList = pkg.depends; dAt < dList.length; dAt++) {
      const d = dList[dAt]!;
      if (isConflict(d) || !d.name.ss.installedName) continue;
      if (--d.name.ss.installedName.ss.requirers > 0) continue;
      const pkg0 = d.name.ss.installedPkg;
      if (pkg0) this.genNameRemove(pkg0);
    }
  }

  private checkRemovalByDeps(pkg: Package): void {
    if (pkg.name.ss.requirers === 0 && !pkg.name.ss.chosen?.pkg) this.genNameRemove(pkg);
  }

  private checkInstallByIif(name: Name): void {
    const pkg = name.ss.chosen?.pkg;
    if (!pkg || !name.seen || name.ss.changesetProcessed) return;
    for (let dep0At = 0, dep0List = pkg.installIf; dep0At < dep0List.length; dep0At++) {
      const dep0 = dep0List[dep0At]!;
      const name0 = dep0.name;
      if (!isConflict(dep0) && !name0.ss.changesetProcessed) return;
      if (!depIsProvided(pkg, dep0, name0.ss.chosen)) return;
    }
    this.genNameChange(name);
  }

  private checkRemovalByIif(name: Name): void {
    const pkg = name.ss.installedPkg;
    if (!pkg || name.ss.chosen?.pkg) return;
    if (name.ss.changesetProcessed || name.ss.changesetRemoved) return;
    for (let dep0At = 0, dep0List = pkg.installIf; dep0At < dep0List.length; dep0At++) {
      const dep0 = dep0List[dep0At]!;
      const name0 = dep0.name;
      if (name0.ss.changesetRemoved && !name0.ss.chosen?.pkg) {
        this.checkRemovalByDeps(pkg);
        return;
      }
    }
  }

  private checkByReverseIif(pkg: Package | undefined, cb: (name: Name) => void): void {
    if (!pkg) return;
    for (let nameAt = 0, nameList = pkg.name.rinstallIf; nameAt < nameList.length; nameAt++) { const name = nameList[nameAt]!; cb(name); }
    for (let dAt = 0, dList = pkg.provides; dAt < dList.length; dAt++) { const d = dList[dAt]!; for (const name of d.name.rinstallIf) cb(name); }
  }

  private genNamePreprocess(name: Name): void {
    if (name.ss.changesetProcessed) return;
    name.ss.changesetProcessed = true;
    const chosen = name.ss.chosen?.pkg;
    if (name.ss.installedPkg && (!chosen || chosen.name !== name)) this.genNameRemove(name.ss.installedPkg);
    for (let pAt = 0, pList = name.providers; pAt < pList.length; pAt++) {
      const p = pList[pAt]!;
      const pkg0 = p.pkg;
      const name0 = pkg0.name;
      if (name0.ss.installedPkg === pkg0 && !name0.ss.chosen?.pkg) this.genNameRemove(pkg0);
    }
  }

  genNameChange(name: Name): void {
    if (name.ss.changesetProcessed) return;
    this.genNamePreprocess(name);
    const pkg = name.ss.chosen?.pkg;
    if (!pkg || pkg.ss.inChangeset) return;
    pkg.ss.inChangeset = true;
    this.genNamePreprocess(pkg.name);
    for (let dAt = 0, dList = pkg.provides; dAt < dList.length; dAt++) { const d = dList[dAt]!; this.genNamePreprocess(d.name); }
    const opkg = pkg.name.ss.installedPkg;
    this.checkByReverseIif(opkg, (n) => this.checkRemovalByIif(n));
    for (let dAt = 0, dList = pkg.depends; dAt < dList.length; dAt++) { const d = dList[dAt]!; this.genDep(pkg, d); }
    this.recordChange(opkg, pkg);
    this.checkByReverseIif(pkg, (n) => this.checkInstallByIif(n));
    this.trackDepsAdded(pkg);
    if (opkg) this.trackDepsRemoved(opkg);
  }

  private genNameRemove(pkg: Package): void {
    const name = pkg.name;
    if (pkg.ss.inChangeset || (name.ss.chosen?.pkg && name.ss.chosen.pkg.name === name)) return;
    name.ss.changesetRemoved = true;
    pkg.ss.inChangeset = true;
    foreachReverseDependency(pkg, { match: DEP_SATISFIES, installed: true }, (pkg0) => this.genNameRemove(pkg0));
    this.checkByReverseIif(pkg, (n) => this.checkRemovalByIif(n));
    this.recordChange(pkg, undefined);
    this.trackDepsRemoved(pkg);
  }

  genDep(ppkg: Package | undefined, dep: Dep): void {
    const name = dep.name;
    const pkg = name.ss.chosen?.pkg;
    if (isConflict(dep) && this.ignoreConflict) return;
    if (!depIsProvided(ppkg, dep, name.ss.chosen ?? NONE)) this.markError(ppkg);
    this.genNameChange(name);
    if (pkg && pkg.ss.error) this.markError(ppkg);
  }

  generateChangeset(world: readonly Dep[]): void {
    const db = this.db;
    for (let nameAt = 0, nameList = db.touchedNames; nameAt < nameList.length; nameAt++) {
      const name = nameList[nameAt]!;
      const ss = name.ss;
      ss.requirers = 0;
      ss.installedPkg = undefined;
      ss.installedName = undefined;
    }
    for (let pkgAt = 0, pkgList = db.installed; pkgAt < pkgList.length; pkgAt++) {
      const pkg = pkgList[pkgAt]!;
      pkg.name.ss.installedPkg = pkg;
      pkg.name.ss.installedName = pkg.name;
      for (let dAt = 0, dList = pkg.provides; dAt < dList.length; dAt++) { const d = dList[dAt]!; if (d.version !== '') d.name.ss.installedName = pkg.name; }
    }
    for (let pkgAt = 0, pkgList = db.installed; pkgAt < pkgList.length; pkgAt++) { const pkg = pkgList[pkgAt]!; this.trackDepsAdded(pkg); }
    for (let pkgAt = 0, pkgList = db.installed; pkgAt < pkgList.length; pkgAt++) { const pkg = pkgList[pkgAt]!; this.checkRemovalByDeps(pkg); }
    for (let dAt = 0, dList = world; dAt < dList.length; dAt++) { const d = dList[dAt]!; this.genDep(undefined, d); }
    for (let pkgAt = 0, pkgList = db.installed; pkgAt < pkgList.length; pkgAt++) { const pkg = pkgList[pkgAt]!; this.genNameChange(pkg.name); }
    const cs = this.changeset;
    cs.numTotal = cs.numInstall + cs.numRemove + cs.numAdjust;
  }
}

function ffs(x: number): number {
  if (x === 0) return 0;
  let i = 1;
  while (!(x & 1)) {
    x >>>= 1;
    i++;
  }
  return i;
}

/** Resets every name's and package's per-solve state (apk's free_name/free_package). */
export function resetSolverState(db: Database): void {
  db.scope.reset();
}

/** Sorts world entries in place by name as apk does before solving. */
function sortWorld(world: Dep[]): void {
  world.sort((a, b) => compareNamesForDisplay(a.name.name, b.name.name));
}

/**
 * apk_solver_solve: sorts `world` in place, solves, and returns the error count and the
 * changeset. Per-package solver flags set beforehand (via Database.setNameFlags) are consumed.
 * World entries whose `broken` flag is set are skipped (and set by --force-broken-world).
 */
export function solve(db: Database, solverFlags: number, world: Dep[], options: SolveOptions = {}): SolveResult {
  sortWorld(world);
  for (;;) {
    const run = new SolverRun(db, solverFlags);
    run.trace = options.trace;
    run.solverFlagsInherit = solverFlags;
    for (let dAt = 0, dList = world; dAt < dList.length; dAt++) { const d = dList[dAt]!; if (!d.broken) run.discoverName(d.name); }
    for (let dAt = 0, dList = world; dAt < dList.length; dAt++) {
      const d = dList[dAt]!;
      if (d.broken) continue;
      run.pinningInherit = d.tag >= 0 ? 1 << d.tag : 0;
      run.applyConstraint(undefined, d);
    }
    run.solverFlagsInherit = 0;
    run.pinningInherit = 0;
    run.run();
    run.generateChangeset(world);
    if (run.errors && options.forceBrokenWorld) {
      let marked = false;
      for (let dAt = 0, dList = world; dAt < dList.length; dAt++) {
        const d = dList[dAt]!;
        const pkg = d.name.ss.chosen?.pkg;
        if (!pkg || pkg.ss.error) {
          if (!d.broken) marked = true;
          d.broken = true;
        }
      }
      resetSolverState(db);
      // apk restarts until the solve succeeds; when nothing new can be dropped it would loop forever.
      if (marked) continue;
      return { errors: run.errors, changeset: run.changeset };
    }
    resetSolverState(db);
    return { errors: run.errors, changeset: run.changeset };
  }
}
