// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { KilnError, isKilnError, libErrorCodes, USAGE_ERROR_CODES } from './errors.ts';
export type { ErrorCodeTable } from './errors.ts';
export { DIGEST_ALGORITHMS, DIGEST_GRAMMAR, algorithmOf, digestWith, isDigest, parseDigest, sha256Hex, sha256Digest, verifyChunks } from './digest.ts';
export type { Digest, DigestAlgorithm } from './digest.ts';
export { silentLogger } from './logger.ts';
export type { Logger, Progress } from './logger.ts';
export { assertAbsent, assertDirectory, writeFileAtomic, pathExists } from './fs-atomic.ts';
export { DEFAULT_TEXT_LIMITS, jsonErrorText, loadYamlBounded, parseJsonBounded, parseYamlBounded } from './structured-text.ts';
export type { BoundedYaml, BoundedYamlOptions, TextLimits } from './structured-text.ts';
export { assertInputDirectory, readInputFile, readInputText, unreadableInput } from './read-input.ts';
export type { ReadInputOptions } from './read-input.ts';
export { DURATION_FORMS, formatDuration, parseDurationMs } from './duration.ts';
export { KeyedMutex } from './keyed-mutex.ts';
export { BoundedMap } from './bounded-map.ts';
export { removeStaleLock, seeLock, withFileLock } from './file-lock.ts';
export type { SeenLock } from './file-lock.ts';
export { currentProcessIdentity, holderLiveness, isProcessAlive, isSameProcess, processStartTicks } from './process-identity.ts';
export type { HolderLiveness, ProcessIdentity } from './process-identity.ts';
export type { FileLockOptions } from './file-lock.ts';
export { hashFile } from './hash-file.ts';
