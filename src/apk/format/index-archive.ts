import { createHash } from 'node:crypto';
import type { KeyObject, Verify } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ApkError } from '../errors.ts';
import { compareVersions } from '../version.ts';
import type { ApkSignatureInfo, ApkTrust, SignatureName } from './apk-reader.ts';
import { GzipMemberReader } from './gzip-members.ts';
import { formatRecords, parseRecords } from './record.ts';
import type { PackageRecord } from './record.ts';
import { chooseSignature, createSignatureVerifier, parseSignatureName, SIGNATURE_BYTES_LIMIT, SIGNATURE_ENTRY_LIMIT, SIGNATURE_LIMIT, signatureMember } from './signature.ts';
import type { Keyring, SignatureAlgorithm, SignatureEntry } from './signature.ts';
import { BLOCK, encodeHeader, padding } from './tar.ts';
import { TarMemberReader } from './tar-member.ts';
import type { TarHeader } from './tar.ts';

/** Options of {@link readIndex}. */
export interface ReadIndexOptions {
  /** File name or URL for messages. */
  name?: string;
  keyring?: Keyring;
  /** Accept an index without a signature from a trusted key (a bad trusted signature still fails). */
  allowUntrusted?: boolean;
  /**
   * Record-parsing mode for test data and tools: dot entries inside the index tar (which apk-tools
   * rejects) are skipped instead of refused; implies allowUntrusted.
   */
  lenient?: boolean;
  /** Largest decompressed index member (default 300 MiB, apko's cap). */
  maxSize?: number;
}

/** A parsed repository index. */
export interface ApkIndex {
  records: PackageRecord[];
  /** `DESCRIPTION` content, if the index has one. */
  description?: string;
  /** `APKINDEX` text exactly as stored. */
  text: string;
  signatures: ApkSignatureInfo[];
  trust: ApkTrust;
  signedBy?: string;
  /** Entries skipped in lenient mode. */
  skipped: string[];
  /** What this read established, for {@link recheckIndex}. */
  check: IndexCheck;
}

const DESCRIPTION_LIMIT = 4096;
export const DEFAULT_INDEX_LIMIT = 300 * 1024 * 1024;

/**
 * Reads an APKINDEX.tar.gz: signature member(s), then the index member whose bytes are verified
 * with the first signature made by a trusted key (apk-tools' rule), then `DESCRIPTION` and
 * `APKINDEX`. Unknown upper-case record fields are refused (apk cannot install such packages).
 */
export async function readIndex(source: AsyncIterable<Uint8Array>, options: ReadIndexOptions = {}): Promise<ApkIndex> {
  return (await readIndexArchive(source, options, true)) as ApkIndex;
}

/** What {@link verifyIndex} finds: an index's signatures and trust, without its records. */
export type VerifiedIndexArchive = Omit<ApkIndex, 'records' | 'text'>;

/**
 * What reading an index established about its bytes, so that the very same bytes can be checked
 * against a keyring again without decompressing them (see {@link recheckIndex}): everything but the
 * signature is a function of the bytes alone, and the signature is verified afresh.
 */
export interface IndexCheck {
  /** Offset of the index member: the signature covers the bytes from here to the end of the file. */
  signedFrom: number;
  /** The signature entries in file order, with the bytes (base64) of the one that was verified. */
  signatures: Array<{ entryName: string; algorithm: string; keyName: string; signature?: string }>;
  description?: string;
  skipped: string[];
}

/** A check read back from storage has the shape a read gives (anything else is not used). */
function isIndexCheck(value: unknown): value is IndexCheck {
  const check = value as IndexCheck | null;
  const isString = (item: unknown): item is string => typeof item === 'string';
  return (
    typeof check === 'object' && check !== null && Number.isSafeInteger(check.signedFrom) && Array.isArray(check.skipped) && check.skipped.every(isString) &&
    (check.description === undefined || isString(check.description)) && Array.isArray(check.signatures) &&
    check.signatures.every((entry) => isString(entry?.entryName) && isString(entry.algorithm) && isString(entry.keyName) && (entry.signature === undefined || isString(entry.signature)))
  );
}

/**
 * Checks index bytes that were read in full before (by {@link readIndex} or {@link verifyIndex},
 * which gave `check`) against today's keyring: apk's rule picks the signature, whose bytes are
 * verified again over the index member. Returns undefined when that cannot decide the same way a
 * full read would (another signature would be chosen, one whose bytes were not kept, a signature
 * that fails, an untrusted index not allowed): the caller then reads the index in full, which
 * gives the precise error. The caller must know that `bytes` are the bytes `check` came from.
 */
export function recheckIndex(bytes: Uint8Array, check: IndexCheck, options: ReadIndexOptions = {}): VerifiedIndexArchive | undefined {
  // A size limit is checked while decompressing: leave it to a full read.
  if (options.lenient || options.maxSize !== undefined || !isIndexCheck(check) || check.signedFrom < 0 || check.signedFrom >= bytes.length) return undefined;
  const entries: SignatureEntry[] = check.signatures.map((entry) => ({
    entryName: entry.entryName, algorithm: entry.algorithm, keyName: entry.keyName, signature: Buffer.from(entry.signature ?? '', 'base64'),
  }));
  const chosen = chooseSignature(entries, options.keyring);
  if (chosen) {
    const kept = check.signatures[entries.indexOf(chosen)]!.signature;
    if (kept === undefined || check.signedFrom === 0) return undefined;
    const verifier = createSignatureVerifier(chosen);
    verifier.update(bytes.subarray(check.signedFrom));
    if (!verifier.verify(options.keyring!.get(chosen.keyName)!, chosen.signature)) return undefined;
  } else if (!options.allowUntrusted) {
    return undefined;
  }
  return verifiedArchive(check, chosen ? entries.indexOf(chosen) : -1, options.keyring);
}

/** What a read or a recheck reports once the signature at `chosenAt` verified (-1: none, the index
 *  accepted untrusted). */
function verifiedArchive(check: IndexCheck, chosenAt: number, keyring: Keyring | undefined): VerifiedIndexArchive {
  const index: VerifiedIndexArchive = {
    signatures: check.signatures.map((entry, at) => ({ algorithm: entry.algorithm, keyName: entry.keyName, verified: at === chosenAt, trusted: keyring?.has(entry.keyName) ?? false })),
    trust: chosenAt >= 0 ? 'signature' : 'untrusted',
    skipped: check.skipped,
    check,
  };
  if (check.description !== undefined) index.description = check.description;
  if (chosenAt >= 0) index.signedBy = check.signatures[chosenAt]!.keyName;
  return index;
}

/**
 * Checks an APKINDEX.tar.gz exactly as {@link readIndex} does (structure, signature, trust) but
 * skips the records: for callers that already hold what the records of these very bytes give.
 */
export async function verifyIndex(source: AsyncIterable<Uint8Array>, options: ReadIndexOptions = {}): Promise<VerifiedIndexArchive> {
  return readIndexArchive(source, options, false);
}

async function readIndexArchive(source: AsyncIterable<Uint8Array>, options: ReadIndexOptions, withRecords: boolean): Promise<ApkIndex | VerifiedIndexArchive> {
  const name = options.name ?? 'APKINDEX.tar.gz';
  const maxSize = options.maxSize ?? DEFAULT_INDEX_LIMIT;
  const gzip = new GzipMemberReader(source, name);
  const fault = (message: string, code: 'APK_INDEX_INVALID' | 'APK_LIMIT_EXCEEDED' = 'APK_INDEX_INVALID'): ApkError =>
    new ApkError(code, `${name}: ${message}`, { detail: { file: name } });
  try {
    const signatures: SignatureName[] = [];
    let signatureBytes = 0;
    let chosen: SignatureEntry | undefined;
    let verifier: Verify | undefined;
    let tar: TarMemberReader;
    let first: TarHeader;
    let memberStart = 0;
    for (;;) {
      verifier = chosen ? createSignatureVerifier(chosen) : undefined;
      const sink = verifier ? (bytes: Buffer) => verifier!.update(bytes) : undefined;
      memberStart = gzip.offset;
      const member = await gzip.next(sink, maxSize);
      if (!member) throw fault(signatures.length ? 'no index after the signature' : 'empty file');
      tar = new TarMemberReader(member, name);
      const step = await tar.next();
      if (step.kind !== 'entry') throw fault(`gzip member ${member.index} holds no tar entry`);
      if (!step.header.name.startsWith('.SIGN.')) {
        first = step.header;
        break;
      }
      let header: TarHeader | undefined = step.header;
      while (header) {
        const parsed = parseSignatureName(header.name);
        if (!parsed) throw fault(`signature member ${member.index} also holds ${JSON.stringify(header.name)}`);
        if (header.type !== 'file') throw fault(`signature entry ${header.name} is not a regular file`);
        if (header.size > SIGNATURE_LIMIT) throw fault(`signature entry ${header.name} is ${header.size} bytes (limit ${SIGNATURE_LIMIT})`, 'APK_LIMIT_EXCEEDED');
        if (signatures.length === SIGNATURE_ENTRY_LIMIT) throw fault(`more than ${SIGNATURE_ENTRY_LIMIT} signature entries (apk-tools verifies only one)`, 'APK_LIMIT_EXCEEDED');
        signatureBytes += header.size;
        if (signatureBytes > SIGNATURE_BYTES_LIMIT) throw fault(`signature entries hold more than ${SIGNATURE_BYTES_LIMIT} bytes together`, 'APK_LIMIT_EXCEEDED');
        const entry: SignatureEntry = { entryName: header.name, ...parsed, signature: await tar.content(header.size, header.name) };
        chosen ??= chooseSignature([entry], options.keyring);
        // Only the chosen signature's bytes are verified; the others are reported by name.
        signatures.push(entry === chosen ? entry : { entryName: entry.entryName, algorithm: entry.algorithm, keyName: entry.keyName });
        const next = await tar.next();
        if (next.kind === 'end-of-archive') throw fault(`end-of-archive blocks inside signature member ${member.index}`);
        header = next.kind === 'entry' ? next.header : undefined;
      }
    }

    let description: string | undefined;
    let text: string | undefined;
    const skipped: string[] = [];
    let header: TarHeader | undefined = first;
    let ended = false;
    while (header) {
      if (header.name.startsWith('.')) {
        if (!options.lenient) {
          throw fault(`entry ${JSON.stringify(header.name)} inside the index tar (apk-tools refuses dot entries there; a signature belongs in its own gzip member before the index)`);
        }
        skipped.push(header.name);
        await tar.discard(Math.ceil(header.size / BLOCK) * BLOCK, header.name);
      } else if (header.name === 'APKINDEX' || header.name === 'DESCRIPTION') {
        if (header.type !== 'file') throw fault(`${header.name} is not a regular file`);
        if ((header.name === 'APKINDEX' ? text : description) !== undefined) throw fault(`two ${header.name} entries`);
        if (header.name === 'DESCRIPTION' && header.size > DESCRIPTION_LIMIT) throw fault(`DESCRIPTION is ${header.size} bytes (limit ${DESCRIPTION_LIMIT})`, 'APK_LIMIT_EXCEEDED');
        if (header.name === 'APKINDEX' && !withRecords) {
          await tar.discard(Math.ceil(header.size / BLOCK) * BLOCK, header.name);
          text = '';
        } else {
          const content = (await tar.content(header.size, header.name)).toString('utf8');
          if (header.name === 'APKINDEX') text = content;
          else description = content;
        }
      } else {
        await tar.discard(Math.ceil(header.size / BLOCK) * BLOCK, header.name);
      }
      const next = await tar.next();
      if (next.kind === 'end-of-archive') {
        await tar.finishArchive();
        ended = true;
        break;
      }
      header = next.kind === 'entry' ? next.header : undefined;
    }
    if (!ended) throw fault('index tar has no end-of-archive blocks');
    if (await gzip.next()) throw fault('extra gzip member after the index');
    if (text === undefined) throw fault('no APKINDEX entry');

    if (chosen) {
      if (!verifier!.verify(options.keyring!.get(chosen.keyName)!, chosen.signature)) {
        throw new ApkError('APK_SIGNATURE_INVALID', `${name}: signature ${chosen.entryName} does not verify with trusted key ${chosen.keyName}`, {
          detail: { file: name, key: chosen.keyName },
        });
      }
    } else if (!options.allowUntrusted && !options.lenient) {
      const names = signatures.map((entry) => entry.keyName);
      throw new ApkError('APK_UNTRUSTED', `${name}: ${names.length ? `signed by ${names.join(', ')}, none of which is in the keyring` : 'index is not signed'}`, {
        detail: { file: name, keys: names },
      });
    }
    const check: IndexCheck = {
      signedFrom: memberStart,
      signatures: signatures.map((entry) => ({
        entryName: entry.entryName, algorithm: entry.algorithm, keyName: entry.keyName, ...(entry === chosen ? { signature: chosen.signature.toString('base64') } : {}),
      })),
      ...(description !== undefined ? { description } : {}),
      skipped,
    };
    const index = verifiedArchive(check, chosen ? signatures.indexOf(chosen) : -1, options.keyring);
    if (!withRecords) return index;
    return { ...index, records: parseRecords(text, { source: `${name}: APKINDEX` }), text };
  } finally {
    await gzip.close();
  }
}

/** apk index order: name case-insensitively, then exactly, then version (oldest first). */
export function compareIndexRecords(a: PackageRecord, b: PackageRecord): number {
  const left = a.name.toLowerCase();
  const right = b.name.toLowerCase();
  if (left !== right) return left < right ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const byVersion = compareVersions(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  return a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0;
}

/** Options of {@link buildIndex}. */
export interface BuildIndexOptions {
  description?: string;
  signer?: { privateKey: KeyObject; keyName: string; algorithm?: SignatureAlgorithm };
  /** mtime of the tar entries (SOURCE_DATE_EPOCH). */
  mtime?: number;
}

/**
 * Builds a signed APKINDEX.tar.gz: records sorted (see {@link compareIndexRecords}), installed-DB-only
 * fields dropped, `DESCRIPTION` then `APKINDEX` in a tar with end blocks, signature member in front.
 */
export function buildIndex(records: readonly PackageRecord[], options: BuildIndexOptions = {}): Buffer {
  const mtime = options.mtime ?? 0;
  const sorted = records.map((record) => {
    const copy: PackageRecord = { ...record, replaces: [], unknown: record.unknown.filter(([letter]) => !'FMRaZ'.includes(letter)) };
    delete copy.replacesPriority;
    delete copy.repositoryTag;
    delete copy.flags;
    delete copy.tags;
    return copy;
  }).sort(compareIndexRecords);
  for (let index = 1; index < sorted.length; index++) {
    if (sorted[index]!.identity === sorted[index - 1]!.identity && sorted[index]!.name === sorted[index - 1]!.name) {
      throw new ApkError('APK_INDEX_INVALID', `package ${sorted[index]!.name}-${sorted[index]!.version} (${sorted[index]!.identity}) is listed twice`, {
        detail: { name: sorted[index]!.name, identity: sorted[index]!.identity },
      });
    }
  }
  const text = Buffer.from(formatRecords(sorted), 'utf8');
  const parts: Buffer[] = [];
  const add = (entryName: string, data: Buffer): void => {
    parts.push(encodeHeader({ name: entryName, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', size: data.length, mtime }), data, padding(data.length));
  };
  if (options.description !== undefined) {
    if (Buffer.byteLength(options.description) > 160) throw new ApkError('APK_INDEX_INVALID', 'index description is longer than 160 bytes (apk ignores longer ones)', { detail: {} });
    add('DESCRIPTION', Buffer.from(options.description, 'utf8'));
  }
  add('APKINDEX', text);
  parts.push(Buffer.alloc(2 * BLOCK));
  const indexMember = gzipSync(Buffer.concat(parts), { level: 9 });
  if (!options.signer) return indexMember;
  return Buffer.concat([signatureMember(indexMember, options.signer, mtime), indexMember]);
}

/** SHA-256 of a built index, for callers that publish it by digest. */
export function indexDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
