import { createHash } from 'node:crypto';
import type { Hash, Verify } from 'node:crypto';
import { KilnError } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import { decodeQ1, encodeQ1 } from './encoding.ts';
import { GzipMemberReader } from './gzip-members.ts';
import type { GzipMember } from './gzip-members.ts';
import { isSkippedDataName, parentPath, safeEntryPath } from './paths.ts';
import { parsePkgInfo } from './pkginfo.ts';
import type { PkgInfo } from './pkginfo.ts';
import { chooseSignature, createSignatureVerifier, parseSignatureName, SIGNATURE_BYTES_LIMIT, SIGNATURE_ENTRY_LIMIT, SIGNATURE_LIMIT } from './signature.ts';
import type { Keyring, SignatureEntry } from './signature.ts';
import { TarMemberReader } from './tar-member.ts';
import type { TarEntryType, TarHeader } from './tar.ts';

/** Control-section scripts apk runs, by name without the leading dot. */
export const SCRIPT_NAMES = ['pre-install', 'post-install', 'pre-upgrade', 'post-upgrade', 'pre-deinstall', 'post-deinstall', 'trigger'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Size limits a reader enforces on untrusted input. */
export interface ApkReadLimits {
  /** Decompressed size of one signature member. */
  maxSignatureMemberSize: number;
  /** Decompressed size of the control member. */
  maxControlSize: number;
  /** Size of `.PKGINFO`. */
  maxPkgInfoSize: number;
  /** Size of one control script. */
  maxScriptSize: number;
  /** Decompressed size of the data member. */
  maxDataSize: number;
  /** Number of data entries. */
  maxEntries: number;
}

export const DEFAULT_APK_LIMITS: ApkReadLimits = {
  maxSignatureMemberSize: 1 << 20,
  maxControlSize: 16 << 20,
  maxPkgInfoSize: 1 << 20,
  maxScriptSize: 256 << 10,
  maxDataSize: 64 * 2 ** 30,
  maxEntries: 1_000_000,
};

/** A signature entry as reported: its bytes are kept only for the one that is verified. */
export type SignatureName = Omit<SignatureEntry, 'signature'>;

/** Options of {@link readApk}. */
export interface ReadApkOptions {
  /** Name of the package file or URL, used in every error message. */
  name?: string;
  /** Trusted keys by key name; the first signature entry with a trusted key name is verified. */
  keyring?: Keyring;
  /** Accept a package without a signature from a trusted key (a bad trusted signature still fails). */
  allowUntrusted?: boolean;
  /** Identity (index `C:`, Q1) the control member must have; when it matches, no signature is required. */
  expectedIdentity?: string;
  /** File size (index `S:`) the package must have; reading stops as soon as the input is longer. */
  expectedSize?: number;
  /** Refuse data entries whose parent directory has no entry earlier in the package (apk: "no dirent in archive"). Default true. */
  requireParentDirectories?: boolean;
  limits?: Partial<ApkReadLimits>;
}

/** What a signature entry said and whether it was checked. */
export interface ApkSignatureInfo {
  algorithm: string;
  keyName: string;
  /** The signature made with a trusted key that was verified (apk checks only the first such entry). */
  verified: boolean;
  /** Whether the key name is in the keyring. */
  trusted: boolean;
}

/** Why the package's control section is trusted. */
export type ApkTrust = 'signature' | 'identity' | 'untrusted';

/** The control section of a package, available before any data entry. */
export interface ApkControl {
  pkginfo: PkgInfo;
  /** `.PKGINFO` exactly as stored. */
  pkginfoText: string;
  /** Q1 of SHA-1 of the control member: the package identity (index `C:`). */
  identity: string;
  /** Hex SHA-1 of the control member. */
  identitySha1: string;
  signatures: ApkSignatureInfo[];
  trust: ApkTrust;
  /** Key name of the verified signature. */
  signedBy?: string;
  /** Control scripts by name (without dot). */
  scripts: Map<ScriptName, Buffer>;
  /** Other control entries (e.g. `.melange.yaml`): name and size; apk ignores them. */
  otherControlFiles: Array<{ name: string; size: number }>;
  /** Byte offsets in the file: where the control member starts and where the data member starts. */
  controlOffset: number;
  dataOffset: number;
}

/** One data-section entry as apk would install it. */
export interface ApkEntry {
  /** Normalised relative path, no leading or trailing slash. */
  path: string;
  type: TarEntryType;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Content size (regular files; 0 otherwise). */
  size: number;
  mtime: number;
  /** Symlink target (verbatim) or hard-link target (normalised path of an earlier file). */
  linkTarget?: string;
  devMajor: number;
  devMinor: number;
  xattrs: Map<string, Buffer>;
  /**
   * SHA-1 hex: of the content (files), of the target string (symlinks), of the target file (hard
   * links). From the PAX checksum when present (and verified), otherwise computed.
   */
  sha1?: string;
  /** Whether the package carried an APK-TOOLS.checksum.SHA1 record for it. */
  hasChecksumRecord: boolean;
}

/** Items yielded by {@link readApk}, in order: one `control`, the `entry`s, one `end`. */
export type ApkItem =
  | { kind: 'control'; control: ApkControl }
  | {
      kind: 'entry';
      entry: ApkEntry;
      /** Content of a regular file; read it before asking for the next item (or it is skipped). */
      content?: AsyncIterable<Buffer>;
    }
  | { kind: 'end'; end: ApkEnd };

/** Totals and final checks, yielded after the data member has been read and verified. */
export interface ApkEnd {
  /** SHA-256 hex of the data member (equals `.PKGINFO` datahash; checked). */
  datahash: string;
  /** Whether `.PKGINFO` had a datahash (legacy packages do not; their signature covers the data instead). */
  hadDatahash: boolean;
  /** Total bytes read: the .apk file size. */
  fileSize: number;
  entryCount: number;
  /** Data entries apk skips because their name starts with a dot. */
  skipped: string[];
  /** Decompressed size of the data member. */
  dataSize: number;
}

/** Hashes of compressed member bytes, set up before the member starts. */
interface MemberHashes {
  sha1?: Hash;
  sha256?: Hash;
  verifier?: Verify;
}

function memberSink(hashes: MemberHashes) {
  return (bytes: Buffer): void => {
    hashes.sha1?.update(bytes);
    hashes.sha256?.update(bytes);
    hashes.verifier?.update(bytes);
  };
}

type Fault = (code: 'APK_PACKAGE_INVALID' | 'APK_LIMIT_EXCEEDED', message: string, detail?: Record<string, unknown>) => ApkError;

/** What every phase of one package's read needs: its name for messages, limits, options. */
interface ReadContext {
  name: string;
  limits: ApkReadLimits;
  options: ReadApkOptions;
  fault: Fault;
}

/** The control member's first tar entry, reached after the signature members. */
interface ControlStart {
  member: GzipMember;
  tar: TarMemberReader;
  hashes: MemberHashes;
  first: TarHeader;
}

/** Signature members (only .SIGN entries, no end blocks) up to the control member; the first
 *  verifiable signature by a trusted key is chosen and its verifier hashes the control member. */
async function readSignatureMembers(gzip: GzipMemberReader, ctx: ReadContext): Promise<{ signatures: SignatureName[]; chosen: SignatureEntry | undefined; control: ControlStart }> {
  const { limits, fault, name } = ctx;
  const signatures: SignatureName[] = [];
  let signatureBytes = 0;
  let chosen: SignatureEntry | undefined;
  for (;;) {
    const hashes: MemberHashes = { sha1: createHash('sha1') };
    if (chosen) hashes.verifier = createSignatureVerifier(chosen);
    const member = await gzip.next(memberSink(hashes), Math.max(limits.maxSignatureMemberSize, limits.maxControlSize));
    if (!member) throw fault('APK_PACKAGE_INVALID', signatures.length ? 'no control member after the signature' : 'empty file');
    const tar = new TarMemberReader(member, name);
    const step = await tar.next();
    if (step.kind !== 'entry') throw fault('APK_PACKAGE_INVALID', `gzip member ${member.index} holds no tar entry`);
    if (!step.header.name.startsWith('.SIGN.')) return { signatures, chosen, control: { member, tar, hashes, first: step.header } };
    let header: TarHeader | undefined = step.header;
    while (header) {
      const parsed = parseSignatureName(header.name);
      if (!parsed) throw fault('APK_PACKAGE_INVALID', `signature member ${member.index} also holds ${JSON.stringify(header.name)}; the control section must start a new gzip member`);
      if (header.type !== 'file') throw fault('APK_PACKAGE_INVALID', `signature entry ${header.name} is not a regular file`);
      if (header.size > SIGNATURE_LIMIT) throw fault('APK_LIMIT_EXCEEDED', `signature entry ${header.name} is ${header.size} bytes (limit ${SIGNATURE_LIMIT})`);
      if (signatures.length === SIGNATURE_ENTRY_LIMIT) throw fault('APK_LIMIT_EXCEEDED', `more than ${SIGNATURE_ENTRY_LIMIT} signature entries (apk-tools verifies only one)`);
      signatureBytes += header.size;
      if (signatureBytes > SIGNATURE_BYTES_LIMIT) throw fault('APK_LIMIT_EXCEEDED', `signature entries hold more than ${SIGNATURE_BYTES_LIMIT} bytes together`);
      const entry: SignatureEntry = { entryName: header.name, ...parsed, signature: await tar.content(header.size, header.name) };
      chosen ??= chooseSignature([entry], ctx.options.keyring);
      // Only the chosen signature's bytes are verified; the others are reported by name.
      signatures.push(entry === chosen ? entry : { entryName: entry.entryName, algorithm: entry.algorithm, keyName: entry.keyName });
      const next = await tar.next();
      if (next.kind === 'end-of-archive') throw fault('APK_PACKAGE_INVALID', `end-of-archive blocks inside signature member ${member.index} (apk would stop reading there)`);
      header = next.kind === 'entry' ? next.header : undefined;
    }
    if (member.info!.size > limits.maxSignatureMemberSize) throw fault('APK_LIMIT_EXCEEDED', `signature member ${member.index} inflates to ${member.info!.size} bytes`);
  }
}

/** The control member's entries: .PKGINFO, the scripts, and any other dot files (sizes only). */
async function readControlEntries(control: ControlStart, ctx: ReadContext): Promise<{ pkginfoText: string; scripts: Map<ScriptName, Buffer>; otherControlFiles: Array<{ name: string; size: number }> }> {
  const { limits, fault } = ctx;
  const controlTar = control.tar;
  let pkginfoText: string | undefined;
  const scripts = new Map<ScriptName, Buffer>();
  const otherControlFiles: Array<{ name: string; size: number }> = [];
  let header: TarHeader | undefined = control.first;
  while (header) {
    const entryName = header.name;
    if (!entryName.startsWith('.')) {
      throw fault('APK_PACKAGE_INVALID', `data entry ${JSON.stringify(entryName)} inside the control member; the data section must start a new gzip member`);
    }
    if (entryName.includes('/')) throw fault('APK_PACKAGE_INVALID', `control entry ${JSON.stringify(entryName)} is not at the top level`);
    if (entryName.startsWith('.SIGN.')) throw fault('APK_PACKAGE_INVALID', `signature entry ${entryName} inside the control member`);
    if (entryName === '.INSTALL') throw fault('APK_PACKAGE_INVALID', 'APKv1 .INSTALL script is not supported');
    if (header.type !== 'file') throw fault('APK_PACKAGE_INVALID', `control entry ${entryName} is not a regular file`);
    const script = entryName.slice(1) as ScriptName;
    if (entryName === '.PKGINFO') {
      if (pkginfoText !== undefined) throw fault('APK_PACKAGE_INVALID', 'two .PKGINFO entries');
      if (header.size > limits.maxPkgInfoSize) throw fault('APK_LIMIT_EXCEEDED', `.PKGINFO is ${header.size} bytes (limit ${limits.maxPkgInfoSize})`);
      pkginfoText = (await controlTar.content(header.size, '.PKGINFO')).toString('utf8');
    } else if ((SCRIPT_NAMES as readonly string[]).includes(script)) {
      if (scripts.has(script)) throw fault('APK_PACKAGE_INVALID', `two ${entryName} scripts`);
      if (header.size > limits.maxScriptSize) throw fault('APK_LIMIT_EXCEEDED', `script ${entryName} is ${header.size} bytes (limit ${limits.maxScriptSize})`);
      scripts.set(script, await controlTar.content(header.size, entryName));
    } else {
      if (controlTar.position + header.size > limits.maxControlSize) throw fault('APK_LIMIT_EXCEEDED', `control member exceeds ${limits.maxControlSize} bytes`);
      await controlTar.discard(Math.ceil(header.size / 512) * 512, entryName);
      otherControlFiles.push({ name: entryName, size: header.size });
    }
    const next = await controlTar.next();
    if (next.kind === 'end-of-archive') throw fault('APK_PACKAGE_INVALID', 'end-of-archive blocks inside the control member (apk would stop reading there)');
    header = next.kind === 'entry' ? next.header : undefined;
  }
  if (control.member.info!.size > limits.maxControlSize) throw fault('APK_LIMIT_EXCEEDED', `control member inflates to ${control.member.info!.size} bytes`);
  if (pkginfoText === undefined) throw fault('APK_PACKAGE_INVALID', 'no .PKGINFO in the control member');
  return { pkginfoText, scripts, otherControlFiles };
}

/** The trust decision, made before any data entry is released: the expected identity, the chosen
 *  signature over the control member, or (legacy packages without datahash) a signature over control
 *  and data that is checked at the end. */
function decideTrust(
  ctx: ReadContext, signatures: readonly SignatureName[], chosen: SignatureEntry | undefined, controlHashes: MemberHashes, identityDigest: Buffer, pkginfo: PkgInfo,
): { signatureInfo: ApkSignatureInfo[]; trust: ApkTrust; signedBy?: string; legacyVerifier?: Verify } {
  const { name, options } = ctx;
  const identity = encodeQ1(identityDigest);
  const signatureInfo: ApkSignatureInfo[] = signatures.map((entry) => ({
    algorithm: entry.algorithm,
    keyName: entry.keyName,
    verified: false,
    trusted: options.keyring?.has(entry.keyName) ?? false,
  }));
  let trust: ApkTrust = 'untrusted';
  let signedBy: string | undefined;
  let legacyVerifier: Verify | undefined;
  if (options.expectedIdentity !== undefined) {
    if (!decodeQ1(options.expectedIdentity, `${name}: expected identity`).equals(identityDigest)) {
      throw new ApkError('APK_IDENTITY_MISMATCH', `${name}: identity ${identity} does not match the expected ${options.expectedIdentity}`, {
        detail: { file: name, identity, expected: options.expectedIdentity },
      });
    }
    trust = 'identity';
  }
  if (chosen) {
    const key = options.keyring!.get(chosen.keyName)!;
    if (pkginfo.datahash !== undefined) {
      if (!controlHashes.verifier!.verify(key, chosen.signature)) {
        throw new ApkError('APK_SIGNATURE_INVALID', `${name}: signature ${chosen.entryName} does not verify with trusted key ${chosen.keyName}`, {
          detail: { file: name, key: chosen.keyName, algorithm: chosen.algorithm },
        });
      }
      signatureInfo[signatures.indexOf(chosen)]!.verified = true;
      trust = 'signature';
      signedBy = chosen.keyName;
    } else {
      legacyVerifier = controlHashes.verifier;
    }
  }
  if (trust === 'untrusted' && !legacyVerifier && !options.allowUntrusted) {
    const names = signatures.map((entry) => entry.keyName);
    throw new ApkError('APK_UNTRUSTED', `${name}: ${names.length ? `signed by ${names.join(', ')}, none of which is in the keyring` : 'package is not signed'}`, {
      detail: { file: name, keys: names },
    });
  }
  return { signatureInfo, trust, ...(signedBy !== undefined ? { signedBy } : {}), ...(legacyVerifier ? { legacyVerifier } : {}) };
}

/** A data entry's metadata, its path checked (safe, parents present, not repeated) and its link
 *  resolved: a symlink's target hashed as apk does, a hard link only to an earlier regular file. */
function dataEntry(raw: TarHeader, seen: Map<string, ApkEntry>, requireParents: boolean, ctx: ReadContext): ApkEntry {
  const { name, fault } = ctx;
  if (raw.name.endsWith('/') && raw.type !== 'directory') {
    throw new ApkError('APK_PATH_UNSAFE', `${name}: ${raw.type} entry ${JSON.stringify(raw.name)} has a directory-style name`, { detail: { file: name, entry: raw.name } });
  }
  const path = safeEntryPath(raw.name, name);
  checkParents(path, seen, requireParents, name);
  const previous = seen.get(path);
  if (previous && !(previous.type === 'directory' && raw.type === 'directory')) {
    throw fault('APK_PACKAGE_INVALID', `entry ${JSON.stringify(path)} appears twice`, { entry: path });
  }
  const entry: ApkEntry = {
    path, type: raw.type, mode: raw.mode, uid: raw.uid, gid: raw.gid, uname: raw.uname, gname: raw.gname, size: raw.size,
    mtime: raw.mtime, devMajor: raw.devMajor, devMinor: raw.devMinor, xattrs: raw.xattrs, hasChecksumRecord: raw.checksumSha1 !== undefined,
  };
  if (raw.type === 'symlink') {
    if (raw.linkName === '') throw fault('APK_PACKAGE_INVALID', `symlink ${JSON.stringify(path)} has an empty target`, { entry: path });
    entry.linkTarget = raw.linkName;
    const digest = createHash('sha1').update(raw.linkName).digest('hex');
    if (raw.checksumSha1 !== undefined && raw.checksumSha1 !== digest) throw checksumMismatch(name, path, raw.checksumSha1, digest);
    entry.sha1 = digest;
  } else if (raw.type === 'hardlink') {
    const target = safeEntryPath(raw.linkName, `${name}: hard link ${path}`);
    const targetEntry = seen.get(target);
    if (!targetEntry || targetEntry.type !== 'file') {
      throw new ApkError('APK_PATH_UNSAFE', `${name}: hard link ${JSON.stringify(path)} points to ${JSON.stringify(raw.linkName)}, which is not an earlier regular file of this package`, {
        detail: { file: name, entry: path, target: raw.linkName },
      });
    }
    entry.linkTarget = target;
    if (targetEntry.sha1 !== undefined) entry.sha1 = targetEntry.sha1;
  }
  seen.set(path, entry);
  return entry;
}

/** A regular file's content, streamed through a SHA-1 check against its checksum record; `finish`
 *  drains what the consumer did not read and the tar padding, and ends the stream's validity. */
function fileContent(tar: TarMemberReader, raw: TarHeader, entry: ApkEntry, name: string): { content: AsyncIterable<Buffer>; finish: () => Promise<void> } {
  const path = entry.path;
  const hash = createHash('sha1');
  let remaining = raw.size;
  let active = true;
  const pull = async (): Promise<Buffer | null> => {
    if (remaining === 0) return null;
    const chunk = await tar.readSome(Math.min(remaining, 1 << 16));
    if (!chunk) throw new ApkError('APK_TAR_INVALID', `${name}: ${JSON.stringify(path)} is cut off at the end of the data member`, { detail: { file: name, entry: path } });
    remaining -= chunk.length;
    hash.update(chunk);
    if (remaining === 0) {
      const digest = hash.digest('hex');
      if (raw.checksumSha1 !== undefined && raw.checksumSha1 !== digest) throw checksumMismatch(name, path, raw.checksumSha1, digest);
      entry.sha1 = digest;
    }
    return chunk;
  };
  if (raw.size === 0) entry.sha1 = hash.copy().digest('hex');
  if (raw.checksumSha1 !== undefined) {
    if (raw.size === 0 && raw.checksumSha1 !== entry.sha1) throw checksumMismatch(name, path, raw.checksumSha1, entry.sha1!);
    entry.sha1 = raw.checksumSha1;
  }
  const content: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Buffer>> => {
        if (!active) throw new Error(`content of ${path} read after moving on to the next entry`);
        const chunk = await pull();
        return chunk ? { value: chunk, done: false } : { value: undefined, done: true };
      },
    }),
  };
  const finish = async (): Promise<void> => {
    active = false;
    while ((await pull()) !== null);
    await tar.discard(Math.ceil(raw.size / 512) * 512 - raw.size, path);
  };
  return { content, finish };
}

/**
 * Reads a v2 .apk as a stream: control information first (after the signature has been verified),
 * then the data entries with their content streams, then an `end` item once the data member has
 * been hashed and checked against `datahash`. Never holds more than one chunk of file content.
 *
 * Trust: control fields are trustworthy when the `control` item arrives. Data entries are only
 * trustworthy once the `end` item has arrived — a consumer writing them out must discard its output
 * if the iteration throws.
 */
export async function* readApk(source: AsyncIterable<Uint8Array>, options: ReadApkOptions = {}): AsyncGenerator<ApkItem, void, undefined> {
  const name = options.name ?? 'package';
  const limits = { ...DEFAULT_APK_LIMITS, ...options.limits };
  const requireParents = options.requireParentDirectories ?? true;
  const gzip = new GzipMemberReader(options.expectedSize === undefined ? source : limitSize(source, options.expectedSize, name), name);
  const fault: Fault = (code, message, detail = {}) => new ApkError(code, `${name}: ${message}`, { detail: { file: name, ...detail } });
  const ctx: ReadContext = { name, limits, options, fault };
  try {
    const { signatures, chosen, control } = await readSignatureMembers(gzip, ctx);
    const { pkginfoText, scripts, otherControlFiles } = await readControlEntries(control, ctx);
    const pkginfo = parsePkgInfo(pkginfoText, `${name}: .PKGINFO`);
    const identityDigest = control.hashes.sha1!.digest();
    const { signatureInfo, trust, signedBy, legacyVerifier } = decideTrust(ctx, signatures, chosen, control.hashes, identityDigest, pkginfo);

    // ---- data member
    const dataHashes: MemberHashes = { sha256: createHash('sha256') };
    if (legacyVerifier) dataHashes.verifier = legacyVerifier;
    const dataMember = await gzip.next(memberSink(dataHashes), limits.maxDataSize);
    if (!dataMember) throw fault('APK_PACKAGE_INVALID', 'no data member after the control member');
    const controlInfo: ApkControl = {
      pkginfo, pkginfoText, identity: encodeQ1(identityDigest), identitySha1: identityDigest.toString('hex'), signatures: signatureInfo, trust, scripts, otherControlFiles,
      controlOffset: control.member.offset, dataOffset: dataMember.offset,
    };
    if (signedBy !== undefined) controlInfo.signedBy = signedBy;
    yield { kind: 'control', control: controlInfo };

    const tar = new TarMemberReader(dataMember, name);
    const seen = new Map<string, ApkEntry>();
    const skipped: string[] = [];
    let entryCount = 0;
    let endOfArchive = false;
    for (;;) {
      const step = await tar.next();
      if (step.kind === 'member-end') break;
      if (step.kind === 'end-of-archive') {
        await tar.finishArchive();
        endOfArchive = true;
        break;
      }
      const raw = step.header;
      if (++entryCount > limits.maxEntries) throw fault('APK_LIMIT_EXCEEDED', `more than ${limits.maxEntries} data entries`);
      if (isSkippedDataName(raw.name)) {
        // apk silently skips dot-leading names; drain their content without exposing it. A name that
        // climbs out of the root ("../x") is still refused: it can only be an attack.
        if (raw.name.split('/').includes('..') || [...raw.name].some((char) => char < ' ' || char === '\x7f')) {
          safeEntryPath(raw.name.replace(/^(\.\/)+/, ''), name);
        }
        skipped.push(raw.name);
        await tar.discard(Math.ceil(raw.size / 512) * 512, raw.name);
        continue;
      }
      const entry = dataEntry(raw, seen, requireParents, ctx);
      if (raw.type !== 'file') {
        yield { kind: 'entry', entry };
        continue;
      }
      // Regular file: content streamed through a SHA-1 check; skipped if the consumer does not read it.
      const { content, finish } = fileContent(tar, raw, entry, name);
      yield { kind: 'entry', entry, content };
      await finish();
    }
    if (!endOfArchive) throw fault('APK_PACKAGE_INVALID', 'data member has no end-of-archive blocks');
    // finishArchive read the member to its end; the trailer has been checked.
    if (await gzip.next()) throw fault('APK_PACKAGE_INVALID', 'extra gzip member after the data member');
    const datahash = dataHashes.sha256!.digest('hex');
    if (pkginfo.datahash !== undefined && pkginfo.datahash !== datahash) {
      throw new ApkError('APK_DATAHASH_MISMATCH', `${name}: data member hashes to ${datahash}, .PKGINFO says datahash ${pkginfo.datahash}`, {
        detail: { file: name, expected: pkginfo.datahash, actual: datahash },
      });
    }
    if (legacyVerifier && chosen) {
      if (!legacyVerifier.verify(options.keyring!.get(chosen.keyName)!, chosen.signature)) {
        throw new ApkError('APK_SIGNATURE_INVALID', `${name}: signature ${chosen.entryName} (over control and data, no datahash) does not verify with trusted key ${chosen.keyName}`, {
          detail: { file: name, key: chosen.keyName },
        });
      }
      signatureInfo[signatures.indexOf(chosen)]!.verified = true;
      // The control item was yielded as untrusted; the object is shared, so summaries see the outcome.
      controlInfo.trust = 'signature';
      controlInfo.signedBy = chosen.keyName;
    }
    yield {
      kind: 'end',
      end: { datahash, hadDatahash: pkginfo.datahash !== undefined, fileSize: gzip.offset, entryCount, skipped, dataSize: dataMember.info!.size },
    };
  } finally {
    await gzip.close();
  }
}

/** Passes input through, failing as soon as it is longer than `size` bytes, or at its end when shorter. */
async function* limitSize(source: AsyncIterable<Uint8Array>, size: number, name: string): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > size) throw new KilnError('SIZE_MISMATCH', `${name}: longer than the expected ${size} bytes`, { detail: { file: name, expected: size } });
    yield chunk;
  }
  if (seen !== size) throw new KilnError('SIZE_MISMATCH', `${name}: ${seen} bytes, expected ${size}`, { detail: { file: name, expected: size, actual: seen } });
}

function checksumMismatch(name: string, path: string, expected: string, actual: string): ApkError {
  return new ApkError('APK_CHECKSUM_MISMATCH', `${name}: ${JSON.stringify(path)} has SHA-1 ${actual}, its APK-TOOLS.checksum.SHA1 says ${expected}`, {
    detail: { file: name, entry: path, expected, actual },
  });
}

/** Parents must be directories of this package (never symlinks or files: that would let an entry escape through a link). */
function checkParents(path: string, seen: ReadonlyMap<string, ApkEntry>, requireParents: boolean, name: string): void {
  for (let parent = parentPath(path); parent !== ''; parent = parentPath(parent)) {
    const entry = seen.get(parent);
    if (entry && entry.type !== 'directory') {
      throw new ApkError('APK_PATH_UNSAFE', `${name}: entry ${JSON.stringify(path)} lies below ${JSON.stringify(parent)}, which is a ${entry.type}, not a directory`, {
        detail: { file: name, entry: path, parent },
      });
    }
    if (!entry && requireParents) {
      throw new ApkError('APK_PACKAGE_INVALID', `${name}: entry ${JSON.stringify(path)} comes before (or without) a directory entry for ${JSON.stringify(parent)}`, {
        detail: { file: name, entry: path, parent },
      });
    }
    if (entry) return; // ancestors of a seen directory were checked when it was added
  }
}

/** Everything {@link readApk} reports, without file contents. */
export interface ApkSummary {
  control: ApkControl;
  entries: ApkEntry[];
  end: ApkEnd;
}

/** Reads a whole package (skipping file contents) and returns what it found, fully verified. */
export async function summarizeApk(source: AsyncIterable<Uint8Array>, options: ReadApkOptions = {}): Promise<ApkSummary> {
  let control: ApkControl | undefined;
  const entries: ApkEntry[] = [];
  for await (const item of readApk(source, options)) {
    if (item.kind === 'control') control = item.control;
    else if (item.kind === 'entry') entries.push(item.entry);
    else return { control: control!, entries, end: item.end };
  }
  throw new Error('readApk ended without an end item');
}
