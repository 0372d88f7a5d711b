import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of versions, dependencies and the resolver (docs/errors/apk-resolve.md). */
export const resolveErrorCodes = {
  APK_DEPENDENCY_INVALID: 'a world or command-line dependency expression is malformed',
  APK_REPOSITORY_TAG_UNKNOWN: 'a world dependency is pinned to an @tag that no repository carries',
  APK_RESOLVE_UNSATISFIABLE: 'no set of packages satisfies the world; the message is apk-tools\' "unable to select packages" report',
  APK_SOLVER_TEST_FAILED: 'one or more apk-tools solver test files did not produce their expected output',
  APK_SOLVER_TEST_INVALID: 'a solver test file cannot be read or uses an unknown @ directive',
  APK_UNIVERSE_IMAGE_INVALID: 'a prepared universe image is damaged, of another format or inconsistent; it is rebuilt from the indexes',
} as const satisfies ErrorCodeTable<string>;
