/** Base error of every Kiln domain: a stable machine-readable code, a human message naming the
 *  thing at fault, an optional cause and structured detail for `--json` output and logs. */
export class KilnError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.code = code;
    this.detail = options.detail ?? {};
  }
}

/** A table of a domain's error codes and what each means; docs/errors/<domain>.md mirrors it. */
export type ErrorCodeTable<Code extends string> = Readonly<Record<Code, string>>;

/** Codes that mean the user asked for something malformed (CLI exit code 2). */
export const USAGE_ERROR_CODES: ReadonlySet<string> = new Set(['USAGE']);

export function isKilnError(value: unknown): value is KilnError {
  return value instanceof KilnError;
}

/** Codes shared by every domain. */
export const libErrorCodes = {
  USAGE: 'the command line or an option is malformed',
  FILE_EXISTS: 'an output path already exists and would be overwritten',
  IO: 'reading or writing a file or stream failed',
  SIZE_MISMATCH: 'bytes did not have the expected length',
  LIMIT_EXCEEDED: 'an input is larger, deeper or expands further than the configured limit',
  INPUT_INVALID: 'a YAML or JSON input is malformed (syntax error, an anchor that contains itself)',
  LOCK_TIMEOUT: 'a lock file shared between processes stayed held by another one longer than the wait allowed',
} as const satisfies ErrorCodeTable<string>;

