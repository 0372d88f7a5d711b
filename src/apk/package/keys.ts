import { createPrivateKey, generateKeyPair as generateKeyPairCallback } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { assertAbsent, assertDirectory, writeFileAtomic } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import { parsePublicKey } from '../format/signature.ts';
import type { Keyring } from '../format/signature.ts';

const generateKeyPair = promisify(generateKeyPairCallback);
const KEY_FILE_LIMIT = 64 * 1024;

/**
 * Loads every regular file of the given directories as a trusted public key named after its file
 * name. A name found in an earlier directory hides the same name in later ones (apk reads
 * /etc/apk/keys before /lib/apk/keys). Missing directories are skipped; unreadable keys are errors.
 */
export async function loadKeyring(directories: string | readonly string[]): Promise<Keyring> {
  const keyring = new Map<string, KeyObject>();
  for (const directory of typeof directories === 'string' ? [directories] : directories) {
    let names: string[];
    try {
      names = (await readdir(directory)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new ApkError('APK_KEY_INVALID', `${directory}: cannot read key directory`, { cause: error, detail: { directory } });
    }
    for (const name of names) {
      if (keyring.has(name)) continue;
      const path = join(directory, name);
      const info = await stat(path);
      if (!info.isFile()) continue;
      if (info.size > KEY_FILE_LIMIT) throw new ApkError('APK_KEY_INVALID', `${path}: key file is ${info.size} bytes, not a public key`, { detail: { key: path } });
      keyring.set(name, parsePublicKey(await readFile(path), path));
    }
  }
  return keyring;
}

/** Loads public keys from individual files, each named after its file name. */
export async function loadPublicKeys(paths: readonly string[]): Promise<Keyring> {
  const keyring = new Map<string, KeyObject>();
  for (const path of paths) keyring.set(basename(path), parsePublicKey(await readFile(path), path));
  return keyring;
}

/** A private RSA key and the key name signatures made with it carry (`<key file name>.pub`, as melange does). */
export interface SigningKey {
  privateKey: KeyObject;
  keyName: string;
}

/** Loads a PEM RSA private key (PKCS#1 or PKCS#8); the key name is the file name plus `.pub` unless given. */
export async function loadSigningKey(path: string, keyName?: string): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: await readFile(path), format: 'pem' });
  } catch (error) {
    throw new ApkError('APK_KEY_INVALID', `${path}: not a PEM private key`, { cause: error, detail: { key: path } });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new ApkError('APK_KEY_INVALID', `${path}: private key is ${privateKey.asymmetricKeyType ?? 'unknown'}, apk signatures need RSA`, { detail: { key: path } });
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new ApkError('APK_KEY_INVALID', `${path}: RSA key has ${bits} bits, at least 2048 are required`, { detail: { key: path, bits } });
  return { privateKey, keyName: keyName ?? `${basename(path)}.pub` };
}

/** Result of {@link generateSigningKey}: the two files written. */
export interface GeneratedKeyFiles {
  privateKeyPath: string;
  publicKeyPath: string;
  keyName: string;
}

/**
 * Generates an RSA key pair and writes `PREFIX.rsa` (PKCS#1 PEM, mode 0600) and `PREFIX.rsa.pub`
 * (SPKI PEM), refusing to overwrite either file. The key name for signatures is `PREFIX.rsa.pub`'s base name.
 */
export async function generateSigningKey(prefix: string, bits = 4096): Promise<GeneratedKeyFiles> {
  if (bits < 2048 || bits > 16384) throw new ApkError('APK_KEY_INVALID', `RSA key size ${bits} is outside 2048..16384`, { detail: { bits } });
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const privateKeyPath = `${prefix}.rsa`;
  const publicKeyPath = `${prefix}.rsa.pub`;
  // Both names are checked before either is written, so a refusal never leaves half a pair.
  await assertDirectory(dirname(privateKeyPath), privateKeyPath);
  await assertAbsent(privateKeyPath);
  await assertAbsent(publicKeyPath);
  await writeFileAtomic(privateKeyPath, privateKey, { exclusive: true, mode: 0o600, createParents: false });
  await writeFileAtomic(publicKeyPath, publicKey, { exclusive: true, mode: 0o644, createParents: false });
  return { privateKeyPath, publicKeyPath, keyName: basename(publicKeyPath) };
}

/** Builds a keyring from paths that are key files or directories of key files (earlier paths win). */
export async function loadKeyringFromPaths(paths: readonly string[]): Promise<Keyring> {
  const keyring = new Map<string, KeyObject>();
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new ApkError('APK_KEY_INVALID', `${path}: no such key file or directory`, { cause: error, detail: { key: path } });
    }
    const part = info.isDirectory() ? await loadKeyring(path) : await loadPublicKeys([path]);
    for (const [name, key] of part) if (!keyring.has(name)) keyring.set(name, key);
  }
  return keyring;
}
