import { createReadStream } from 'node:fs';
import { writeFileAtomic } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import { readIndex } from '../format/index-archive.ts';
import type { ApkIndex, BuildIndexOptions, ReadIndexOptions } from '../format/index-archive.ts';
import { buildIndex } from '../format/index-archive.ts';
import { pkgInfoToRecord } from '../format/pkginfo.ts';
import type { PackageRecord } from '../format/record.ts';
import type { Keyring } from '../format/signature.ts';
import { verifyApkFile } from './package-files.ts';

/** Reads and verifies an APKINDEX.tar.gz file; `options.name` defaults to the path. */
export async function readIndexFile(path: string, options: ReadIndexOptions = {}): Promise<ApkIndex> {
  try {
    return await readIndex(createReadStream(path, { highWaterMark: 256 * 1024 }), { name: path, ...options });
  } catch (error) {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    if (cause?.code === 'ENOENT' || cause?.code === 'EISDIR') {
      throw new ApkError('APK_INDEX_INVALID', `${path}: cannot read index file`, { cause: error, detail: { file: path } });
    }
    throw error;
  }
}

/** Options of {@link indexRecordForFile}. */
export interface IndexPackageOptions {
  /** When given, each package's signature must verify with it (else only datahash and checksums are checked). */
  keyring?: Keyring;
}

/**
 * The index record of a package file: reads and verifies it completely (datahash, file checksums,
 * and the signature when a keyring is given) and refuses legacy packages without datahash, as
 * apk-tools 3 does.
 */
export async function indexRecordForFile(path: string, options: IndexPackageOptions = {}): Promise<PackageRecord> {
  const summary = await verifyApkFile(path, options.keyring ? { keyring: options.keyring } : { allowUntrusted: true });
  if (!summary.end.hadDatahash) {
    throw new ApkError('APK_PACKAGE_INVALID', `${path}: package has no datahash in .PKGINFO and cannot be indexed`, { detail: { file: path } });
  }
  return pkgInfoToRecord(summary.control.pkginfo, summary.control.identity, summary.end.fileSize);
}

/** Indexes package files and writes a signed APKINDEX.tar.gz atomically. */
export async function writeIndexFile(outPath: string, packagePaths: readonly string[], options: BuildIndexOptions & IndexPackageOptions = {}): Promise<{ records: PackageRecord[]; size: number }> {
  const records: PackageRecord[] = [];
  for (const path of packagePaths) records.push(await indexRecordForFile(path, options));
  const bytes = buildIndex(records, options);
  await writeFileAtomic(outPath, bytes);
  return { records, size: bytes.length };
}
