// apk dependency expressions (apk-format.md §4.1): `[!]name[@tag][op version]`, space-separated
// lists, provides and install_if. Parsing follows apk-tools' apk_dep_parse/apk_blob_pull_dep: a
// malformed entry stops the list, a bad version only marks the entry broken.
import {
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
  formatVersionOperator,
  isValidVersion,
  parseVersionOperator,
  VERSION_CONFLICT,
  versionMatches,
} from './version.ts';

/** One parsed dependency expression. */
export interface Dependency {
  /** Package or provided name (`so:libc.musl-x86_64.so.1`, `cmd:sh`, `/bin/sh` …). */
  name: string;
  /** Operator bits (version.ts); DEPMASK_ANY when there is no operator; includes VERSION_CONFLICT for `!`. */
  op: number;
  /** Constraint version ('' when none); an identity (`Q1…`) for `><`. */
  version: string;
  /** Repository tag without `@` (world and command line only). */
  tag?: string;
  /** The version text is not a valid apk version (the expression is otherwise well-formed). */
  broken: boolean;
}

/** Where a dependency appears: tags are allowed only in world and on the command line. */
export interface ParseDependencyOptions {
  allowTag?: boolean;
}

const COMPARERS = new Set(['<', '>', '=', '~']);

/** Is this a conflict (`!name`)? */
export function isConflict(dep: Pick<Dependency, 'op'>): boolean {
  return (dep.op & VERSION_CONFLICT) !== 0;
}

/**
 * Parses one expression. Returns undefined for a format error (apk: "dependency format is
 * invalid"): a dangling operator, an unknown operator, an empty name, or a tag where none is allowed.
 */
export function parseDependency(text: string, options: ParseDependencyOptions = {}): Dependency | undefined {
  let spec = text;
  let op = 0;
  if (spec.startsWith('!')) {
    op |= VERSION_CONFLICT;
    spec = spec.slice(1);
  }
  let name = spec;
  let version = '';
  let opEnd = -1;
  for (let i = 0; i < spec.length; i++) {
    if (COMPARERS.has(spec[i]!)) {
      opEnd = i;
      break;
    }
  }
  if (opEnd >= 0) {
    name = spec.slice(0, opEnd);
    let end = opEnd;
    while (end < spec.length && COMPARERS.has(spec[end]!)) end++;
    // apk requires something after the operator.
    if (end >= spec.length) return undefined;
    const bits = parseVersionOperator(spec.slice(opEnd, end));
    if (bits === 0) return undefined;
    op |= bits;
    version = spec.slice(end);
  } else {
    op |= DEPMASK_ANY;
  }
  const broken = (op & DEPMASK_CHECKSUM) !== DEPMASK_CHECKSUM && !isValidVersion(version);
  let tag: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    if (!options.allowTag) return undefined;
    tag = name.slice(at + 1);
    name = name.slice(0, at);
  }
  if (name === '') return undefined;
  const dep: Dependency = { name, op, version, broken };
  if (tag !== undefined) dep.tag = tag;
  return dep;
}

/** Result of parsing a dependency list. */
export interface DependencyList {
  deps: Dependency[];
  /** 'format': an entry could not be parsed (it and everything after it were dropped);
   *  'version': some entry has an invalid version (kept, marked broken). */
  error?: 'format' | 'version';
  /** The first entry that could not be parsed. */
  badEntry?: string;
}

/** Parses a whitespace-separated list the way apk-tools reads `D:`/`p:`/`i:` and world. */
export function parseDependencyList(text: string, options: ParseDependencyOptions = {}): DependencyList {
  const result: DependencyList = { deps: [] };
  for (const word of text.split(/[ \t\n]+/)) {
    if (word === '') continue;
    const dep = parseDependency(word, options);
    if (!dep) {
      result.error = 'format';
      result.badEntry = word;
      return result;
    }
    if (dep.broken) result.error = 'version';
    result.deps.push(dep);
  }
  return result;
}

/** Prints `[!]name[op version]` as apk does in messages (no tag). */
export function formatDependency(dep: Pick<Dependency, 'name' | 'op' | 'version'>): string {
  return `${isConflict(dep) ? '!' : ''}${dep.name}${dep.version === '' ? '' : formatVersionOperator(dep.op) + dep.version}`;
}

/** Prints a dependency with its `@tag` after the name, as written to /etc/apk/world. */
export function formatWorldDependency(dep: Dependency): string {
  return `${isConflict(dep) ? '!' : ''}${dep.name}${dep.tag ? `@${dep.tag}` : ''}${dep.version === '' ? '' : formatVersionOperator(dep.op) + dep.version}`;
}

/** A name a package provides: itself at its version, or a `p:` entry (version '' when unversioned). */
export interface ProvidedName {
  name: string;
  version: string;
  /** The package's identity, for `><` matches. */
  identity: string;
}

/**
 * Does `provider` satisfy `dep`? `dependent` is the identity of the package that declares the
 * dependency: a package's conflict with a name it provides itself is ignored (§4.2).
 */
export function dependencySatisfiedBy(dep: Dependency, provider: ProvidedName | undefined, dependent?: string): boolean {
  if (!provider) return isConflict(dep);
  if (isConflict(dep) && dependent !== undefined && dependent === provider.identity) return true;
  if ((dep.op & ~VERSION_CONFLICT) === DEPMASK_CHECKSUM) return dep.version === provider.identity;
  return versionMatches(provider.version, dep.op, dep.version);
}

/** The names a package record provides: its own name plus each `p:` entry that parses. */
export function providedNames(record: { identity: string; name: string; version: string; provides: readonly string[] }): ProvidedName[] {
  const out: ProvidedName[] = [{ name: record.name, version: record.version, identity: record.identity }];
  for (const dep of parseDependencyList(record.provides.join(' ')).deps) {
    out.push({ name: dep.name, version: dep.version, identity: record.identity });
  }
  return out;
}
