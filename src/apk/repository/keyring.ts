import { stat } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { loadKeyring as loadKeyDirectories, loadPublicKeys } from '../package/keys.ts';
import type { Keyring } from '../format/signature.ts';
import { ApkError } from '../errors.ts';

export type { Keyring };

/**
 * Loads trusted keys from `--keyring` paths: a directory contributes every file in it (as
 * /etc/apk/keys does), a file is loaded under its own name; the first path providing a name wins.
 * Unlike an image root's key directories, a path given here must exist (APK_REPO_KEY_INVALID).
 */
export async function loadRepositoryKeyring(paths: readonly string[]): Promise<Keyring> {
  const keyring = new Map<string, KeyObject>();
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (cause) {
      throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${path}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (cause as Error).message}`, {
        cause,
        detail: { path },
      });
    }
    const loaded = isDirectory ? await loadKeyDirectories([path]) : await loadPublicKeys([path]);
    for (const [name, key] of loaded) if (!keyring.has(name)) keyring.set(name, key);
  }
  return keyring;
}
