import { isKilnError, USAGE_ERROR_CODES } from '../lib/index.ts';

/** Exit codes: 0 success, 1 a failure the user can act on, 2 bad usage, 3 a bug in Kiln. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_BUG = 3;

export function exitCodeFor(error: unknown): number {
  if (!isKilnError(error)) return EXIT_BUG;
  return USAGE_ERROR_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
}

/** `kiln: <what failed>: <why>` for known errors; a bug report request for anything else. */
export function formatError(error: unknown): string {
  if (isKilnError(error)) {
    let text = `kiln: ${error.message}`;
    let cause: unknown = error.cause;
    while (cause instanceof Error) {
      text += `\n  caused by: ${cause.message}`;
      cause = cause.cause;
    }
    return `${text}\n`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `kiln: internal error (this is a bug in kiln; please report it with the command you ran and this output):\n${stack}\n`;
}
