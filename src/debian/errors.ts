import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the Debian source domain (docs/errors/debian.md). */
export const debianErrorCodes = {
  DEBIAN_SOURCE_UNAVAILABLE: 'the requested Debian source version is not listed by the mirror, or listed but its files are not served (the package, the version and what is available are named)',
  DEBIAN_SOURCE_CHECKSUM_MISMATCH: 'a downloaded .dsc or tarball does not hash to the SHA-256 the recipe pins, or to what its .dsc lists (the file, expected and actual hashes are named); nothing is unpacked',
  DEBIAN_SOURCE_INVALID: 'a .dsc or debian/changelog is malformed, or lacks the tarball the recipe names',
  DEBIAN_APT_FAILED: 'apt-get could not update its private source lists (the mirror and apt\'s message are named)',
} as const satisfies ErrorCodeTable<string>;

export type DebianErrorCode = keyof typeof debianErrorCodes;

/** A Debian source failure; `detail` names the package, version and file at fault. */
export class DebianError extends KilnError<DebianErrorCode> {}
