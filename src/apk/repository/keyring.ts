import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ApkError } from '../errors.ts';

/** Trusted apk signing keys by key name (= the key file's name, e.g. `melange.rsa.pub`). */
export interface Keyring {
  readonly keys: ReadonlyMap<string, KeyObject>;
}

/** Builds a keyring from PEM texts by name; throws APK_REPO_KEY_INVALID naming the bad key. */
export function keyringFromPem(entries: Iterable<readonly [name: string, pem: string | Buffer]>): Keyring {
  const keys = new Map<string, KeyObject>();
  for (const [name, pem] of entries) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: pem, format: 'pem' });
    } catch (cause) {
      throw new ApkError('APK_REPO_KEY_INVALID', `key ${name}: not a PEM public key`, { cause, detail: { key: name } });
    }
    if (key.asymmetricKeyType !== 'rsa') {
      throw new ApkError('APK_REPO_KEY_INVALID', `key ${name}: not an RSA key (${key.asymmetricKeyType ?? 'unknown type'})`, { detail: { key: name } });
    }
    keys.set(name, key);
  }
  return { keys };
}

/**
 * Loads keys from paths: a directory contributes every `*.pub` file in it (as /etc/apk/keys does;
 * a name already loaded from an earlier path wins), a file is loaded under its own name.
 */
export async function loadKeyring(paths: readonly string[]): Promise<Keyring> {
  const entries: Array<[string, Buffer]> = [];
  const seen = new Set<string>();
  const add = async (path: string): Promise<void> => {
    const name = basename(path);
    if (seen.has(name)) return;
    seen.add(name);
    entries.push([name, await readFile(path)]);
  };
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
      if (info.isDirectory()) {
        for (const name of (await readdir(path)).filter((file) => file.endsWith('.pub')).sort()) await add(join(path, name));
      } else {
        await add(path);
      }
    } catch (cause) {
      if (cause instanceof ApkError) throw cause;
      throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${path}: ${(cause as Error).message}`, { cause, detail: { path } });
    }
  }
  return keyringFromPem(entries);
}

/** The trusted key a `.SIGN.<ALG>.<name>` entry refers to: the exact file name, or (as apko
 *  accepts) the name without its `.rsa.pub` suffix. */
export function findKey(keyring: Keyring, keyName: string): KeyObject | undefined {
  return keyring.keys.get(keyName) ?? (keyName.endsWith('.rsa.pub') ? keyring.keys.get(keyName.slice(0, -'.rsa.pub'.length)) : undefined);
}
