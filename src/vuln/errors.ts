import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the vulnerability domain (docs/errors/vuln.md). */
export const vulnErrorCodes = {
  VULN_FEED_INVALID: 'a whole feed is unreadable as its declared format (not JSON, not a zip, no top-level list); single malformed records are skipped with a warning instead',
  VULN_FEED_UNAVAILABLE: 'a feed could not be fetched or read and no cached copy exists (the feed and the reason are named)',
  VULN_FEED_CONFIG_INVALID: 'the feed configuration file fails its schema (the file and field are named), or names a feed type or ecosystem Kiln does not know',
  VULN_DB_MISSING: 'the local vulnerability index does not exist yet (run `kiln vuln db update`)',
  VULN_TARGET_UNSUPPORTED: 'a scan target is none of: registry reference, OCI layout, docker-archive tarball, root filesystem, apk installed database, SPDX or CycloneDX SBOM; or a registry image cannot be pulled (the reference and the reason are named)',
  VULN_NO_PACKAGES: 'a scan target holds no apk database (lib/apk/db/installed) or SBOM packages, so there is nothing to match',
  VULN_ADVISORY_INVALID: 'a Kiln advisories file fails its schema or its YAML syntax (the file, line, column and field are named)',
  VULN_BUNDLE_INVALID: 'an index bundle to import is not a Kiln vulnerability index, or its signature does not verify with the given key (nothing is replaced)',
  VULN_FAIL_ON: 'a scan found vulnerabilities at or above the `--fail-on` severity (the count and the worst are named)',
} as const satisfies ErrorCodeTable<string>;

export type VulnErrorCode = keyof typeof vulnErrorCodes;

/** A vulnerability feed, index or scan failure; `detail` names the feed, file or target at fault. */
export class VulnError extends KilnError<VulnErrorCode> {}
