export { ApkError, apkErrorCodes } from './errors.ts';
export type { ApkErrorCode } from './errors.ts';
export * from './package-api.ts';
export * from './resolve-api.ts';
export * from './repository/index.ts';
