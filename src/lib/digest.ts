import { createHash } from 'node:crypto';
import { KilnError } from './errors.ts';

/** An OCI-style content digest, `algorithm:hex`. */
export type Digest = `${'sha256' | 'sha512'}:${string}`;

const DIGEST_PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}

export function parseDigest(value: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  if (!isDigest(value)) throw new KilnError('USAGE', `invalid digest: ${JSON.stringify(value)}`);
  const [algorithm, hex] = value.split(':') as ['sha256' | 'sha512', string];
  return { algorithm, hex };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(data)}`;
}
