import { ApkError } from '../errors.ts';

/** `Q1` + base64 of a 20-byte SHA-1 digest: apk's identity and file checksum encoding. */
export function encodeQ1(digest: Uint8Array): string {
  if (digest.length !== 20) throw new RangeError(`Q1 encoding needs a 20-byte digest, got ${digest.length}`);
  return `Q1${Buffer.from(digest).toString('base64')}`;
}

/**
 * Decodes a `Q1…` (base64) or `X1…` (hex) SHA-1 value to its 20 bytes. Base64 is decoded
 * leniently (non-zero padding bits are accepted, as apk does), but length and alphabet are checked.
 */
export function decodeQ1(value: string, where = 'checksum'): Buffer {
  if (/^Q1[A-Za-z0-9+/]{27}=$/.test(value)) return Buffer.from(value.slice(2), 'base64');
  if (/^X1[0-9a-f]{40}$/.test(value)) return Buffer.from(value.slice(2), 'hex');
  throw new ApkError('APK_RECORD_INVALID', `${where}: not a Q1/X1 SHA-1 value: ${JSON.stringify(value.slice(0, 64))}`, {
    detail: { value: value.slice(0, 64) },
  });
}

/** True when two Q1/X1 values denote the same 20 bytes (so `Q1…` and `X1…` forms compare equal). */
export function sameQ1(a: string, b: string): boolean {
  try {
    return decodeQ1(a).equals(decodeQ1(b));
  } catch {
    return false;
  }
}

/** `X1` + lowercase hex: the identity form apk-tools 3 uses in scripts.tar names. */
export function encodeX1(digest: Uint8Array): string {
  return `X1${Buffer.from(digest).toString('hex')}`;
}
