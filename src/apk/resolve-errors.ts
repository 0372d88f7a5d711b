import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of versions, dependencies and the resolver (docs/errors/apk-resolve.md). */
export const resolveErrorCodes = {} as const satisfies ErrorCodeTable<string>;
