import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ApkError } from '../errors.ts';
import { readGzipMember } from '../format/gzip-members.ts';
import { readTarEntries } from '../format/tar-member.ts';
import { identityBytes, q1 } from './identity.ts';

/** What the index says a package must be. */
export interface ExpectedPackage {
  /** Index `C:`. */
  identity: string;
  /** Index `S:`, when present. */
  size?: number;
}

/** A package file that passed verification. */
export interface VerifiedPackageFile {
  identity: string;
  datahash: string;
  size: number;
}

const FIRST_READ = 256 * 1024;
/** Upper bound on signature + control members read into memory. */
const MAX_HEAD = 64 * 1024 * 1024;
const MAX_CONTROL_OUTPUT = 64 * 1024 * 1024;

/**
 * Verifies an .apk file against its index record (what apk checks when installing from an index): file size = `S:`, SHA-1 of the exact control
 * member bytes = `C:`, and SHA-256 of everything after the control member = `.PKGINFO` datahash.
 * A package without datahash is refused (its data could not be verified). `where` names the package
 * in errors (URL or name-version).
 *
 * This hashes the compressed data member without inflating it, so re-verifying a cached package on
 * every use costs one SHA-256 pass. Structural checks of the contents (tar dialect, paths) are left to
 * the package core's readApk, which the consumer runs while extracting anyway.
 */
export async function verifyPackageFile(path: string, expected: ExpectedPackage, where: string): Promise<VerifiedPackageFile> {
  const handle = await open(path, 'r');
  let size: number;
  let controlEnd: number;
  let identity: string;
  let datahash: string;
  let actual: string;
  try {
    size = (await handle.stat()).size;
    if (expected.size !== undefined && size !== expected.size) {
      throw new ApkError('APK_REPO_PACKAGE_SIZE_MISMATCH', `${where}: ${size} bytes, but the index says ${expected.size}`, {
        detail: { package: where, size, expected: expected.size },
      });
    }
    let head = Buffer.alloc(0);
    let wanted = Math.min(size, FIRST_READ);
    for (;;) {
      if (wanted > head.length) {
        const more = Buffer.alloc(wanted - head.length);
        const { bytesRead } = await handle.read(more, 0, more.length, head.length);
        head = Buffer.concat([head, more.subarray(0, bytesRead)]);
      }
      let control: ReturnType<typeof readControl>;
      try {
        control = readControl(head, where);
      } catch (error) {
        throw invalidPackage(where, error);
      }
      if ('controlEnd' in control) {
        ({ controlEnd, identity, datahash } = control);
        break;
      }
      if (head.length >= size) throw invalidPackage(where, new Error(`gzip member at byte ${control.truncatedAt}: truncated (the file ends inside it)`));
      if (head.length >= MAX_HEAD) {
        throw new ApkError('APK_REPO_PACKAGE_INVALID', `${where}: not a valid apk v2 package: signature and control members exceed ${MAX_HEAD} bytes`, {
          detail: { package: where, limit: MAX_HEAD },
        });
      }
      wanted = Math.min(size, MAX_HEAD, head.length * 4);
    }
    const expectedBytes = identityBytes(expected.identity);
    if (!expectedBytes || !expectedBytes.equals(identityBytes(identity)!)) {
      throw new ApkError('APK_REPO_PACKAGE_IDENTITY_MISMATCH', `${where}: control member hashes to ${identity}, but the index says ${expected.identity}`, {
        detail: { package: where, identity, expected: expected.identity },
      });
    }
    // The data is hashed through the same handle as the head: a file renamed over `path` meanwhile
    // (a cache sharing process replacing it) cannot mix its bytes into this verdict.
    const hash = createHash('sha256');
    if (controlEnd < size) await pipeline(handle.createReadStream({ start: controlEnd, autoClose: false }), hash);
    actual = hash.digest('hex');
  } finally {
    await handle.close();
  }
  if (actual !== datahash) {
    throw new ApkError('APK_REPO_PACKAGE_DATAHASH_MISMATCH', `${where}: data member hashes to sha256:${actual}, but .PKGINFO datahash is ${datahash}`, {
      detail: { package: where, datahash, actual },
    });
  }
  return { identity, datahash, size };
}

function invalidPackage(where: string, cause: unknown): ApkError {
  // The repository's own verdicts pass through; the format readers' (gzip, tar, limits) become this one.
  if (cause instanceof ApkError && cause.code.startsWith('APK_REPO_')) return cause;
  return new ApkError('APK_REPO_PACKAGE_INVALID', `${where}: not a valid apk v2 package: ${(cause as Error).message}`, { cause, detail: { package: where } });
}

/** Finds the control member after any signature members; returns its end, identity and datahash, or
 *  where a member is cut off by the end of `head` (more of the file is needed). */
function readControl(head: Buffer, where: string): { controlEnd: number; identity: string; datahash: string } | { truncatedAt: number } {
  let offset = 0;
  for (let index = 0; ; index++) {
    const member = readGzipMember(head, offset, index, { maxMemberSize: MAX_CONTROL_OUTPUT });
    if (!member) return { truncatedAt: offset };
    const entries = readTarEntries(member.content, `gzip member at byte ${offset}`);
    if (entries[0]?.header.name.startsWith('.SIGN.')) {
      offset = member.end;
      continue;
    }
    const pkginfo = entries.find((entry) => entry.header.name === '.PKGINFO');
    if (!pkginfo) {
      throw new ApkError('APK_REPO_PACKAGE_INVALID', `${where}: not a valid apk v2 package: control member at byte ${offset} has no .PKGINFO`, {
        detail: { package: where, offset },
      });
    }
    let datahash: string | undefined;
    for (const line of pkginfo.content.toString('utf8').split('\n')) {
      const match = /^datahash = ([0-9a-f]{64})$/.exec(line);
      if (match) datahash = match[1];
    }
    if (!datahash) {
      throw new ApkError('APK_REPO_PACKAGE_INVALID', `${where}: .PKGINFO has no datahash, so the package data cannot be verified`, {
        detail: { package: where },
      });
    }
    const identity = q1(createHash('sha1').update(member.bytes).digest());
    return { controlEnd: member.end, identity, datahash };
  }
}
