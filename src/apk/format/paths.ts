import { ApkError } from '../errors.ts';

/**
 * Normalises a data-section entry name and refuses names that could escape the install root or
 * that apk-tools treats as malicious (§1.2): absolute paths, empty, `.` or `..` components, and
 * control characters. A single trailing `/` (abuild writes directories that way) is removed.
 */
export function safeEntryPath(name: string, where: string): string {
  const path = name.endsWith('/') ? name.slice(0, -1) : name;
  const reason = unsafeReason(path);
  if (reason) {
    throw new ApkError('APK_PATH_UNSAFE', `${where}: entry ${JSON.stringify(name)} ${reason}`, { detail: { file: where, entry: name } });
  }
  return path;
}

function unsafeReason(path: string): string | undefined {
  if (path === '') return 'has an empty name';
  if (path.startsWith('/')) return 'is an absolute path';
  for (let index = 0; index < path.length; index++) {
    const code = path.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return 'contains control characters';
  }
  for (const part of path.split('/')) {
    if (part === '') return 'has an empty path component';
    if (part === '.' || part === '..') return `has a "${part}" path component`;
  }
  return undefined;
}

/** The parent directory of a normalised path ('' at the top level). */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** True if apk would silently skip this data entry (names starting with a dot). */
export function isSkippedDataName(name: string): boolean {
  return name.startsWith('.');
}
