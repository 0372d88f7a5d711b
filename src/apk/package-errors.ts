import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of packages, indexes, keys and the installed database (docs/errors/apk.md). */
export const packageErrorCodes = {
  APK_RECORD_INVALID: 'an APKINDEX or installed-database record is malformed',
} as const satisfies ErrorCodeTable<string>;
