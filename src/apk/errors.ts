import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the apk domain (packages, indexes, versions, resolver, repositories). */
export const apkErrorCodes = {
  APK_RECORD_INVALID: 'an APKINDEX or installed-database record is malformed',
} as const satisfies ErrorCodeTable<string>;

export type ApkErrorCode = keyof typeof apkErrorCodes;

/** An apk-domain failure; `detail` names the file, package or line at fault. */
export class ApkError extends KilnError<ApkErrorCode> {}
