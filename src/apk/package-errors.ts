import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of packages, indexes, keys and the installed database (docs/errors/apk.md). */
export const packageErrorCodes = {
  APK_RECORD_INVALID: 'an APKINDEX or installed-database record is malformed',
  APK_GZIP_INVALID: 'a gzip member of a package or index is corrupt or truncated',
  APK_TAR_INVALID: 'a tar header, PAX record or tar layout inside a package or index is malformed',
  APK_PACKAGE_INVALID: 'a package breaks the v2 layout (member order, control entries, end blocks, missing .PKGINFO)',
  APK_PKGINFO_INVALID: 'a .PKGINFO (or package metadata given to the writer) is malformed',
  APK_PATH_UNSAFE: 'a data entry or link target would escape the root or is not a clean relative path',
  APK_CHECKSUM_MISMATCH: 'a file does not match its APK-TOOLS.checksum.SHA1 record',
  APK_DATAHASH_MISMATCH: 'the data member does not hash to the datahash recorded in .PKGINFO',
  APK_IDENTITY_MISMATCH: 'the control member does not hash to the expected identity (index C: field)',
  APK_SIGNATURE_INVALID: 'a signature made with a trusted key does not verify',
  APK_UNTRUSTED: 'no signature was made with a key in the keyring (and untrusted input was not allowed)',
  APK_KEY_INVALID: 'a key file is not a usable RSA key in the expected PEM form',
  APK_INDEX_INVALID: 'an APKINDEX.tar.gz breaks the index layout (missing APKINDEX, dot entries in the index tar)',
  APK_INSTALLED_DB_INVALID: 'an installed database, scripts.tar, triggers or world file is malformed',
  APK_LIMIT_EXCEEDED: 'a member, entry, signature, .PKGINFO or script is larger than the reader allows',
  APK_ARCH_UNKNOWN: 'an architecture name is neither one of the nine apk architectures nor its OCI name',
} as const satisfies ErrorCodeTable<string>;
