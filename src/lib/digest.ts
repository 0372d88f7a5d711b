import { createHash } from 'node:crypto';
import { KilnError } from './errors.ts';

// The one definition of a content digest in Kiln (OCI image-spec "Digests"): the general grammar
// every digest string must match, and the algorithms Kiln can compute and verify. Domains build their
// own policy on top (the registry decides which of these it serves; image references accept what
// Kiln can verify) instead of writing their own patterns; src/lib/one-home.test.ts keeps it so.

/** Algorithms Kiln computes and verifies, with the length of their lower-case hex encoding. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;

/** A digest algorithm Kiln computes and verifies. */
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

/** An OCI-style content digest, `algorithm:hex`, of an algorithm Kiln can verify. */
export type Digest = `${DigestAlgorithm}:${string}`;

/** The image-spec digest grammar, any algorithm: `algorithm-component ([+._-] algorithm-component)* ":" encoded`.
 *  Matching it means "well-formed", not "verifiable": see {@link isDigest}. */
export const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const LOWER_HEX = /^[a-f0-9]+$/;

/** True for a well-formed digest of an algorithm Kiln verifies, its encoding lower-case hex of exactly
 *  the algorithm's length (the image-spec requires lower case for sha256 and sha512). */
export function isDigest(value: string): value is Digest {
  if (!DIGEST_GRAMMAR.test(value)) return false;
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  return Object.hasOwn(DIGEST_ALGORITHMS, algorithm) && hex.length === DIGEST_ALGORITHMS[algorithm as DigestAlgorithm] && LOWER_HEX.test(hex);
}

export function parseDigest(value: string): { algorithm: DigestAlgorithm; hex: string } {
  if (!isDigest(value)) throw new KilnError('USAGE', `invalid digest: ${JSON.stringify(value)}`);
  const [algorithm, hex] = value.split(':') as [DigestAlgorithm, string];
  return { algorithm, hex };
}

/** The algorithm of a digest. */
export function algorithmOf(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

/** Digest of `data` with `algorithm` (sha256 when absent). */
export function digestWith(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(data)}`;
}

/** Passes `chunks` on, hashing them with `digest`'s algorithm; at their end throws `mismatch(actual)`
 *  when they do not hash to `digest`. A consumer trusts nothing it derived before the iteration
 *  completed. */
export async function* verifyChunks<T extends Uint8Array>(chunks: AsyncIterable<T>, digest: Digest, mismatch: (actual: Digest) => Error): AsyncGenerator<T> {
  const algorithm = algorithmOf(digest);
  const hash = createHash(algorithm);
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
  const actual: Digest = `${algorithm}:${hash.digest('hex')}`;
  if (actual !== digest) throw mismatch(actual);
}
