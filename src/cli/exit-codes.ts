import { isKilnError, USAGE_ERROR_CODES } from '../lib/index.ts';

/** Exit codes: 0 success, 1 a failure the user can act on, 2 bad usage, 3 a bug in Kiln. */
export const EXIT_OK = 0;
const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
const EXIT_BUG = 3;

/** A failed system call on a named path (ENOENT, EACCES, EISDIR …) that no service wrapped: the
 *  environment's doing, not Kiln's, so it is reported as an ordinary failure naming the path. */
interface SystemPathError extends Error {
  code: string;
  syscall: string;
  path: string;
}

const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent of it is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

function isSystemPathError(error: unknown): error is SystemPathError {
  const value = error as Partial<SystemPathError> | undefined;
  return error instanceof Error && typeof value?.code === 'string' && /^E[A-Z]+$/.test(value.code) && typeof value.syscall === 'string' && typeof value.path === 'string';
}

export function exitCodeFor(error: unknown): number {
  if (isSystemPathError(error)) return EXIT_FAILURE;
  if (!isKilnError(error)) return EXIT_BUG;
  return USAGE_ERROR_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
}

/** `kiln: <what failed>: <why>` for known errors; a bug report request for anything else. Causes
 *  that are Kiln errors add a `caused by:` line each (unless the text already says it); raw system
 *  and library errors do not, since the message names the file and the reason in words. */
export function formatError(error: unknown): string {
  if (isKilnError(error)) {
    let text = `kiln: ${error.message}`;
    let cause: unknown = error.cause;
    while (cause instanceof Error) {
      if (isKilnError(cause) && !text.includes(cause.message)) text += `\n  caused by: ${cause.message}`;
      cause = cause.cause;
    }
    return `${text}\n`;
  }
  if (isSystemPathError(error)) return `kiln: ${error.path}: ${SYSTEM_REASONS[error.code] ?? error.code} (${error.syscall})\n`;
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `kiln: internal error (this is a bug in kiln; please report it with the command you ran and this output):\n${stack}\n`;
}
