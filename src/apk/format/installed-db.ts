import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ApkError } from '../errors.ts';
import type { ApkControl, ApkEntry, ScriptName } from './apk-reader.ts';
import { SCRIPT_NAMES } from './apk-reader.ts';
import { decodeQ1, encodeQ1, encodeX1 } from './encoding.ts';
import { pkgInfoToRecord } from './pkginfo.ts';
import { formatRecord, parseRecords } from './record.ts';
import type { PackageRecord } from './record.ts';
import { BLOCK, encodeHeader, padding } from './tar.ts';
import { TarMemberReader } from './tar-member.ts';

/** Owner, mode and xattr digest of a directory (`M:`) or file (`a:`); omitted when default. */
export interface InstalledAcl {
  uid: number;
  gid: number;
  mode: number;
  /** Q1 of the xattr digest, when the entry has xattrs. */
  xattrDigest?: string;
}

/** One `R:` line and what follows it. */
export interface InstalledFile {
  name: string;
  acl?: InstalledAcl;
  /** `Z:` value as written (Q1 normally). */
  digest?: string;
}

/** One `F:` block. */
export interface InstalledDirectory {
  /** Path without leading or trailing slash ('' for the root). */
  path: string;
  acl?: InstalledAcl;
  files: InstalledFile[];
}

/** A package record of `lib/apk/db/installed` with its file list. */
export interface InstalledPackage {
  record: PackageRecord;
  directories: InstalledDirectory[];
}

/** Options of {@link parseInstalledDb}. */
export interface ParseInstalledDbOptions {
  source?: string;
  /** Refuse what apko refuses: `M:` for the root (`F:` with an empty path) or after `R:`. apk-tools tolerates both. */
  strict?: boolean;
}

function dbFault(where: string, message: string): ApkError {
  return new ApkError('APK_INSTALLED_DB_INVALID', `${where}: ${message}`, { detail: { source: where } });
}

function parseAcl(value: string, where: string): InstalledAcl {
  const parts = value.split(':');
  if (parts.length < 3 || parts.length > 4 || !/^\d+$/.test(parts[0]!) || !/^\d+$/.test(parts[1]!) || !/^[0-7]{1,6}$/.test(parts[2]!)) {
    throw dbFault(where, `expected uid:gid:mode[:xattr-digest], got ${JSON.stringify(value)}`);
  }
  const acl: InstalledAcl = { uid: Number(parts[0]), gid: Number(parts[1]), mode: parseInt(parts[2]!, 8) };
  if (acl.mode > 0o7777) throw dbFault(where, `mode ${parts[2]} is out of range`);
  if (parts[3] !== undefined) {
    decodeQ1(parts[3], where);
    acl.xattrDigest = parts[3];
  }
  return acl;
}

/**
 * Parses `lib/apk/db/installed`: package records (any field order; apko writes `C:` last) with
 * their `F M R a Z` file lines. Unknown upper-case letters are refused, as by apk.
 */
export function parseInstalledDb(text: string, options: ParseInstalledDbOptions = {}): InstalledPackage[] {
  const source = options.source ?? 'installed';
  const files = new Map<PackageRecord, InstalledDirectory[]>();
  const last = new Map<PackageRecord, { directory?: InstalledDirectory; file?: InstalledFile }>();
  const records = parseRecords(text, {
    source,
    onFileField(record, letter, value, line) {
      const where = `${source}:${line}`;
      const directories = files.get(record) ?? [];
      files.set(record, directories);
      const state = last.get(record) ?? {};
      last.set(record, state);
      switch (letter) {
        case 'F': {
          if (value.startsWith('/') || value.endsWith('/') || value.split('/').some((part) => part === '..' || part === '.') || (value !== '' && value.split('/').includes(''))) {
            throw dbFault(where, `F: path ${JSON.stringify(value)} is not a clean relative path`);
          }
          state.directory = { path: value, files: [] };
          state.file = undefined;
          directories.push(state.directory);
          return;
        }
        case 'M':
          if (!state.directory) throw dbFault(where, 'M: before any F:');
          // apk-tools applies a late M: to the current directory; apko refuses it (fixture bad-top-level-perms).
          if (options.strict && state.file) throw dbFault(where, 'M: after R: (M: qualifies the directory and must follow F:)');
          if (options.strict && state.directory.path === '') throw dbFault(where, 'M: for the root directory');
          state.directory.acl = parseAcl(value, where);
          return;
        case 'R':
          if (!state.directory) throw dbFault(where, 'R: before any F:');
          if (value === '' || value.includes('/') || value === '.' || value === '..') throw dbFault(where, `R: name ${JSON.stringify(value)} is not a file name`);
          state.file = { name: value };
          state.directory.files.push(state.file);
          return;
        case 'a':
          if (!state.file) throw dbFault(where, 'a: before any R:');
          state.file.acl = parseAcl(value, where);
          return;
        case 'Z':
          if (!state.file) throw dbFault(where, 'Z: before any R:');
          if (!/^[0-9a-f]{32}$/.test(value)) decodeQ1(value, where);
          state.file.digest = value;
          return;
        default:
          throw dbFault(where, `unexpected field ${letter}:`);
      }
    },
  });
  return records.map((record) => ({ record, directories: files.get(record) ?? [] }));
}

function aclText(acl: InstalledAcl): string {
  return `${acl.uid}:${acl.gid}:${acl.mode.toString(8)}${acl.xattrDigest ? `:${acl.xattrDigest}` : ''}`;
}

function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Record order of the installed database: name case-insensitively, then exactly, then version as written. */
function compareInstalled(a: InstalledPackage, b: InstalledPackage): number {
  const left = a.record.name.toLowerCase();
  const right = b.record.name.toLowerCase();
  if (left !== right) return left < right ? -1 : 1;
  return compareText(a.record.name, b.record.name) || compareText(a.record.version, b.record.version);
}

/**
 * Formats one installed-database record the way apk-tools writes it: header fields in index order,
 * then `r q s f` (no `g:`, which 2.14 rejects after them), then `F`/`M`/`R`/`a`/`Z`, directories and
 * files sorted bytewise. Ends with the blank separator line.
 */
export function formatInstalledPackage(pkg: InstalledPackage): string {
  const { record } = pkg;
  if (!record.identity) throw dbFault(record.name || 'record', 'installed record has no identity (C:)');
  const header: PackageRecord = { ...record, replaces: [], unknown: record.unknown.filter(([letter]) => !(letter >= 'A' && letter <= 'Z')) };
  delete header.replacesPriority;
  delete header.repositoryTag;
  delete header.flags;
  delete header.tags;
  const lines = [formatRecord(header).slice(0, -1)];
  if (record.replaces.length) lines.push(`r:${record.replaces.join(' ')}`);
  if (record.replacesPriority) lines.push(`q:${record.replacesPriority}`);
  if (record.repositoryTag) lines.push(`s:${record.repositoryTag}`);
  if (record.flags) lines.push(`f:${record.flags}`);
  for (const directory of [...pkg.directories].sort((a, b) => compareText(a.path, b.path))) {
    lines.push(`F:${directory.path}`);
    if (directory.acl) lines.push(`M:${aclText(directory.acl)}`);
    for (const file of [...directory.files].sort((a, b) => compareText(a.name, b.name))) {
      lines.push(`R:${file.name}`);
      if (file.acl) lines.push(`a:${aclText(file.acl)}`);
      if (file.digest) lines.push(`Z:${file.digest}`);
    }
  }
  return `${lines.join('\n')}\n\n`;
}

/** Formats the whole database, records sorted by name then version (or kept in the given order). */
export function formatInstalledDb(packages: readonly InstalledPackage[], order: 'sorted' | 'given' = 'sorted'): string {
  return (order === 'sorted' ? [...packages].sort(compareInstalled) : packages).map(formatInstalledPackage).join('');
}

/** SHA-1 over xattrs sorted by name: u32be name length, name, u32be value length, value (apk's xattr digest). */
export function xattrDigest(xattrs: ReadonlyMap<string, Uint8Array>): string | undefined {
  if (xattrs.size === 0) return undefined;
  const hash = createHash('sha1');
  for (const [name, value] of [...xattrs].sort((a, b) => compareText(a[0], b[0]))) {
    const nameBytes = Buffer.from(name, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(nameBytes.length);
    hash.update(length).update(nameBytes);
    length.writeUInt32BE(value.length);
    hash.update(length).update(value);
  }
  return encodeQ1(hash.digest());
}

/** Options of {@link installedPackageFromApk}. */
export interface InstalledFromApkOptions {
  /** Size of the .apk file (`S:`). */
  fileSize: number;
  /** Repository tag the package was installed from (`s:`). */
  repositoryTag?: string;
  /**
   * Maps an entry's owner to numeric ids. apk resolves uname/gname in the target root's
   * /etc/passwd and /etc/group (`root` is 0) and falls back to the numeric ids; pass a resolver that
   * does that for the image being assembled. Default: `root` → 0, otherwise the numeric ids.
   */
  resolveOwner?: (entry: ApkEntry) => { uid: number; gid: number };
}

function defaultOwner(entry: ApkEntry): { uid: number; gid: number } {
  return { uid: entry.uname === 'root' ? 0 : entry.uid, gid: entry.gname === 'root' ? 0 : entry.gid };
}

/**
 * The installed-database record for a package that has been read: header from `.PKGINFO` plus
 * identity and file size, `r:`/`q:` from replaces, and one `F:` block per directory entry and per
 * directory holding files, with `M:`/`a:` only where owner, mode or xattrs differ from the defaults.
 */
export function installedPackageFromApk(control: ApkControl, entries: readonly ApkEntry[], options: InstalledFromApkOptions): InstalledPackage {
  const record = pkgInfoToRecord(control.pkginfo, control.identity, options.fileSize);
  if (options.repositoryTag) record.repositoryTag = options.repositoryTag;
  const resolveOwner = options.resolveOwner ?? defaultOwner;
  const directories = new Map<string, InstalledDirectory>();
  const directory = (path: string): InstalledDirectory => {
    let found = directories.get(path);
    if (!found) {
      found = { path, files: [] };
      directories.set(path, found);
    }
    return found;
  };
  for (const entry of entries) {
    const owner = resolveOwner(entry);
    const xattrs = xattrDigest(entry.xattrs);
    if (entry.type === 'directory') {
      const block = directory(entry.path);
      if (owner.uid !== 0 || owner.gid !== 0 || entry.mode !== 0o755 || xattrs) {
        block.acl = { ...owner, mode: entry.mode };
        if (xattrs) block.acl.xattrDigest = xattrs;
      }
      continue;
    }
    const slash = entry.path.lastIndexOf('/');
    const block = directory(slash < 0 ? '' : entry.path.slice(0, slash));
    const file: InstalledFile = { name: entry.path.slice(slash + 1) };
    if (owner.uid !== 0 || owner.gid !== 0 || entry.mode !== 0o644 || xattrs) {
      file.acl = { ...owner, mode: entry.mode };
      if (xattrs) file.acl.xattrDigest = xattrs;
    }
    if (entry.sha1 && (entry.type === 'file' || entry.type === 'symlink' || entry.type === 'hardlink')) file.digest = encodeQ1(Buffer.from(entry.sha1, 'hex'));
    block.files.push(file);
  }
  return { record, directories: [...directories.values()] };
}

// ---------------------------------------------------------------- scripts.tar

/** One script of an installed package. */
export interface InstalledScript {
  name: string;
  version: string;
  /** Identity as in `C:` (Q1); written in the chosen encoding. */
  identity: string;
  script: ScriptName;
  content: Buffer;
  /** mtime of the tar entry (the package's build time). */
  mtime?: number;
}

/**
 * Builds `lib/apk/db/scripts.tar` (plain tar with end blocks; 1024 zero bytes when empty). Names
 * are `<P>-<V>.<identity>.<script>`; the identity is written as `X1` hex by default (readable by
 * apk 2.14 and 3, no `/` in names) or as `Q1` like apk 2.x/apko.
 */
export function buildScriptsTar(scripts: readonly InstalledScript[], identityEncoding: 'X1' | 'Q1' = 'X1'): Buffer {
  const parts: Buffer[] = [];
  const order = (script: ScriptName): number => SCRIPT_NAMES.indexOf(script);
  const sorted = [...scripts].sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version) || order(a.script) - order(b.script));
  for (const script of sorted) {
    const raw = decodeQ1(script.identity, `${script.name}-${script.version}`);
    const identity = identityEncoding === 'X1' ? encodeX1(raw) : encodeQ1(raw);
    const name = `${script.name}-${script.version}.${identity}.${script.script}`;
    parts.push(encodeHeader({ name, type: 'file', mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', size: script.content.length, mtime: script.mtime ?? 0 }));
    parts.push(script.content, padding(script.content.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Reads `scripts.tar`, splitting each name at its last two dots (as apk does). */
export async function parseScriptsTar(bytes: Buffer, source = 'scripts.tar'): Promise<InstalledScript[]> {
  let delivered = false;
  const member = { index: 0, offset: 0, info: undefined, read: async () => (delivered ? null : ((delivered = true), bytes)) };
  const tar = new TarMemberReader(member, source);
  const scripts: InstalledScript[] = [];
  for (;;) {
    const step = await tar.next();
    if (step.kind === 'member-end') throw dbFault(source, 'no end-of-archive blocks');
    if (step.kind === 'end-of-archive') break;
    const { header } = step;
    if (header.type !== 'file') throw dbFault(source, `${header.name} is not a regular file`);
    if (header.size > 1 << 20) throw new ApkError('APK_LIMIT_EXCEEDED', `${source}: ${header.name} is ${header.size} bytes`, { detail: { source } });
    const content = await tar.content(header.size, header.name);
    const lastDot = header.name.lastIndexOf('.');
    const secondDot = header.name.lastIndexOf('.', lastDot - 1);
    const script = header.name.slice(lastDot + 1) as ScriptName;
    const identity = header.name.slice(secondDot + 1, lastDot);
    const nameVersion = header.name.slice(0, secondDot);
    // apk splits name and version at the first "-<digit>" after which a version follows.
    const match = /^(.+?)-(\d[^-]*(?:-r\d+)?)$/.exec(nameVersion);
    if (secondDot < 0 || !match || !(SCRIPT_NAMES as readonly string[]).includes(script)) throw dbFault(source, `entry name ${JSON.stringify(header.name)} is not <pkg>-<ver>.<identity>.<script>`);
    decodeQ1(identity, `${source}: ${header.name}`);
    scripts.push({ name: match[1]!, version: match[2]!, identity, script, content, mtime: header.mtime });
  }
  return scripts;
}

// ---------------------------------------------------------------- triggers, world, repositories

/** `lib/apk/db/triggers`: one line per package, `<Q1 identity> <glob>…`. */
export function formatTriggers(entries: ReadonlyArray<{ identity: string; triggers: readonly string[] }>): string {
  return entries
    .filter((entry) => entry.triggers.length > 0)
    .map((entry) => `${entry.identity} ${entry.triggers.join(' ')}\n`)
    .join('');
}

/** Parses `triggers`; globs of repeated identities accumulate (apko writes one line per glob). */
export function parseTriggers(text: string, source = 'triggers'): Map<string, string[]> {
  const triggers = new Map<string, string[]>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const [identity, ...globs] = line.split(' ').filter((word) => word !== '');
    decodeQ1(identity!, `${source}:${index + 1}`);
    triggers.set(identity!, [...(triggers.get(identity!) ?? []), ...globs]);
  }
  return triggers;
}

/** `/etc/apk/world`: dependencies sorted and de-duplicated, one per line, trailing newline. */
export function formatWorldFile(dependencies: readonly string[]): string {
  for (const dependency of dependencies) {
    if (!dependency || /\s/.test(dependency)) throw dbFault('world', `dependency ${JSON.stringify(dependency)} is empty or contains whitespace`);
  }
  const sorted = [...new Set(dependencies)].sort(compareText);
  return sorted.length ? `${sorted.join('\n')}\n` : '';
}

/** Parses `/etc/apk/world` (whitespace-separated dependencies). */
export function parseWorldFile(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

/** `/etc/apk/repositories`: one `[@tag ]URL` per line. */
export function formatRepositoriesFile(repositories: readonly string[]): string {
  for (const line of repositories) if (/[\n\r]/.test(line) || line.trim() === '') throw dbFault('repositories', `repository ${JSON.stringify(line)} is empty or has a newline`);
  return repositories.map((line) => `${line}\n`).join('');
}

/** Parses `/etc/apk/repositories`, dropping blank lines and `#` comments. */
export function parseRepositoriesFile(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** The scripts of a read package in the form {@link buildScriptsTar} takes. */
export function installedScriptsFromApk(control: ApkControl): InstalledScript[] {
  return [...control.scripts].map(([script, content]) => {
    const entry: InstalledScript = { name: control.pkginfo.name, version: control.pkginfo.version, identity: control.identity, script, content };
    if (control.pkginfo.buildDate !== undefined) entry.mtime = control.pkginfo.buildDate;
    return entry;
  });
}

/** `/etc/apk/arch`: the primary architecture on one line (apk 2.14 reads one). */
export function formatArchFile(arch: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(arch)) throw dbFault('arch', `architecture ${JSON.stringify(arch)} is not a plain name`);
  return `${arch}\n`;
}

/** `/etc/apk/keys/<name>` files for a keyring: SPKI PEM per key, sorted by name; names are checked to be plain file names. */
export function keyFiles(keyring: ReadonlyMap<string, KeyObject>): Array<{ path: string; content: string }> {
  return [...keyring]
    .sort(([a], [b]) => compareText(a, b))
    .map(([name, key]) => {
      if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw dbFault('keys', `key name ${JSON.stringify(name)} is not a file name`);
      return { path: `etc/apk/keys/${name}`, content: key.export({ type: 'spki', format: 'pem' }).toString() };
    });
}
