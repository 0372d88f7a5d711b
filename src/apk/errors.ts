import { KilnError } from '../lib/index.ts';
import { packageErrorCodes } from './package-errors.ts';
import { resolveErrorCodes } from './resolve-errors.ts';
import { repositoryErrorCodes } from './repository-errors.ts';

/** Error codes of the apk domain: packages and indexes, resolver, repository client. */
export const apkErrorCodes = { ...packageErrorCodes, ...resolveErrorCodes, ...repositoryErrorCodes } as const;

export type ApkErrorCode = keyof typeof apkErrorCodes;

/** An apk-domain failure; `detail` names the file, package or line at fault. */
export class ApkError extends KilnError<ApkErrorCode> {}
