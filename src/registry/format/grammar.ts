import { algorithmOf, isDigest } from '../../lib/index.ts';
import type { Digest, DigestAlgorithm } from '../../lib/index.ts';
import { REGISTERED_DIGEST_ALGORITHMS } from '../../oci/index.ts';

/** Repository name grammar of the distribution spec, anchored. */
const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Tag grammar: 1..128 characters, not starting with `.` or `-`. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** The registry's policy: the digest algorithms it accepts for blobs and manifests, the ones the
 *  OCI image spec registers. The digest grammar itself is lib's (DIGEST_GRAMMAR, isDigest). */
const SUPPORTED_DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = REGISTERED_DIGEST_ALGORITHMS;

export function isValidName(name: string, maxLength: number): boolean {
  return name.length > 0 && name.length <= maxLength && NAME_PATTERN.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** A digest the registry serves: a valid digest (lib's grammar and lengths) of a supported algorithm. */
export function isSupportedDigest(value: string): value is Digest {
  return isDigest(value) && SUPPORTED_DIGEST_ALGORITHMS.includes(algorithmOf(value));
}
