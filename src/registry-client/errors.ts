import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the OCI distribution client, documented in docs/errors/sign-registry-client.md.
 *  Deliberately not named `*ErrorCodes`: src/lib/errors-doc.test.ts treats docs/errors/registry-*.md as
 *  pages of the `registry` (server) domain, so this table is checked through src/sign/errors.ts, which
 *  re-exports it as `registryClientErrorCodes`. */
export const registryClientErrorTable = {
  REGISTRY_UNREACHABLE: 'the registry could not be reached (connection refused, DNS, TLS)',
  REGISTRY_AUTH_FAILED: 'the registry refused the credentials or no token could be obtained',
  REGISTRY_DENIED: 'the registry answered 403: authenticated but not allowed',
  MANIFEST_NOT_FOUND: 'no manifest exists for the tag or digest',
  BLOB_NOT_FOUND: 'a blob named by a manifest is not in the repository',
  REGISTRY_RESPONSE_INVALID: 'the registry answered with something other than the protocol allows',
  REGISTRY_DIGEST_MISMATCH: 'content pulled from the registry does not hash to the digest it was requested by',
  REGISTRY_REQUEST_FAILED: 'the registry rejected a request (the OCI error code is in the message)',
  DOCKER_CONFIG_INVALID: 'the Docker credentials file (config.json) or a credential helper answer is malformed',
} as const satisfies ErrorCodeTable<string>;

export type RegistryClientErrorCode = keyof typeof registryClientErrorTable;

/** A registry-client failure; `detail` names the registry, repository, reference or digest at fault. */
export class RegistryClientError extends KilnError<RegistryClientErrorCode> {}
