import { ApkError } from '../errors.ts';

/** Decodes an index `C:` identity (Q1 base64, decoded leniently, or X1 hex) to its 20 digest bytes. */
export function identityBytes(identity: string): Buffer | undefined {
  if (identity.startsWith('Q1')) {
    const bytes = Buffer.from(identity.slice(2), 'base64');
    return bytes.length === 20 ? bytes : undefined;
  }
  if (identity.startsWith('X1') && /^[0-9a-f]{40}$/i.test(identity.slice(2))) return Buffer.from(identity.slice(2), 'hex');
  return undefined;
}

/** Q1 encoding of a SHA-1 digest. */
export function q1(digest: Buffer): string {
  return `Q1${digest.toString('base64')}`;
}

/** Lower-case hex of an identity, used as the package's cache key. */
export function identityKey(identity: string, where: string): string {
  const bytes = identityBytes(identity);
  if (!bytes) {
    throw new ApkError('APK_REPO_PACKAGE_INVALID', `${where}: identity ${JSON.stringify(identity)} is not a Q1/X1 SHA-1 digest`, {
      detail: { identity },
    });
  }
  return bytes.toString('hex');
}
