// Public API of apk packages, indexes, keys and the installed database (re-exported by index.ts).
//
// Reading:  readApk (async iterator: control, entries with content streams, end) / summarizeApk,
//           readApkFile / verifyApkFile (files on disk).
// Keys:     loadKeyring (directory, file name = key name), loadSigningKey, generateSigningKey.
export { parseRecords, formatRecord, formatRecords, emptyRecord, applyRecordField } from './format/record.ts';
export type { PackageRecord, ParseRecordsOptions } from './format/record.ts';
export { encodeQ1, decodeQ1, encodeX1, sameQ1 } from './format/encoding.ts';
export { GzipMemberReader } from './format/gzip-members.ts';
export type { GzipMember, GzipMemberInfo, CompressedSink } from './format/gzip-members.ts';
export { parsePkgInfo, formatPkgInfo, pkgInfoToRecord } from './format/pkginfo.ts';
export type { PkgInfo, PkgInfoInput } from './format/pkginfo.ts';
export { readApk, summarizeApk, DEFAULT_APK_LIMITS, SCRIPT_NAMES } from './format/apk-reader.ts';
export type {
  ApkItem, ApkControl, ApkEntry, ApkEnd, ApkSummary, ApkTrust, ApkSignatureInfo, ApkReadLimits, ReadApkOptions, ScriptName,
} from './format/apk-reader.ts';
export { parseSignatureName, chooseSignature, parsePublicKey, signBytes, SIGNATURE_DIGESTS } from './format/signature.ts';
export type { Keyring, SignatureEntry, SignatureAlgorithm } from './format/signature.ts';
export type { TarEntryType } from './format/tar.ts';
export { loadKeyring, loadKeyringFromPaths, loadPublicKeys, loadSigningKey, generateSigningKey } from './package/keys.ts';
export type { SigningKey, GeneratedKeyFiles } from './package/keys.ts';
export { buildApk, buildApkBuffer, normalizeEntries } from './format/apk-writer.ts';
export type { ApkWriteEntry, BuildApkInput, BuiltApk, EntryContent } from './format/apk-writer.ts';
export { readApkFile, verifyApkFile, entriesFromDirectory, writeApkFile } from './package/package-files.ts';
export type { DirectoryEntryOptions } from './package/package-files.ts';
export { readIndex, buildIndex, compareIndexRecords, DEFAULT_INDEX_LIMIT } from './format/index-archive.ts';
export type { ApkIndex, ReadIndexOptions, BuildIndexOptions } from './format/index-archive.ts';
export { readIndexFile, writeIndexFile, indexRecordForFile } from './package/index-files.ts';
export type { IndexPackageOptions } from './package/index-files.ts';
export {
  parseInstalledDb, formatInstalledDb, formatInstalledPackage, installedPackageFromApk, installedScriptsFromApk, xattrDigest,
  buildScriptsTar, parseScriptsTar, formatTriggers, parseTriggers, formatWorldFile, parseWorldFile, formatRepositoriesFile, parseRepositoriesFile,
} from './format/installed-db.ts';
export type {
  InstalledPackage, InstalledDirectory, InstalledFile, InstalledAcl, InstalledScript, InstalledFromApkOptions, ParseInstalledDbOptions,
} from './format/installed-db.ts';
