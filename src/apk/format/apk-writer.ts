import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createGzip, gzipSync } from 'node:zlib';
import { ApkError } from '../errors.ts';
import { encodeQ1 } from './encoding.ts';
import { parentPath, safeEntryPath } from './paths.ts';
import { formatPkgInfo } from './pkginfo.ts';
import type { PkgInfoInput } from './pkginfo.ts';
import { SCRIPT_NAMES } from './apk-reader.ts';
import type { ScriptName } from './apk-reader.ts';
import { signatureMember } from './signature.ts';
import type { SignatureAlgorithm } from './signature.ts';
import { BLOCK, encodeHeader, padding, tarWithoutEnd } from './tar.ts';
import type { TarEntryType, TarWriteHeader } from './tar.ts';

/** Content of a regular file: bytes, or a function that opens a fresh stream each time it is called. */
export type EntryContent = Uint8Array | string | (() => AsyncIterable<Uint8Array>);

/** One data entry to write. Owners default to root (0:0, uname/gname `root`). */
export interface ApkWriteEntry {
  path: string;
  type: Exclude<TarEntryType, 'chardev' | 'blockdev'> | 'chardev' | 'blockdev';
  /** Permission bits; defaults 0644 files, 0755 directories, 0777 symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Symlink target, or path of an earlier regular file for hard links. */
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extended attributes, written as SCHILY.xattr PAX records sorted by name. */
  xattrs?: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array | string>;
  content?: EntryContent;
}

/** What a signed package needs to be built. */
export interface BuildApkInput {
  pkginfo: PkgInfoInput;
  entries: readonly ApkWriteEntry[];
  scripts?: Partial<Record<ScriptName, Uint8Array | string>>;
  /** Modification time of every entry (SOURCE_DATE_EPOCH), UNIX seconds. */
  mtime: number;
  /** Private key and key name; without it the package is unsigned. */
  signer?: { privateKey: KeyObject; keyName: string; algorithm?: SignatureAlgorithm };
  /** gzip level (default 9). */
  level?: number;
  /** Add directory entries for parents that have none (default true; apk requires them). */
  addParentDirectories?: boolean;
}

/** The three parts of a built package: write `signature ‖ control ‖ data`. */
export interface BuiltApk {
  /** Signature member (empty when unsigned). */
  signature: Buffer;
  /** Control member (`.PKGINFO` and scripts). */
  control: Buffer;
  /** Q1 of SHA-1 of the control member. */
  identity: string;
  /** SHA-256 hex of the data member. */
  datahash: string;
  /** Size of the data member in bytes. */
  dataSize: number;
  /** `.PKGINFO` text as written. */
  pkginfoText: string;
  /** Total file size. */
  fileSize: number;
}

interface NormalEntry extends ApkWriteEntry {
  path: string;
  mode: number;
}

function compareBytes(a: string, b: string): number {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return Buffer.compare(left, right);
}

/** Validates, completes (parent directories) and sorts entries bytewise by path; parents sort first. */
export function normalizeEntries(entries: readonly ApkWriteEntry[], addParents = true): NormalEntry[] {
  const byPath = new Map<string, NormalEntry>();
  for (const entry of entries) {
    const path = safeEntryPath(entry.path, 'package entry');
    if (path.startsWith('.')) {
      throw new ApkError('APK_PATH_UNSAFE', `package entry ${JSON.stringify(path)}: names starting with "." are skipped by apk`, { detail: { entry: path } });
    }
    if (byPath.has(path)) throw new ApkError('APK_PKGINFO_INVALID', `package entry ${JSON.stringify(path)} given twice`, { detail: { entry: path } });
    const mode = entry.mode ?? (entry.type === 'directory' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new ApkError('APK_PKGINFO_INVALID', `package entry ${path}: mode ${mode} is not within 07777`, { detail: { entry: path } });
    if ((entry.type === 'symlink' || entry.type === 'hardlink') && !entry.linkTarget) {
      throw new ApkError('APK_PKGINFO_INVALID', `package entry ${path}: ${entry.type} needs a link target`, { detail: { entry: path } });
    }
    if (entry.type !== 'file' && entry.content !== undefined) throw new ApkError('APK_PKGINFO_INVALID', `package entry ${path}: only regular files have content`, { detail: { entry: path } });
    byPath.set(path, { ...entry, path, mode });
  }
  if (addParents) {
    for (const path of [...byPath.keys()]) {
      for (let parent = parentPath(path); parent !== '' && !byPath.has(parent); parent = parentPath(parent)) {
        byPath.set(parent, { path: parent, type: 'directory', mode: 0o755 });
      }
    }
  }
  const sorted = [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
  const seen = new Map<string, NormalEntry>();
  for (const entry of sorted) {
    for (let parent = parentPath(entry.path); parent !== ''; parent = parentPath(parent)) {
      const found = seen.get(parent) ?? byPath.get(parent);
      if (found && found.type !== 'directory') {
        throw new ApkError('APK_PATH_UNSAFE', `package entry ${entry.path} lies below ${parent}, which is a ${found.type}`, { detail: { entry: entry.path, parent } });
      }
    }
    if (entry.type === 'hardlink') {
      const target = safeEntryPath(entry.linkTarget!, `hard link ${entry.path}`);
      const found = seen.get(target);
      if (!found || found.type !== 'file') {
        throw new ApkError('APK_PATH_UNSAFE', `hard link ${entry.path}: target ${target} is not a regular file sorting before it`, { detail: { entry: entry.path, target } });
      }
      entry.linkTarget = target;
    }
    seen.set(entry.path, entry);
  }
  return sorted;
}

async function* contentChunks(content: EntryContent | undefined): AsyncIterable<Uint8Array> {
  if (content === undefined) return;
  if (typeof content === 'string') yield Buffer.from(content, 'utf8');
  else if (content instanceof Uint8Array) yield content;
  else yield* content();
}

function xattrRecords(xattrs: ApkWriteEntry['xattrs']): Array<[string, Buffer]> {
  if (!xattrs) return [];
  const pairs: Array<[string, Buffer]> = xattrs instanceof Map
    ? [...xattrs].map(([key, value]) => [key, Buffer.from(value)])
    : Object.entries(xattrs).map(([key, value]) => [key, typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)]);
  for (const [key] of pairs) if (!key || /[=\n\0]/.test(key)) throw new ApkError('APK_PKGINFO_INVALID', `xattr name ${JSON.stringify(key)} is invalid`, { detail: { xattr: key } });
  return pairs.sort((a, b) => compareBytes(a[0], b[0])).map(([key, value]) => [`SCHILY.xattr.${key}`, value]);
}

/** Produces the data tar (with end-of-archive blocks). Files are read twice: once to checksum (the PAX record precedes the content), once to write. */
export async function* dataTar(entries: readonly NormalEntry[], mtime: number, sizes: Map<string, number>): AsyncGenerator<Buffer> {
  const digests = new Map<string, string>();
  for (const entry of entries) {
    const owner = { uid: entry.uid ?? 0, gid: entry.gid ?? 0 };
    const header: TarWriteHeader = {
      name: entry.path,
      type: entry.type,
      mode: entry.mode,
      ...owner,
      uname: entry.uname ?? (owner.uid === 0 ? 'root' : ''),
      gname: entry.gname ?? (owner.gid === 0 ? 'root' : ''),
      mtime,
      devMajor: entry.devMajor ?? 0,
      devMinor: entry.devMinor ?? 0,
      pax: [],
    };
    if (entry.type === 'file') {
      const hash = createHash('sha1');
      let size = 0;
      for await (const chunk of contentChunks(entry.content)) {
        hash.update(chunk);
        size += chunk.length;
      }
      const sha1 = hash.digest('hex');
      digests.set(entry.path, sha1);
      sizes.set(entry.path, size);
      header.size = size;
      header.pax!.push(['APK-TOOLS.checksum.SHA1', sha1]);
      header.pax!.push(...xattrRecords(entry.xattrs));
      yield encodeHeader(header);
      const check = createHash('sha1');
      let written = 0;
      for await (const chunk of contentChunks(entry.content)) {
        written += chunk.length;
        if (written > size) break;
        check.update(chunk);
        yield Buffer.from(chunk);
      }
      if (written !== size || check.digest('hex') !== sha1) {
        throw new ApkError('APK_CHECKSUM_MISMATCH', `package entry ${entry.path} changed while the package was written`, { detail: { entry: entry.path } });
      }
      yield padding(size);
      continue;
    }
    if (entry.type === 'symlink') {
      header.linkName = entry.linkTarget!;
      header.pax!.push(['APK-TOOLS.checksum.SHA1', createHash('sha1').update(entry.linkTarget!).digest('hex')]);
    } else if (entry.type === 'hardlink') {
      header.linkName = entry.linkTarget!;
      header.pax!.push(['APK-TOOLS.checksum.SHA1', digests.get(entry.linkTarget!)!]);
    }
    header.pax!.push(...xattrRecords(entry.xattrs));
    yield encodeHeader(header);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/**
 * Builds a package: streams the gzip'd data member to `writeData` while hashing it, then builds the
 * control member (with datahash) and the signature member. The caller writes
 * `signature ‖ control ‖ (data as written)`. Equal input gives equal bytes.
 */
export async function buildApk(input: BuildApkInput, writeData: (chunk: Buffer) => Promise<void>): Promise<BuiltApk> {
  if (!Number.isSafeInteger(input.mtime) || input.mtime < 0) throw new ApkError('APK_PKGINFO_INVALID', `mtime ${input.mtime} is not a UNIX time`, { detail: { mtime: input.mtime } });
  const entries = normalizeEntries(input.entries, input.addParentDirectories ?? true);
  const sizes = new Map<string, number>();
  const level = input.level ?? 9;
  const gzip = createGzip({ level });
  const datahash = createHash('sha256');
  let dataSize = 0;
  const drained = (async () => {
    for await (const chunk of gzip as AsyncIterable<Buffer>) {
      datahash.update(chunk);
      dataSize += chunk.length;
      await writeData(chunk);
    }
  })();
  try {
    for await (const chunk of dataTar(entries, input.mtime, sizes)) {
      if (!gzip.write(chunk)) await new Promise<void>((resolve) => gzip.once('drain', resolve));
    }
    gzip.end();
  } catch (error) {
    gzip.destroy();
    await drained.catch(() => {});
    throw error;
  }
  await drained;
  let installedSize = 0;
  for (const size of sizes.values()) installedSize += size;
  const pkginfo: PkgInfoInput = { ...input.pkginfo, datahash: datahash.digest('hex') };
  pkginfo.installedSize ??= installedSize;
  const pkginfoText = formatPkgInfo(pkginfo);
  const controlFiles = [{ name: '.PKGINFO', data: Buffer.from(pkginfoText, 'utf8'), mode: 0o644 }];
  for (const script of SCRIPT_NAMES) {
    const body = input.scripts?.[script];
    if (body !== undefined) controlFiles.push({ name: `.${script}`, data: Buffer.from(body), mode: 0o755 });
  }
  for (const key of Object.keys(input.scripts ?? {})) {
    if (!(SCRIPT_NAMES as readonly string[]).includes(key)) throw new ApkError('APK_PKGINFO_INVALID', `unknown script ${JSON.stringify(key)} (expected one of ${SCRIPT_NAMES.join(', ')})`, { detail: { script: key } });
  }
  const control = gzipSync(tarWithoutEnd(controlFiles, input.mtime), { level });
  const signature = input.signer ? signatureMember(control, input.signer, input.mtime, level) : Buffer.alloc(0);
  return {
    signature,
    control,
    identity: encodeQ1(createHash('sha1').update(control).digest()),
    datahash: pkginfo.datahash!,
    dataSize,
    pkginfoText,
    fileSize: signature.length + control.length + dataSize,
  };
}

/** Builds a whole package in memory (small packages and tests). */
export async function buildApkBuffer(input: BuildApkInput): Promise<{ bytes: Buffer; built: BuiltApk }> {
  const data: Buffer[] = [];
  const built = await buildApk(input, async (chunk) => {
    data.push(chunk);
  });
  return { bytes: Buffer.concat([built.signature, built.control, ...data]), built };
}
