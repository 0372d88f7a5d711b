import { createHash } from 'node:crypto';
import type { Digest } from '../../lib/index.ts';

/** Repository name grammar of the distribution spec, anchored. */
export const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Tag grammar: 1..128 characters, not starting with `.` or `-`. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** General digest grammar (any algorithm); only sha256 and sha512 are supported. */
export const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SUPPORTED_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isValidName(name: string, maxLength: number): boolean {
  return name.length > 0 && name.length <= maxLength && NAME_PATTERN.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** A digest Kiln can verify (sha256 or sha512, lower-case hex of the right length). */
export function isSupportedDigest(value: string): value is Digest {
  return SUPPORTED_DIGEST.test(value);
}

/** Digest of `data` with the algorithm of `like` (sha256 when absent). */
export function digestWith(data: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function algorithmOf(digest: Digest): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}
