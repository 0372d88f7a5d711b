// Text apk-tools prints for a solver result: the commit progress lines and the `OK:` summary
// (commit.c apk_solver_commit_changeset, simulated), and the "unable to select packages" report
// (apk_solver_print_errors). Output is collected as one interleaved stream like `2>&1`.
import { formatVersionOperator, VERSION_CONFLICT, VERSION_LESS, compareVersionBits, VERSION_EQUAL, VERSION_GREATER } from '../version.ts';
import type { Database, Dep, Name, Package } from './database.ts';
import { compareNamesForDisplay, pkgText } from './database.ts';
import type { Change, Changeset } from './solve.ts';
import { DEP_CONFLICTS, DEP_SATISFIES, depAnalyze, foreachReverseDependency } from './solve.ts';

/** Collects apk's stdout and stderr as one stream (the tests capture `2>&1`). */
export class Output {
  readonly chunks: string[] = [];
  constructor(
    /** apk verbosity: 1 by default, +1 per -v, -1 per -q. */
    readonly verbosity = 1,
  ) {}
  write(text: string): void {
    this.chunks.push(text);
  }
  /** apk_msg: printed at verbosity ≥ 1. */
  msg(text: string): void {
    if (this.verbosity >= 1) this.write(`${text}\n`);
  }
  warn(text: string): void {
    if (this.verbosity >= 0) this.write(`WARNING: ${text}\n`);
  }
  err(text: string): void {
    this.write(`ERROR: ${text}\n`);
  }
  text(): string {
    return this.chunks.join('');
  }
}

/** apk_indent: word-wrapped lists at a fixed width (50 columns when not on a terminal). */
export class Indented {
  x = 0;
  indent = 0;
  constructor(
    private readonly out: Output,
    private readonly width = 50,
  ) {}
  line(text: string): void {
    this.out.write(text);
    this.x = this.indent = 0;
  }
  group(indent: number, text: string): void {
    this.out.write(text);
    this.x = text.length;
    this.indent = indent || this.x + 1;
    if (text.endsWith('\n')) this.x = 0;
  }
  end(): void {
    if (this.x) {
      this.out.write('\n');
      this.x = this.indent = 0;
    }
  }
  print(word: string): void {
    if (this.x <= this.indent) {
      this.out.write(' '.repeat(this.indent - this.x) + word);
      this.x = this.indent + word.length;
    } else if (this.x + word.length + 1 >= this.width) {
      this.out.write(`\n${' '.repeat(this.indent)}${word}`);
      this.x = this.indent + word.length;
    } else {
      this.out.write(` ${word}`);
      this.x += word.length + 1;
    }
  }
  words(text: string): void {
    for (const word of text.split(/\s+/)) if (word) this.print(word);
  }
}

/** `[!]name[op version]` (DEP_FMT). */
function depText(dep: Dep): string {
  return `${dep.op & VERSION_CONFLICT ? '!' : ''}${dep.name.name}${dep.version === '' ? '' : formatVersionOperator(dep.op) + dep.version}`;
}

/** apk_fmt_human_size with pretty printing (32-bit float like the C code). */
function humanSize(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let s = Math.fround(value);
  let v = value;
  let i = 0;
  for (; i < units.length - 1 && s >= 10000; i++) {
    s = Math.fround(s / 1024);
    v = Math.floor(v / 1024);
  }
  if (i < 2) return `${v} ${units[i]}`;
  return `${s.toFixed(1)} ${units[i]}`;
}

function pkgVersionCompare(a: Package, b: Package): number {
  if (a.version === b.version) return VERSION_EQUAL;
  return compareVersionBits(a.version, b.version);
}

/** apk_pkg_cmp_display. */
function comparePackagesForDisplay(a: Package, b: Package): number {
  if (a.name !== b.name) return compareNamesForDisplay(a.name.name, b.name.name);
  const r = pkgVersionCompare(a, b);
  return r === VERSION_LESS ? -1 : r === VERSION_GREATER ? 1 : 0;
}

/** apk_db_check_world: world entries pinned to a tag without repositories. */
export function checkWorld(db: Database, world: readonly Dep[], out: Output, forceBrokenWorld: boolean): number {
  if (forceBrokenWorld) return 0;
  let bad = 0;
  for (const dep of world) {
    const tag = dep.tag;
    if (tag === 0 || (tag > 0 && db.repoTags[tag]!.allowedRepos !== 0)) continue;
    out.warn(`The repository tag for world dependency '${dep.name.name}${db.repoTags[Math.max(tag, 0)]!.tag}' does not exist`);
    bad++;
  }
  return bad;
}

interface Stats {
  bytes: number;
  changes: number;
  packages: number;
}

function countChange(change: Change, stats: Stats): void {
  if (change.newPkg !== change.oldPkg || change.reinstall) {
    stats.bytes += change.newPkg ? change.newPkg.size : Math.floor(change.oldPkg!.size / 16);
  } else if (change.newTag === change.oldTag) {
    return;
  }
  stats.packages++;
  stats.changes++;
}

function pkgAvailable(db: Database, pkg: Package): boolean {
  return pkg.cached || pkg.fromFile || db.isAvailable(pkg);
}

/** The action word apk prints for a change, or undefined for an unchanged package. */
export function changeAction(db: Database, change: Change): string | undefined {
  const { oldPkg, newPkg } = change;
  if (!oldPkg) return 'Installing';
  if (!newPkg) return 'Purging';
  if (newPkg === oldPkg) {
    if (change.reinstall) return pkgAvailable(db, newPkg) ? 'Reinstalling' : '[APK unavailable, skipped] Reinstalling';
    if (change.oldTag !== change.newTag) return 'Updating pinning';
    return undefined;
  }
  const r = pkgVersionCompare(newPkg, oldPkg);
  return r === VERSION_LESS ? 'Downgrading' : r === VERSION_EQUAL ? 'Replacing' : 'Upgrading';
}

/** Options of {@link commitChangeset}. */
interface CommitOptions {
  forceBrokenWorld?: boolean;
}

/**
 * apk_solver_commit_changeset in simulation: prints each change and the summary line. Returns
 * the error count (negative when the commit is refused).
 */
export function commitChangeset(db: Database, changeset: Changeset, world: readonly Dep[], out: Output, options: CommitOptions = {}): number {
  if (checkWorld(db, world, out, options.forceBrokenWorld ?? false) !== 0) {
    out.err('Not committing changes due to missing repository tags.');
    return -1;
  }
  const total: Stats = { bytes: 0, changes: 0, packages: 0 };
  let sizeDiff = 0;
  let pkgDiff = 0;
  let downloadSize = 0;
  for (const change of changeset.changes) {
    countChange(change, total);
    if (change.newPkg) {
      sizeDiff += change.newPkg.installedSize;
      pkgDiff++;
      if (change.newPkg !== change.oldPkg) downloadSize += change.newPkg.size;
    }
    if (change.oldPkg) {
      sizeDiff -= change.oldPkg.installedSize;
      pkgDiff--;
    }
  }
  const digits = String(total.changes).length;

  if (out.verbosity > 1) {
    const details = out.verbosity >= 2;
    const sorted = [...changeset.changes].sort((a, b) =>
      compareNamesForDisplay((a.oldPkg ?? a.newPkg)!.name.name, (b.oldPkg ?? b.newPkg)!.name.name),
    );
    const nonRepoVerbose = (c: Change): boolean => !!c.newPkg && !c.newPkg.name.hasRepositoryProviders;
    const nonRepo = (c: Change): boolean => nonRepoVerbose(c) && !c.newPkg!.name.name.startsWith('.');
    dumpPackages(db, out, sorted, details ? nonRepoVerbose : nonRepo, false,
      'NOTE: Consider running apk upgrade with --prune and/or --available.\nThe following packages are no longer available from a repository');
    let r = dumpPackages(db, out, sorted, (c) => !c.newPkg, details, 'The following packages will be REMOVED');
    r += dumpPackages(db, out, sorted, (c) => !!c.newPkg && !!c.oldPkg && pkgVersionCompare(c.newPkg, c.oldPkg) === VERSION_LESS, details,
      'The following packages will be DOWNGRADED');
    if (r || out.verbosity > 2) {
      dumpPackages(db, out, sorted, (c) => !c.oldPkg, details, 'The following NEW packages will be installed');
      dumpPackages(db, out, sorted, (c) => !!c.newPkg && !!c.oldPkg && c.newPkg !== c.oldPkg &&
        (pkgVersionCompare(c.newPkg, c.oldPkg) & (VERSION_GREATER | VERSION_EQUAL)) !== 0, details, 'The following packages will be upgraded');
      dumpPackages(db, out, sorted, (c) => c.reinstall, details, 'The following packages will be reinstalled');
      if (downloadSize) out.msg(`Need to download ${humanSize(downloadSize)} of packages.`);
      out.msg(`After this operation, ${humanSize(Math.abs(sizeDiff))} of ${sizeDiff < 0 ? 'disk space will be freed' : 'additional disk space will be used'}.`);
    }
  }

  let errors = 0;
  let done = 0;
  for (const change of changeset.changes) {
    const broken = change.oldPkg?.installed && (change.oldPkg.installed.brokenFiles || change.oldPkg.installed.brokenScript) ? 1 : 0;
    const action = changeAction(db, change);
    if (action) {
      const pkg = (change.newPkg ?? change.oldPkg)!;
      const status = `(${String(done + 1).padStart(digits)}/${total.changes})`;
      const tag = db.repoTags[change.newTag]!.tag;
      const versions = change.oldPkg && change.newPkg && change.oldPkg !== change.newPkg
        ? `${change.oldPkg.version} -> ${change.newPkg.version}`
        : pkg.version;
      out.msg(`${status} ${action} ${pkg.name.name}${tag} (${versions})`);
    }
    errors += broken;
    if (change.newPkg !== change.oldPkg || change.reinstall || change.newTag !== change.oldTag) done++;
  }

  if (!db.performingPreupgrade) {
    const msg = errors ? `${errors} error${errors > 1 ? 's' : ''};` : 'OK:';
    const installedBytes = db.installedBytes + sizeDiff;
    const installedPackages = db.installed.length + pkgDiff;
    const size = humanSize(installedBytes);
    if (out.verbosity > 1) {
      out.msg(`${msg} ${installedPackages} packages, ${db.dirs.size} dirs, ${db.files.size} files, ${size}`);
    } else {
      out.msg(`${msg} ${size} in ${installedPackages} packages`);
    }
  }
  return errors;
}

function dumpPackages(db: Database, out: Output, changes: readonly Change[], match: (c: Change) => boolean, details: boolean, message: string): number {
  const indent = new Indented(out);
  let count = 0;
  for (const change of changes) {
    if (!match(change)) continue;
    if (!count) indent.group(2, `${message}:\n`);
    const name = (change.newPkg ?? change.oldPkg)!.name.name;
    if (details) {
      const tag = db.repoTags[change.newTag]!.tag;
      if (!change.reinstall && change.newPkg && change.oldPkg) {
        out.write(`  ${name}${tag} (${change.oldPkg.version} -> ${change.newPkg.version})\n`);
      } else {
        out.write(`  ${name}${tag} (${(change.oldPkg ?? change.newPkg)!.version})\n`);
      }
    } else {
      indent.print(name);
    }
    count++;
  }
  indent.end();
  return count;
}

// ---- error report ----

const STATE_PRESENT = 8;
const STATE_MISSING = 4;
const STATE_VIRTUAL_ONLY = 2;
const STATE_INSTALLIF = 1;
const COUNT_UNIT = 16;

interface MatchedDep {
  pkg: Package | undefined;
  dep: Dep;
}

function isConcrete(pkg: Package, name: Name): boolean {
  if (pkg.name === name) return true;
  return pkg.provides.some((d) => d.name === name && d.version !== '');
}

function discoverReverseIif(name: Name): void {
  for (const name0 of name.rinstallIf) {
    for (const p of name0.providers) {
      if (!p.pkg.marked || p.pkg.installIf.length === 0) continue;
      const ok = p.pkg.installIf.every((d) => ((d.op & VERSION_CONFLICT) !== 0) !== ((d.name.stateInt & (STATE_PRESENT | STATE_INSTALLIF)) !== 0));
      if (ok) {
        discoverName(p.pkg.name, STATE_INSTALLIF);
        for (const d of p.pkg.provides) discoverName(d.name, STATE_INSTALLIF);
      }
    }
  }
}

function discoverDeps(deps: readonly Dep[]): void {
  for (const d of deps) if (!(d.op & VERSION_CONFLICT)) discoverName(d.name, STATE_PRESENT);
}

/** Marks what the changeset's packages make present (directly, by install_if, or only virtually). */
function discoverName(name: Name, pkgState: number): void {
  for (const p of name.providers) {
    let state = pkgState;
    if (!p.pkg.marked) continue;
    if ((state === STATE_PRESENT || state === STATE_INSTALLIF) && !p.pkg.providerPriority && !isConcrete(p.pkg, name)) state = STATE_VIRTUAL_ONLY;
    if (p.pkg.stateInt & state) continue;
    p.pkg.stateInt |= state;
    p.pkg.name.stateInt |= state;
    for (const d of p.pkg.provides) {
      const depState = state === STATE_INSTALLIF && d.version === '' ? STATE_VIRTUAL_ONLY : state;
      d.name.stateInt |= depState;
    }
    discoverDeps(p.pkg.depends);
    if (state === STATE_PRESENT || state === STATE_INSTALLIF) {
      discoverReverseIif(p.pkg.name);
      for (const d of p.pkg.provides) discoverReverseIif(d.name);
    }
  }
}

/** Resets the report's per-name and per-package state and marks the changeset's new packages. */
function markChangeset(db: Database, changeset: Changeset): void {
  for (const name of db.names.values()) name.stateInt = 0;
  for (const pkg of db.packages.values()) {
    pkg.stateInt = 0;
    pkg.marked = false;
  }
  for (const change of changeset.changes) if (change.newPkg) change.newPkg.marked = true;
}

/** The labelled, indented sections of one error report (apk's label_start/label_end state). */
class SolverErrorReport {
  readonly #db: Database;
  readonly #world: readonly Dep[];
  readonly #indent: Indented;
  #label: string | undefined;
  labels = 0;

  constructor(db: Database, world: readonly Dep[], out: Output) {
    this.#db = db;
    this.#world = world;
    this.#indent = new Indented(out);
  }

  line(text: string): void {
    this.#indent.line(text);
  }

  #labelStart(text: string): void {
    if (this.#label !== undefined) {
      this.#indent.line(`  ${this.#label}:\n`);
      this.#label = undefined;
      this.labels++;
    }
    if (!this.#indent.x) this.#indent.group(0, `    ${text}`);
  }

  #labelEnd(): void {
    this.#indent.end();
  }

  #worldText(dep: Dep): string {
    return `world[${depText(dep)}${this.#db.repoTags[Math.max(dep.tag, 0)]!.tag}]`;
  }

  #printPinningErrors(pkg: Package, tag: number): void {
    const db = this.#db;
    if (pkg.installed) return;
    if (!db.isAvailable(pkg) && !pkg.cached && !pkg.fromFile) {
      this.#labelStart('masked in:');
      this.#indent.print('--no-network');
    } else if (!pkg.repos && pkg.cached) {
      this.#labelStart('masked in:');
      this.#indent.print('cache');
    } else {
      if (pkg.repos & db.pinningMaskRepos(1 | (1 << tag))) return;
      for (const t of db.repoTags) {
        if (pkg.repos & t.allowedRepos) {
          this.#labelStart('masked in:');
          this.#indent.print(t.tag);
        }
      }
    }
    this.#labelEnd();
  }

  #printConflicts(pkg: Package): void {
    for (const p of pkg.name.providers) {
      if (p.pkg === pkg || !p.pkg.marked) continue;
      this.#labelStart('conflicts:');
      this.#indent.print(pkgText(p.pkg));
    }
    for (const d of pkg.provides) {
      let once = true;
      for (const p of d.name.providers) {
        if (!p.pkg.marked) continue;
        if (d.version === '' && p.version === '') continue;
        if (once && p.pkg === pkg && p.version === d.version) {
          once = false;
          continue;
        }
        this.#labelStart('conflicts:');
        this.#indent.print(`${pkgText(p.pkg)}[${depText(d)}]`);
      }
    }
    this.#labelEnd();
  }

  #printMatched(text: string, deps: MatchedDep[]): void {
    if (deps.length === 0) return;
    this.#labelStart(text);
    deps.sort((m1, m2) => {
      if (m1.pkg && m2.pkg) {
        const r = comparePackagesForDisplay(m1.pkg, m2.pkg);
        if (r) return r;
      }
      return m1.dep.op - m2.dep.op;
    });
    for (const m of deps) this.#indent.print(m.pkg ? `${pkgText(m.pkg)}[${depText(m.dep)}]` : this.#worldText(m.dep));
    deps.length = 0;
  }

  #printDeps(pkg: Package, match: number): void {
    const text = match === DEP_SATISFIES ? 'satisfies:' : 'breaks:';
    const deps: MatchedDep[] = [];
    for (const d of this.#world) if (depAnalyze(undefined, d, pkg) & match) deps.push({ pkg: undefined, dep: d });
    this.#printMatched(text, deps);
    foreachReverseDependency(pkg, { match, marked: true, genid: nextGenid(this.#db), allDeps: true }, (pkg0, d0) => deps.push({ pkg: pkg0, dep: d0 }));
    this.#printMatched(text, deps);
    this.#labelEnd();
  }

  #printBrokenDeps(deps: readonly Dep[], text: string): void {
    for (const dep of deps) {
      if (!dep.broken) continue;
      this.#labelStart(text);
      this.#indent.print(depText(dep));
    }
    this.#labelEnd();
  }

  /** Why a package the solver chose cannot be installed: uninstallable, masked, conflicting, breaking. */
  analyzePackage(pkg: Package, tag: number): void {
    this.#label = pkgText(pkg);
    if (pkg.uninstallable) {
      this.#labelStart('error:');
      this.#indent.print('uninstallable');
      this.#labelEnd();
      if (!this.#db.archCompatible(pkg.arch)) {
        this.#labelStart('arch:');
        this.#indent.print(pkg.arch);
        this.#labelEnd();
      }
      this.#printBrokenDeps(pkg.depends, 'depends:');
      this.#printBrokenDeps(pkg.provides, 'provides:');
      this.#printBrokenDeps(pkg.installIf, 'install_if:');
    }
    this.#printPinningErrors(pkg, tag);
    this.#printConflicts(pkg);
    this.#printDeps(pkg, DEP_CONFLICTS);
    if (this.#label === undefined) this.#printDeps(pkg, DEP_SATISFIES);
  }

  /** A name nothing present provides: a virtual to choose a provider for, or no such package. */
  #analyzeMissingName(name: Name): void {
    if (name.providers.length !== 0) {
      this.#label = `${name.name} (virtual)`;
      this.#labelStart('note:');
      this.#indent.words("please select one of the 'provided by' packages explicitly");
      this.#labelEnd();
      this.#labelStart('provided by:');
      for (const p0 of name.providers) p0.pkg.name.stateInt += COUNT_UNIT;
      for (const p0 of name.providers) {
        const name0 = p0.pkg.name;
        const refs = Math.floor(name0.stateInt / COUNT_UNIT);
        if (refs === name0.providers.length) {
          this.#indent.print(name0.name);
          name0.stateInt %= COUNT_UNIT;
        } else if (refs > 0) {
          this.#indent.print(pkgText(p0.pkg));
          name0.stateInt -= COUNT_UNIT;
        }
      }
      this.#labelEnd();
    } else {
      this.#label = `${name.name} (no such package)`;
    }
    this.#labelStart('required by:');
    for (const d0 of this.#world) {
      if (d0.name !== name || d0.op & VERSION_CONFLICT) continue;
      this.#indent.print(this.#worldText(d0));
    }
    const genid = nextGenid(this.#db);
    for (const name0 of name.rdepends) {
      providers: for (const p0 of name0.providers) {
        if (!p0.pkg.marked) continue;
        if (p0.pkg.foreachGenid === genid) continue;
        p0.pkg.foreachGenid = genid;
        for (const d0 of p0.pkg.depends) {
          if (d0.name !== name || d0.op & VERSION_CONFLICT) continue;
          this.#indent.print(`${pkgText(p0.pkg)}[${depText(d0)}]`);
          break providers;
        }
      }
    }
    this.#labelEnd();
  }

  /** Reports each dependency whose name nothing present provides (once per name). */
  analyzeDeps(deps: readonly Dep[]): void {
    for (const d0 of deps) {
      const name0 = d0.name;
      if (d0.op & VERSION_CONFLICT) continue;
      if (name0.stateInt & (STATE_INSTALLIF | STATE_PRESENT | STATE_MISSING)) continue;
      name0.stateInt |= STATE_MISSING;
      this.#analyzeMissingName(name0);
    }
  }
}

/** apk_solver_print_errors: explains why the solve failed. */
export function printSolverErrors(db: Database, changeset: Changeset, world: readonly Dep[], out: Output): void {
  markChangeset(db, changeset);
  discoverDeps(world);
  const report = new SolverErrorReport(db, world, out);
  out.err('unable to select packages:');
  report.analyzeDeps(world);
  for (const change of changeset.changes) {
    const pkg = change.newPkg;
    if (!pkg) continue;
    report.analyzePackage(pkg, change.newTag);
    report.analyzeDeps(pkg.depends);
  }
  if (!report.labels) report.line('Huh? Error reporter did not find the broken constraints.\n');
}

/** apk_foreach_genid: a fresh generation id for one traversal. */
export function nextGenid(db: Database): number {
  db.genid += 256;
  return db.genid;
}
