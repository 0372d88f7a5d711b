import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the repository client (docs/errors/apk-repository.md). */
export const repositoryErrorCodes = {} as const satisfies ErrorCodeTable<string>;
