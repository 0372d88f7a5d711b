export { KilnError, isKilnError, libErrorCodes, USAGE_ERROR_CODES } from './errors.ts';
export type { ErrorCodeTable, LibErrorCode } from './errors.ts';
export { isDigest, parseDigest, sha256Hex, sha256Digest } from './digest.ts';
export type { Digest } from './digest.ts';
export { silentLogger } from './logger.ts';
export type { Logger, Progress, OnProgress } from './logger.ts';
export { writeFileAtomic, pathExists } from './fs-atomic.ts';
