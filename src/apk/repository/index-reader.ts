// Verifying and reading a repository's APKINDEX.tar.gz: signature first, then records. Pure.
import { verify } from 'node:crypto';
import { parseRecords } from '../package-api.ts';
import type { PackageRecord } from '../package-api.ts';
import { ApkError } from '../errors.ts';
import { MemberError, readGzipMember, readTarEntries } from './archive.ts';
import type { Keyring } from './keyring.ts';
import { findKey } from './keyring.ts';

/** apko's cap on a decompressed APKINDEX. */
export const MAX_INDEX_BYTES = 300 * 1024 * 1024;
const MAX_SIGNATURE_MEMBER_BYTES = 1024 * 1024;

const DIGEST_BY_ALGORITHM: Readonly<Record<string, string>> = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' };

/** One `.SIGN.<ALG>.<key>` entry. */
export interface IndexSignature {
  algorithm: string;
  keyName: string;
  signature: Buffer;
}

/** An index archive split into its signatures and the signed index member. */
export interface SplitIndex {
  signatures: IndexSignature[];
  /** Offset of the index member: the signed bytes are everything from here to the end. */
  signedOffset: number;
}

function invalid(source: string, message: string, cause?: unknown): ApkError {
  return new ApkError('APK_REPO_INDEX_INVALID', `${source}: ${message}`, { cause, detail: { source } });
}

/** Reads the leading signature member(s): members whose first tar entry is a `.SIGN.` file. */
export function splitIndex(bytes: Buffer, source: string): SplitIndex {
  const signatures: IndexSignature[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    let member;
    try {
      member = readGzipMember(bytes, offset, MAX_SIGNATURE_MEMBER_BYTES);
    } catch (cause) {
      // Not a small signature member: the index member itself (large), or garbage that
      // readIndexMember reports.
      if (cause instanceof MemberError) break;
      throw cause;
    }
    let entries;
    try {
      entries = readTarEntries(member.data);
    } catch (cause) {
      throw invalid(source, `gzip member at byte ${offset}: ${(cause as Error).message}`, cause);
    }
    if (!entries[0]?.name.startsWith('.SIGN.')) break;
    for (const entry of entries) {
      const match = /^\.SIGN\.([A-Z0-9]+)\.(.+)$/.exec(entry.name);
      if (!match) throw invalid(source, `signature member holds a non-signature entry ${JSON.stringify(entry.name)}`);
      // apk-tools ignores signature entries larger than 64 KiB.
      if (entry.content.length > 65536) continue;
      signatures.push({ algorithm: match[1]!, keyName: match[2]!, signature: entry.content });
    }
    offset = member.end;
  }
  return { signatures, signedOffset: offset };
}

/** Result of {@link verifyIndexSignature}. */
export interface IndexTrust {
  /** Name of the key whose signature verified; absent for an untrusted index allowed by the caller. */
  keyName?: string;
}

/**
 * Checks the index signature with apk-tools semantics: the first signature entry whose key is in
 * the keyring (and whose algorithm is supported) decides; it must verify over every byte after the
 * signature member(s). Without such an entry the index is untrusted (APK_REPO_INDEX_UNTRUSTED) unless
 * `allowUntrusted`; a bad signature is APK_REPO_INDEX_SIGNATURE_INVALID even then.
 */
export function verifyIndexSignature(bytes: Buffer, split: SplitIndex, keyring: Keyring, options: { allowUntrusted?: boolean; source: string }): IndexTrust {
  const source = options.source;
  for (const entry of split.signatures) {
    const digest = DIGEST_BY_ALGORITHM[entry.algorithm];
    const key = findKey(keyring, entry.keyName);
    if (!digest || !key) continue;
    let ok: boolean;
    try {
      ok = verify(digest, bytes.subarray(split.signedOffset), key, entry.signature);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ApkError(
        'APK_REPO_INDEX_SIGNATURE_INVALID',
        `${source}: signature .SIGN.${entry.algorithm}.${entry.keyName} does not verify with the trusted key (index tampered with or corrupt)`,
        { detail: { source, keyName: entry.keyName, algorithm: entry.algorithm } },
      );
    }
    return { keyName: entry.keyName };
  }
  if (options.allowUntrusted) return {};
  const signers = split.signatures.map((entry) => `.SIGN.${entry.algorithm}.${entry.keyName}`);
  const trusted = [...keyring.keys()];
  throw new ApkError(
    'APK_REPO_INDEX_UNTRUSTED',
    signers.length === 0
      ? `${source}: index is not signed (use --allow-untrusted to accept it)`
      : `${source}: no signature by a trusted key (signed by ${signers.join(', ')}; trusted: ${trusted.join(', ') || 'none'})`,
    { detail: { source, signers, trusted } },
  );
}

/** The contents of a verified index member. */
export interface IndexContents {
  description?: string;
  records: PackageRecord[];
}

/** Decompresses and parses the index member (which must be the last member and hold no dot entries). */
export function readIndexMember(bytes: Buffer, signedOffset: number, source: string): IndexContents {
  let member;
  try {
    member = readGzipMember(bytes, signedOffset, MAX_INDEX_BYTES);
  } catch (cause) {
    throw invalid(source, cause instanceof Error ? cause.message : String(cause), cause);
  }
  if (member.end !== bytes.length) throw invalid(source, `${bytes.length - member.end} bytes of trailing data after the index member`);
  let entries;
  try {
    entries = readTarEntries(member.data);
  } catch (cause) {
    throw invalid(source, (cause as Error).message, cause);
  }
  let text: string | undefined;
  let description: string | undefined;
  for (const entry of entries) {
    if (entry.name.startsWith('.')) throw invalid(source, `index archive holds a dot entry ${JSON.stringify(entry.name)} (apk rejects it)`);
    if (entry.name === 'APKINDEX') text = entry.content.toString('utf8');
    else if (entry.name === 'DESCRIPTION' && entry.content.length <= 160) description = entry.content.toString('utf8');
  }
  if (text === undefined) throw invalid(source, 'index archive has no APKINDEX entry');
  const records = parseRecords(text, { source: `${source}:APKINDEX`, allowUnknownUpperCase: true });
  return description ? { description, records } : { records };
}
