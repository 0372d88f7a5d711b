import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the repository client (docs/errors/apk-repository.md). */
export const repositoryErrorCodes = {
  APK_REPO_LIST_INVALID: 'a repositories file line or --repository value is malformed',
  APK_REPO_URL_UNSUPPORTED: 'a repository or package URL uses a scheme other than https, http or file',
  APK_REPO_NOT_FOUND: 'the server answered 404 (or the file:// path does not exist) for an index or package',
  APK_REPO_HTTP_STATUS: 'the server answered an HTTP status other than success, 304 or 404',
  APK_REPO_NETWORK: 'connecting to or reading from a repository failed',
  APK_REPO_TIMEOUT: 'a repository did not answer or stalled longer than the timeout',
  APK_REPO_REDIRECTS: 'a repository redirected too often or to an unsupported URL',
  APK_REPO_KEY_INVALID: 'a --keyring path does not exist or cannot be read',
  APK_REPO_KEYRING_EMPTY: 'no trusted keys were given and --allow-untrusted was not set',
  APK_REPO_PACKAGE_INVALID: 'a downloaded .apk is not a valid v2 package (members, .PKGINFO or datahash missing)',
  APK_REPO_PACKAGE_SIZE_MISMATCH: 'a downloaded .apk does not have the size the index gives in S:',
  APK_REPO_PACKAGE_IDENTITY_MISMATCH: 'a downloaded .apk control member does not hash to the index C: identity',
  APK_REPO_PACKAGE_DATAHASH_MISMATCH: 'a downloaded .apk data member does not hash to its .PKGINFO datahash',
  APK_REPO_PACKAGE_UNKNOWN: 'a requested package is not in any loaded index',
} as const satisfies ErrorCodeTable<string>;
