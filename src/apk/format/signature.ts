import { createPublicKey, createSign, createVerify } from 'node:crypto';
import type { KeyObject, Verify } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ApkError } from '../errors.ts';
import { tarWithoutEnd } from './tar.ts';

/** Trusted public keys by key name (the key file's name, e.g. `alpine-devel@…-616ae350.rsa.pub`). */
export type Keyring = ReadonlyMap<string, KeyObject>;

/** Signature algorithms this library verifies, with their digest. DSA (obsolete) is recognised but not verified. */
export const SIGNATURE_DIGESTS = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' } as const;
export type SignatureAlgorithm = keyof typeof SIGNATURE_DIGESTS;

/** A `.SIGN.<ALG>.<keyname>` entry of a package or index. */
export interface SignatureEntry {
  /** The tar entry name. */
  entryName: string;
  /** `RSA`, `RSA256`, `RSA512`, or whatever else the name says (then not verifiable). */
  algorithm: string;
  keyName: string;
  signature: Buffer;
}

/** Largest signature apk-tools reads (it ignores bigger entries); we refuse them. */
export const SIGNATURE_LIMIT = 65536;

/** Splits `.SIGN.<ALG>.<keyname>`; undefined if the name is not a signature entry. */
export function parseSignatureName(name: string): { algorithm: string; keyName: string } | undefined {
  const match = /^\.SIGN\.([^.]+)\.(.+)$/.exec(name);
  return match ? { algorithm: match[1]!, keyName: match[2]! } : undefined;
}

function isVerifiableAlgorithm(algorithm: string): algorithm is SignatureAlgorithm {
  return Object.hasOwn(SIGNATURE_DIGESTS, algorithm);
}

/** apk-tools' rule: the first entry whose algorithm is known and whose key name is trusted. */
export function chooseSignature(entries: readonly SignatureEntry[], keyring: Keyring | undefined): SignatureEntry | undefined {
  if (!keyring) return undefined;
  return entries.find((entry) => isVerifiableAlgorithm(entry.algorithm) && keyring.has(entry.keyName));
}

/** A streaming verifier for one signature over bytes fed with `update`. APK_UNTRUSTED for an
 *  algorithm this library cannot verify (chooseSignature never picks one). */
export function createSignatureVerifier(entry: SignatureEntry): Verify {
  if (!isVerifiableAlgorithm(entry.algorithm)) {
    throw new ApkError('APK_UNTRUSTED', `${entry.entryName}: signature algorithm ${entry.algorithm} cannot be verified (${Object.keys(SIGNATURE_DIGESTS).join(', ')})`, { detail: { entry: entry.entryName, algorithm: entry.algorithm } });
  }
  return createVerify(SIGNATURE_DIGESTS[entry.algorithm]);
}

/** Parses an SPKI PEM public key and checks it is RSA; `name` is used in errors. */
export function parsePublicKey(pem: string | Buffer, name: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new ApkError('APK_KEY_INVALID', `${name}: not a PEM public key`, { cause: error, detail: { key: name } });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ApkError('APK_KEY_INVALID', `${name}: public key is ${key.asymmetricKeyType ?? 'unknown'}, apk signatures need RSA`, { detail: { key: name } });
  }
  return key;
}

/** RSA PKCS#1 v1.5 signature over `data` with the digest of `algorithm` (apk's RSA/RSA256/RSA512). */
export function signBytes(data: Uint8Array, privateKey: KeyObject, algorithm: SignatureAlgorithm = 'RSA256'): Buffer {
  return createSign(SIGNATURE_DIGESTS[algorithm]).update(data).sign(privateKey);
}

/** Most signature entries a package or index may carry: apk-tools verifies one, and signers add
 *  only a few (one per key being rotated in); each is held in memory until the choice is made. */
export const SIGNATURE_ENTRY_LIMIT = 16;
/** Most bytes all signature entries of a package or index may hold together (an RSA-8192
 *  signature is 1 KiB). */
export const SIGNATURE_BYTES_LIMIT = 256 * 1024;

/** The gzip'd signature member (`.SIGN.<ALG>.<key name>`, no end blocks) for a control member. */
export function signatureMember(control: Uint8Array, signer: { privateKey: KeyObject; keyName: string; algorithm?: SignatureAlgorithm }, mtime: number, level = 9): Buffer {
  const algorithm = signer.algorithm ?? 'RSA256';
  if (!signer.keyName || signer.keyName.includes('/')) throw new ApkError('APK_KEY_INVALID', `signing key name ${JSON.stringify(signer.keyName)} is not a file name`, { detail: { key: signer.keyName } });
  const signature = signBytes(control, signer.privateKey, algorithm);
  return gzipSync(tarWithoutEnd([{ name: `.SIGN.${algorithm}.${signer.keyName}`, data: signature, mode: 0o644 }], mtime), { level });
}
