// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { ApkError, apkErrorCodes } from './errors.ts';
export type { ApkErrorCode } from './errors.ts';
export * from './package-api.ts';
export * from './resolve-api.ts';
export * from './repository/index.ts';
