// Public API of apk packages, indexes, keys and the installed database (re-exported by index.ts).
// Format reference: /work/shared/docs/apk-format.md (§1 package, §2 index, §5 installed database).
//
// Reading a package (streaming; never holds a whole package in memory):
//   for await (const item of readApk(stream, { name, keyring, allowUntrusted?, expectedIdentity? })) …
//     item.kind === 'control' → item.control: pkginfo (every field, apk repeat semantics), identity (Q1),
//                               signatures, trust ('signature' | 'identity' | 'untrusted'), scripts.
//                               Yielded only after the signature (or expected identity) checked out.
//     item.kind === 'entry'   → item.entry (path, type, mode, uid/gid, uname/gname, size, linkTarget,
//                               xattrs, sha1) and item.content (async iterable of Buffers, files only;
//                               read it before the next item or it is skipped). Paths are safe:
//                               relative, no `..`, parents are directories of the same package.
//     item.kind === 'end'     → datahash verified, totals. Data is trustworthy only once this arrives:
//                               discard anything written from entries if the iteration throws.
//   summarizeApk(stream, options) → { control, entries, end } (contents skipped, all checks done).
//   readApkFile(path, options) / verifyApkFile(path, options): the same over a file.
// Writing a package (deterministic; RSA256 signature named `<key file>.pub`):
//   buildApk({ pkginfo, entries, scripts?, mtime, signer? }, writeData) / buildApkBuffer(input) /
//   writeApkFile(path, input) (atomic); entriesFromDirectory(dir) lists a tree as entries;
//   resignApkFile(in, out, signer) replaces the signature, keeping identity and datahash.
// Indexes: readIndex(stream, { keyring, allowUntrusted?, lenient? }) → { records, description, trust },
//   buildIndex(records, { description?, signer? }) → bytes; readIndexFile / writeIndexFile /
//   indexRecordForFile (package file → verified index record).
// Keys: loadKeyring(dirs) (file name = key name), loadKeyringFromPaths, loadSigningKey(path),
//   generateSigningKey(prefix, bits) (PREFIX.rsa PKCS#1 + PREFIX.rsa.pub SPKI).
// Installed database: installedPackageFromApk(control, entries, { fileSize, resolveOwner? }) →
//   InstalledPackage; formatInstalledDb / parseInstalledDb (lib/apk/db/installed), buildScriptsTar /
//   parseScriptsTar, formatTriggers / parseTriggers, formatWorldFile, formatRepositoriesFile, formatArchFile,
//   keyFiles(keyring) (etc/apk/keys/<name>).
// Member splitting and tar reading, in memory (tests, package heads): splitGzipMembers(bytes) /
//   readGzipMember(bytes, offset, index) (null when cut off) and readTarEntries(tar, where), with the
//   same rules as the streaming GzipMemberReader and tar reader that readApk and readIndex use.
// Architectures: ARCHS (apk ↔ OCI platform ↔ triplets ↔ ELF), archInfo(apk or OCI name) (APK_ARCH_UNKNOWN
//   when unknown), findArch, hostArchName(process.arch).
// Errors: ApkError with the codes of package-errors.ts (docs/errors/apk.md); messages name the file.
export { parseRecords, formatRecord, formatRecords, emptyRecord, applyRecordField } from './format/record.ts';
export type { PackageRecord, ParseRecordsOptions } from './format/record.ts';
export { encodeQ1, decodeQ1, encodeX1, sameQ1 } from './format/encoding.ts';
export { GzipMemberReader, inflateGzipMembers, readGzipMember, splitGzipMembers } from './format/gzip-members.ts';
export type { GzipMember, GzipMemberInfo, CompressedSink, GzipMemberBytes, GzipBufferOptions } from './format/gzip-members.ts';
export { readTarEntries, TarMemberReader } from './format/tar-member.ts';
export type { TarEntryBytes, TarSource } from './format/tar-member.ts';
export { parsePkgInfo, formatPkgInfo, pkgInfoToRecord } from './format/pkginfo.ts';
export type { PkgInfo, PkgInfoInput } from './format/pkginfo.ts';
export { readApk, summarizeApk, DEFAULT_APK_LIMITS, SCRIPT_NAMES } from './format/apk-reader.ts';
export type {
  ApkItem, ApkControl, ApkEntry, ApkEnd, ApkSummary, ApkTrust, ApkSignatureInfo, ApkReadLimits, ReadApkOptions, ScriptName,
} from './format/apk-reader.ts';
export { parseSignatureName, chooseSignature, parsePublicKey, signBytes, signatureMember, SIGNATURE_DIGESTS } from './format/signature.ts';
export type { Keyring, SignatureEntry, SignatureAlgorithm } from './format/signature.ts';
export type { TarDialect, TarEntryType, TarHeader } from './format/tar.ts';
export { BLOCK, isZeroBlock, metadataRecord, padded, parseHeaderBlock, PendingTarRecords } from './format/tar.ts';
export { loadKeyring, loadKeyringFromPaths, loadPublicKeys, loadSigningKey, generateSigningKey } from './package/keys.ts';
export type { SigningKey, GeneratedKeyFiles } from './package/keys.ts';
export { buildApk, buildApkBuffer, normalizeEntries } from './format/apk-writer.ts';
export type { ApkWriteEntry, BuildApkInput, BuiltApk, EntryContent } from './format/apk-writer.ts';
export { readApkFile, verifyApkFile, entriesFromDirectory, writeApkFile, resignApkFile } from './package/package-files.ts';
export type { DirectoryEntryOptions, ResignOptions } from './package/package-files.ts';
export { readIndex, verifyIndex, recheckIndex, buildIndex, compareIndexRecords, DEFAULT_INDEX_LIMIT } from './format/index-archive.ts';
export { ARCHS, archInfo, findArch, hostArchName } from './format/arch.ts';
export type { ArchInfo } from './format/arch.ts';
export type { ApkIndex, VerifiedIndexArchive, IndexCheck, ReadIndexOptions, BuildIndexOptions } from './format/index-archive.ts';
export { readIndexFile, writeIndexFile, indexRecordForFile } from './package/index-files.ts';
export type { IndexPackageOptions } from './package/index-files.ts';
export {
  parseInstalledDb, formatInstalledDb, formatInstalledPackage, installedPackageFromApk, installedScriptsFromApk, xattrDigest,
  buildScriptsTar, parseScriptsTar, formatTriggers, parseTriggers, formatWorldFile, parseWorldFile, formatRepositoriesFile, parseRepositoriesFile,
  formatArchFile, keyFiles,
} from './format/installed-db.ts';
export type {
  InstalledPackage, InstalledDirectory, InstalledFile, InstalledAcl, InstalledScript, InstalledFromApkOptions, ParseInstalledDbOptions,
} from './format/installed-db.ts';
