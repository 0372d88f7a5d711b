// An in-memory emulation of the apk command line for solver runs (`apk --simulate add|del|upgrade|fix`),
// as apk-tools' test/solver.sh drives it: it opens a database from given world, installed, cache and
// repository texts, applies the applet's world edits and solver flags (apk-format.md §6.7), solves,
// and renders exactly what apk prints.
import { parseRecords } from '../format/record.ts';
import type { PackageRecord } from '../format/record.ts';
import { DEPMASK_ANY, DEPMASK_CHECKSUM, VERSION_CONFLICT, VERSION_EQUAL, VERSION_GREATER, versionMatches } from '../version.ts';
import type { Dep, Name, Package } from './database.ts';
import {
  compareNamesForDisplay,
  Database,
  SOLVERF_AVAILABLE,
  SOLVERF_INSTALLED,
  SOLVERF_LATEST,
  SOLVERF_REINSTALL,
  SOLVERF_REMOVE,
  SOLVERF_UPGRADE,
} from './database.ts';
import { checkWorld, commitChangeset, Indented, nextGenid, Output, printSolverErrors } from './report.ts';
import { DEP_SATISFIES, depIsMaterialized, foreachReverseDependency, matchGenid, solve } from './solve.ts';

/** A repository as listed in /etc/apk/repositories. */
export interface SimulatedRepository {
  /** Identifies the repository; the same key listed twice is one repository with two tags. */
  key: string;
  /** Tag without `@`, or undefined for an untagged repository. */
  tag?: string;
  /** Plain-text APKINDEX records. */
  index: string;
}

/** Everything apk would find under --root. */
export interface SimulationInput {
  /** The apk command line (global options, applet, applet options and arguments). */
  args: readonly string[];
  repositories: readonly SimulatedRepository[];
  /** lib/apk/db/installed text. */
  installed?: string;
  /** etc/apk/world text. */
  world?: string;
  /** etc/apk/cache/installed text (enables the cache). */
  cache?: string;
  /** Host architecture (/etc/apk/arch). */
  arch?: string;
  /** Clock for `add -t NAME` without a version (UTC). */
  now?: Date;
}

/** What apk printed and its exit status. */
export interface SimulationResult {
  output: string;
  exitCode: number;
}

interface ParsedArgs {
  applet: string | undefined;
  args: string[];
  verbosity: number;
  noNetwork: boolean;
  forceBrokenWorld: boolean;
  preupgradeDepends: string[];
  // add
  virtual: string | undefined;
  // add / upgrade / fix
  upgrade: boolean;
  latest: boolean;
  available: boolean;
  ignore: boolean;
  prune: boolean;
  preupgrade: boolean;
  preupgradeOnly: boolean;
  reinstall: boolean;
  depends: boolean;
  xattr: boolean;
  rdepends: boolean;
}

// The global, commit and generation options apk(8) 3.0 documents that take a value but do not change
// a plan (--preupgrade-depends, which does, is handled in parseArgs).
const GLOBAL_WITH_ARG = new Set([
  '--preupgrade-depends', '--root', '-p', '--arch', '--cache-dir', '--keys-dir', '--repositories-file', '--repository', '-X',
  '--wait', '--progress-fd', '--timeout', '--cache-max-age', '--repository-config', '--from', '--uvol-manager',
  '--compression', '-C', '--sign-key',
]);
// Plain flags of apk(8) 3.0 that do not change a plan.
const IGNORED_FLAGS = new Set([
  '--allow-untrusted', '-s', '--update-cache', '-U', '--force', '-f', '--force-overwrite', '--force-old-apk', '--force-non-repository',
  '--force-refresh', '--force-missing-repositories', '--force-binary-stdout', '--force-no-chroot', '--initdb', '--usermode',
  '--no-chown', '--directory-permissions', '--print-arch', '-i', '--initramfs-diskless-boot', '--overlay-from-stdin', '--self-upgrade',
]);
// Options with a BOOL or AUTO value (`--opt`, `--opt=yes|no|auto`, `--no-opt`) that do not change a
// plan; apk(8) 3.0's OPTION SYNTAX. --network, which does, is handled in parseArgs.
const IGNORED_BOOLEANS = new Set([
  '--cache', '--cache-packages', '--cache-predownload', '--check-certificate', '--interactive', '--legacy-info', '--logfile',
  '--preserve-env', '--pretty-print', '--progress', '--purge', '--root-tmpfs', '--sync', '--clean-protected', '--commit-hooks',
  '--scripts', '--simulate',
]);
const BOOL_VALUES = new Set(['yes', 'no', 'auto']);

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): ParsedArgs {
  const p: ParsedArgs = {
    applet: undefined, args: [], verbosity: 1, noNetwork: false, forceBrokenWorld: false, preupgradeDepends: [], virtual: undefined,
    upgrade: false, latest: false, available: false, ignore: false, prune: false, preupgrade: true, preupgradeOnly: false,
    reinstall: false, depends: false, xattr: false, rdepends: false,
  };
  const words = [...argv];
  let onlyArgs = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (onlyArgs || !word.startsWith('-') || word === '-') {
      if (p.applet === undefined) p.applet = word;
      else p.args.push(word);
      continue;
    }
    if (word === '--') {
      onlyArgs = true;
      continue;
    }
    let option = word;
    let value: string | undefined;
    const eq = word.indexOf('=');
    if (word.startsWith('--') && eq > 0) {
      option = word.slice(0, eq);
      value = word.slice(eq + 1);
    }
    const takeValue = (): string => {
      if (value !== undefined) return value;
      const next = words[++i];
      if (next === undefined) throw new UsageError(`option requires an argument: ${option}`);
      return next;
    };
    if (/^-v+$/.test(option)) {
      p.verbosity += option.length - 1;
      continue;
    }
    if (/^-q+$/.test(option)) {
      p.verbosity -= option.length - 1;
      continue;
    }
    switch (option) {
      case '--verbose':
        p.verbosity++;
        continue;
      case '--quiet':
        p.verbosity--;
        continue;
      case '--no-network':
        p.noNetwork = true;
        continue;
      case '--network':
        if (value !== undefined && value !== 'yes' && value !== 'no') throw new UsageError(`invalid argument for ${option}: ${value}`);
        p.noNetwork = value === 'no';
        continue;
      case '--force-broken-world':
        p.forceBrokenWorld = true;
        continue;
      case '--preupgrade-depends':
        p.preupgradeDepends.push(takeValue());
        continue;
      case '-t':
      case '--virtual':
        p.virtual = takeValue();
        continue;
      case '-u':
      case '--upgrade':
        p.upgrade = true;
        continue;
      case '-l':
      case '--latest':
        p.latest = true;
        continue;
      case '-a':
      case '--available':
        p.available = true;
        continue;
      case '--ignore':
        p.ignore = true;
        continue;
      case '--prune':
        p.prune = true;
        continue;
      case '--preupgrade-only':
      case '--self-upgrade-only':
        p.preupgradeOnly = true;
        continue;
      case '--no-self-upgrade':
      case '--no-preupgrade':
        p.preupgrade = false;
        continue;
      case '-r':
        if (p.applet === 'del') p.rdepends = true;
        else p.reinstall = true;
        continue;
      case '--rdepends':
        p.rdepends = true;
        continue;
      case '--reinstall':
        p.reinstall = true;
        continue;
      case '-d':
      case '--depends':
        p.depends = true;
        continue;
      case '-x':
      case '--xattr':
        p.xattr = true;
        continue;
      default:
        break;
    }
    if (GLOBAL_WITH_ARG.has(option)) {
      takeValue();
      continue;
    }
    if (IGNORED_FLAGS.has(option) && value === undefined) continue;
    const boolean = option.startsWith('--no-') ? `--${option.slice(5)}` : option;
    if (IGNORED_BOOLEANS.has(boolean)) {
      if (value !== undefined && (boolean !== option || !BOOL_VALUES.has(value))) throw new UsageError(`invalid argument for ${option}: ${value}`);
      continue;
    }
    throw new UsageError(`unrecognized option: ${option}`);
  }
  return p;
}

class DatabaseOpenError extends Error {}

/** Opens the database from the simulated root, in apk_db_open's order. */
function openDatabase(input: SimulationInput, noNetwork: boolean, out: Output): Database {
  const db = new Database([input.arch ?? 'x86_64']);
  const world = db.pullDeps((input.world ?? '').trim().split(/\s+/), true);
  db.world = world.deps;
  // apk refuses to open a root whose world file does not parse.
  if (world.formatError) throw new DatabaseOpenError('Unable to read database: dependency format is invalid');
  if (world.versionError) throw new DatabaseOpenError('Unable to read database: package version is invalid');
  if (input.installed) {
    const files = new Map<PackageRecord, string[]>();
    let dir = '';
    const records = parseRecords(input.installed, {
      source: 'lib/apk/db/installed',
      allowUnknownUpperCase: true,
      onFileField: (record, letter, value) => {
        let list = files.get(record);
        if (!list) files.set(record, (list = []));
        if (letter === 'F') {
          dir = value;
          db.addInstalledDir(value);
        } else if (letter === 'R') {
          list.push(dir ? `${dir}/${value}` : value);
        }
      },
    });
    for (const record of records) db.addRecord(record, { kind: 'installed', files: files.get(record) ?? [] });
  }
  if (input.cache !== undefined) {
    db.cacheActive = true;
    for (const record of parseRecords(input.cache, { source: 'etc/apk/cache/installed', allowUnknownUpperCase: true })) {
      db.addRecord(record, { kind: 'cache' });
    }
  }
  const indexes: Array<{ index: number; text: string; key: string }> = [];
  for (const repo of input.repositories) {
    const index = db.addRepository(repo.key, repo.tag === undefined ? undefined : `@${repo.tag}`);
    if (!indexes.some((r) => r.index === index)) indexes.push({ index, text: repo.index, key: repo.key });
  }
  for (const repo of indexes) {
    for (const record of parseRecords(repo.text, { source: repo.key, allowUnknownUpperCase: true })) {
      db.addRecord(record, { kind: 'repository', index: repo.index });
    }
    db.openRepository(repo.index, !noNetwork);
  }
  db.finishOpen();
  for (const warning of db.openWarnings()) out.write(`${warning}\n`);
  return db;
}

function copyDeps(deps: readonly Dep[]): Dep[] {
  return deps.map((d) => ({ ...d }));
}

/** apk_deps_add: replaces an entry of the same name or appends. */
function depsAdd(deps: Dep[], dep: Dep): void {
  const i = deps.findIndex((d) => d.name === dep.name);
  if (i >= 0) deps[i] = dep;
  else deps.push(dep);
}

/** apk_deps_del: removes by swapping in the last entry. */
function depsDel(deps: Dep[], name: Name): void {
  const i = deps.findIndex((d) => d.name === name);
  if (i < 0) return;
  deps[i] = deps[deps.length - 1]!;
  deps.pop();
}

/** apk_db_foreach_matching_name: exact names, or shell globs over every known name. */
function matchingNames(db: Database, args: readonly string[], cb: (match: string, name: Name | undefined) => void): void {
  for (const arg of args) {
    if (/[*?[]/.test(arg)) {
      const re = new RegExp(`^${arg.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      for (const name of db.names.values()) if (re.test(name.name)) cb(arg, name);
    } else {
      cb(arg, db.names.get(arg));
    }
  }
}

function solveAndCommit(db: Database, flags: number, world: Dep[], out: Output, forceBrokenWorld: boolean): number {
  // apk_solver_commit refuses up front when a world entry names a tag without repositories.
  if (checkWorld(db, world, out, forceBrokenWorld) !== 0) {
    out.err('Not committing changes due to missing repository tags.');
    return 1;
  }
  const { errors, changeset } = solve(db, flags, world, { forceBrokenWorld });
  if (errors === 0) return commitChangeset(db, changeset, world, out, { forceBrokenWorld });
  printSolverErrors(db, changeset, world, out);
  return errors;
}

function addApplet(db: Database, p: ParsedArgs, out: Output, now: Date): number {
  const flags = (p.upgrade ? SOLVERF_UPGRADE : 0) | (p.latest ? SOLVERF_LATEST : 0);
  const world = copyDeps(db.world);
  let virtdep: Dep | undefined;
  let virtualRecord: PackageRecord | undefined;
  const virtualDepends: Dep[] = [];
  if (p.virtual !== undefined) {
    const dep = db.pullDep(p.virtual, true);
    const bad = (): number => {
      out.err(`${p.virtual}: bad package specifier`);
      return 1;
    };
    if (!dep || p.virtual.split(/[ \t\n]+/).filter(Boolean).length !== 1 || dep.op & VERSION_CONFLICT || dep.broken) return bad();
    if (dep.op === DEPMASK_ANY) {
      if (dep.version !== '') return bad();
      dep.op = VERSION_EQUAL;
      dep.version = now.toISOString().replace(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}).*$/, '$1$2$3.$4$5$6');
    } else if (dep.op === VERSION_EQUAL) {
      if (dep.version === '') return bad();
    } else {
      return bad();
    }
    virtdep = dep;
    if (p.args.length === 0) out.warn('creating empty virtual package');
  }
  for (const arg of p.args) {
    const dep = db.pullDep(arg, p.virtual === undefined);
    if (!dep || /[ \t\n]/.test(arg.trim()) || dep.broken) {
      out.err(
        p.virtual !== undefined
          ? `'${arg}' is not a valid package dependency, format is name([<>~=]version)`
          : `'${arg}' is not a valid world dependency, format is name(@tag)([<>~=]version)`,
      );
      return 1;
    }
    if (virtdep) {
      depsAdd(virtualDepends, dep);
    } else {
      depsAdd(world, dep);
      db.setNameFlags(dep.name, flags, flags);
    }
  }
  if (virtdep && p.virtual !== undefined) {
    virtualRecord = {
      identity: `virtual:${virtdep.name.name}=${virtdep.version}`,
      name: virtdep.name.name,
      version: virtdep.version,
      arch: 'noarch',
      installedSize: 0,
      size: 0,
      description: 'virtual meta package',
      depends: virtualDepends.map((d) => argText(d)),
      provides: [],
      installIf: [],
      replaces: [],
      unknown: [],
    };
    db.addRecord(virtualRecord, { kind: 'virtual' });
    depsAdd(world, virtdep);
    db.setNameFlags(virtdep.name, flags, flags);
  }
  return solveAndCommit(db, 0, world, out, p.forceBrokenWorld);
}

/** Re-serializes a parsed dependency (used for the virtual package's depends). */
function argText(dep: Dep): string {
  const op = dep.op & ~VERSION_CONFLICT;
  const opText = dep.version === '' ? '' : ({ 1: '=', 2: '<', 3: '<=', 4: '>', 5: '>=', 9: '~', 11: '<~', 13: '>~', 6: '><' } as Record<number, string>)[op] ?? '';
  return `${dep.op & VERSION_CONFLICT ? '!' : ''}${dep.name.name}${opText}${dep.version}`;
}

function delApplet(db: Database, p: ParsedArgs, out: Output): number {
  const world = copyDeps(db.world);
  const genid = nextGenid(db);
  let errors = 0;
  const deletePkg = (pkg0: Package): void => {
    depsDel(world, pkg0.name);
    db.setNameFlags(pkg0.name, SOLVERF_REMOVE, 0);
    if (p.rdepends) {
      for (const d of pkg0.provides) depsDel(world, d.name);
      foreachReverseDependency(pkg0, { match: DEP_SATISFIES, installed: true, genid }, (pkg1) => deletePkg(pkg1));
    }
  };
  matchingNames(db, p.args, (match, name) => {
    if (!name) {
      out.err(`No such package: ${match}`);
      errors++;
      return;
    }
    const pkg = db.installedByName(name);
    if (pkg) deletePkg(pkg);
    else depsDel(world, name);
  });
  if (errors) return errors;
  const { errors: solveErrors, changeset } = solve(db, 0, world, { forceBrokenWorld: p.forceBrokenWorld });
  if (solveErrors) {
    printSolverErrors(db, changeset, world, out);
    return solveErrors;
  }
  if (out.verbosity >= 1) {
    const WAS_CONFLICT = 1;
    const IS_WORLD = 2;
    for (const name of db.names.values()) name.stateInt = 0;
    for (const pkg of db.packages.values()) pkg.marked = false;
    for (const d of db.world) if (d.op & VERSION_CONFLICT) d.name.stateInt |= WAS_CONFLICT;
    for (const d of world) if (!(d.op & VERSION_CONFLICT)) d.name.stateInt |= IS_WORLD;
    for (const change of changeset.changes) if (change.newPkg) change.newPkg.marked = true;
    let header = false;
    const names = new Set<Name>();
    matchingNames(db, p.args, (_match, name) => {
      if (name) names.add(name);
    });
    for (const name of [...names].sort((a, b) => compareNamesForDisplay(a.name, b.name))) {
      if (name.stateInt & WAS_CONFLICT) continue;
      const indent = new Indented(out);
      const matches = nextGenid(db);
      const printPkg = (pkg0: Package): void => {
        if (!header) {
          out.msg('World updated, but the following packages are not removed due to:');
          header = true;
        }
        if (!indent.indent) indent.group(0, `  ${name.name}:`);
        if (pkg0.name.stateInt & IS_WORLD) indent.print(pkg0.name.name);
        for (const d of pkg0.provides) if (d.name.stateInt & IS_WORLD) indent.print(d.name.name);
        foreachReverseDependency(pkg0, { match: DEP_SATISFIES, marked: true, genid: matches }, (pkg1) => printPkg(pkg1));
        for (const d of pkg0.installIf) {
          for (const pr of d.name.providers) {
            if (!pr.pkg.marked) continue;
            if (matchGenid(pr.pkg, matches)) continue;
            if (out.verbosity < 2 && !(pr.pkg.name.stateInt & IS_WORLD)) continue;
            printPkg(pr.pkg);
          }
        }
      };
      for (const pr of name.providers) if (pr.pkg.marked) printPkg(pr.pkg);
      indent.end();
    }
    if (header) out.write('\n');
  }
  return commitChangeset(db, changeset, world, out, { forceBrokenWorld: p.forceBrokenWorld });
}

function preupgrade(db: Database, p: ParsedArgs, flags: number, out: Output): number {
  const deps: Dep[] = [];
  const exe = db.files.get('proc/self/exe');
  if (exe) deps.push({ name: exe.name, op: DEPMASK_ANY, version: '', tag: 0, broken: false });
  for (const text of p.preupgradeDepends) {
    let warn = false;
    for (const word of text.split(/[ \t\n]+/)) {
      if (!word) continue;
      const dep = db.pullDep(word, false);
      if (dep) depsAdd(deps, dep);
      else warn = true;
    }
    if (warn) out.warn(`Ignored invalid preupgrade dependencies from: ${text}`);
  }
  let found = false;
  for (const dep of deps) {
    const name = dep.name;
    const pkg = db.installedByName(name);
    if (!depIsMaterialized(dep, pkg)) continue;
    for (const p0 of name.providers) {
      if (p0.pkg.repos === 0) continue;
      if (!versionMatches(p0.pkg.version, VERSION_GREATER, pkg!.version)) continue;
      db.setNameFlags(name, flags, 0);
      found = true;
      break;
    }
  }
  if (!found) return 0;
  db.performingPreupgrade = true;
  try {
    const { errors, changeset } = solve(db, 0, db.world);
    if (errors) {
      out.warn('Failed to perform initial preupgrade, continuing with a full upgrade.');
      return 0;
    }
    if (changeset.numTotal === 0) return 0;
    if (!p.preupgradeOnly) {
      out.warn('This simulation might not reliable as a preupgrade is available.');
      return 0;
    }
    db.performingPreupgrade = false;
    out.msg('Preupgrading:');
    const r = commitChangeset(db, changeset, db.world, out, { forceBrokenWorld: p.forceBrokenWorld });
    return r < 0 ? r : 0;
  } finally {
    db.performingPreupgrade = false;
  }
}

function upgradeApplet(db: Database, p: ParsedArgs, out: Output): number {
  if (!p.forceBrokenWorld) {
    for (const dep of db.world) {
      if (dep.tag !== 0 && !(dep.tag > 0 && db.repoTags[dep.tag]!.allowedRepos)) {
        out.warn(`The repository tag for world dependency '${dep.name.name}${db.repoTags[Math.max(dep.tag, 0)]!.tag}' does not exist`);
        out.err('Not continuing with upgrade due to missing repository tags.');
        return 1;
      }
    }
  }
  let flags = SOLVERF_UPGRADE | (p.available ? SOLVERF_AVAILABLE : 0) | (p.latest ? SOLVERF_LATEST : 0);
  // Under --root (always the case for simulated roots) apk only pre-upgrades with --preupgrade-only.
  if (p.preupgradeOnly && p.preupgrade && p.args.length === 0) {
    const r = preupgrade(db, p, flags, out);
    if (r !== 0) return r;
  }
  if (p.preupgradeOnly) return 0;
  let world = db.world;
  if (p.prune || flags & SOLVERF_AVAILABLE) {
    world = copyDeps(db.world);
    if (flags & SOLVERF_AVAILABLE) {
      for (const dep of world) {
        if (dep.op === DEPMASK_CHECKSUM) {
          dep.op = DEPMASK_ANY;
          dep.version = '';
        }
      }
    }
    if (p.prune) world = world.filter((dep) => dep.name.providers.some((pr) => db.isAvailable(pr.pkg)));
  }
  if (p.args.length > 0) {
    if (!p.ignore) flags &= ~SOLVERF_UPGRADE;
    let errors = 0;
    matchingNames(db, p.args, (match, name) => {
      if (!name) {
        out.err(`Package '${match}' not found`);
        errors++;
        return;
      }
      db.setNameFlags(name, p.ignore ? SOLVERF_INSTALLED : SOLVERF_UPGRADE, 0);
    });
    if (errors) return errors;
  }
  return solveAndCommit(db, flags, world, out, p.forceBrokenWorld);
}

function fixApplet(db: Database, p: ParsedArgs, out: Output): number {
  let flags = (p.reinstall ? SOLVERF_REINSTALL : 0) | (p.upgrade ? SOLVERF_UPGRADE : 0);
  if (!flags) flags = SOLVERF_REINSTALL;
  const mark = (name: Name): void => db.setNameFlags(name, flags, p.depends ? flags : 0);
  let errors = 0;
  if (p.args.length === 0) {
    for (const pkg of db.installed) {
      const info = pkg.installed!;
      if (info.brokenFiles || info.brokenScript || (info.brokenXattr && p.xattr)) mark(pkg.name);
    }
  } else {
    matchingNames(db, p.args, (match, name) => {
      if (!name) {
        out.err(`Package '${match}' not found`);
        errors++;
        return;
      }
      mark(name);
    });
  }
  if (errors) return errors;
  return solveAndCommit(db, 0, db.world, out, p.forceBrokenWorld);
}

/** Runs one simulated apk command and returns its combined output. */
export function simulateApk(input: SimulationInput): SimulationResult {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(input.args);
  } catch (error) {
    if (error instanceof UsageError) return { output: `ERROR: ${error.message}\n`, exitCode: 1 };
    throw error;
  }
  const out = new Output(parsed.verbosity);
  let db: Database;
  try {
    db = openDatabase(input, parsed.noNetwork, out);
  } catch (error) {
    if (!(error instanceof DatabaseOpenError)) throw error;
    out.err(error.message);
    return { output: out.text(), exitCode: 1 };
  }
  let r: number;
  switch (parsed.applet) {
    case 'add':
      r = addApplet(db, parsed, out, input.now ?? new Date());
      break;
    case 'del':
      r = delApplet(db, parsed, out);
      break;
    case 'upgrade':
      r = upgradeApplet(db, parsed, out);
      break;
    case 'fix':
      r = fixApplet(db, parsed, out);
      break;
    default:
      out.err(parsed.applet === undefined ? 'no applet given' : `'${parsed.applet}' is not an apk command this simulator supports`);
      r = 1;
  }
  return { output: out.text(), exitCode: r === 0 ? 0 : 1 };
}
