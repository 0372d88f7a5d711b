import { createPrivateKey, createPublicKey, createHash, generateKeyPairSync, randomBytes, scrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { SignError } from './errors.ts';

/** PEM label cosign writes for encrypted private keys (the older COSIGN label is read too). */
export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

/** KDF parameters Kiln writes (cosign's) and the ones it accepts on read: a crafted file cannot
 *  make us run a huge scrypt. */
const WRITE_PARAMS = { N: 32768, r: 8, p: 1 } as const;
const ACCEPTED_N = new Set([32768, 65536]);

/** A generated key pair in cosign's file formats. */
export interface CosignKeyPair {
  /** `cosign.key`: PKCS#8 encrypted with scrypt + NaCl secretbox, PEM `ENCRYPTED SIGSTORE PRIVATE KEY`. */
  privateKeyPem: string;
  /** `cosign.pub`: PEM `PUBLIC KEY` (SubjectPublicKeyInfo). */
  publicKeyPem: string;
}

interface EncryptedKeyJson {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

/** Wraps DER/bytes as PEM with 64-character lines. */
export function toPem(label: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Reads the first PEM block: its label and decoded bytes. */
export function fromPem(text: string, source = 'key'): { label: string; bytes: Buffer } {
  const match = text.match(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/);
  if (!match) throw new SignError('KEY_INVALID', `${source}: no PEM block found`, { detail: { source } });
  return { label: match[1]!, bytes: Buffer.from(match[2]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64') };
}

function deriveKey(password: Uint8Array, salt: Uint8Array, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // OpenSSL counts a little more than 128·N·r bytes; the default 32 MiB maxmem refuses N=32768.
  const maxmem = 256 * params.N * params.r + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Encrypts a private key as cosign does: random salt and nonce, scrypt(N=32768,r=8,p=1) → 32-byte
 *  key, NaCl secretbox over the PKCS#8 DER. The unencrypted DER exists only in memory. */
export async function encryptPrivateKey(privateKey: KeyObject, password: string): Promise<string> {
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = await deriveKey(Buffer.from(password, 'utf8'), salt, WRITE_PARAMS);
  const ciphertext = nacl.secretbox(der, nonce, key);
  der.fill(0);
  key.fill(0);
  const json: EncryptedKeyJson = {
    kdf: { name: 'scrypt', params: { ...WRITE_PARAMS }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return toPem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(JSON.stringify(json)));
}

/** Decrypts a cosign `cosign.key` (either PEM label) with the password. Errors say which check
 *  failed but never anything about the password itself. */
export async function decryptPrivateKey(pem: string, password: string, source = 'cosign.key'): Promise<KeyObject> {
  const { label, bytes } = fromPem(pem, source);
  if (label !== SIGSTORE_PRIVATE_KEY_LABEL && label !== COSIGN_PRIVATE_KEY_LABEL) {
    throw new SignError('KEY_INVALID', `${source}: PEM block is "${label}", expected "${SIGSTORE_PRIVATE_KEY_LABEL}" (a cosign.key)`, { detail: { source, label } });
  }
  let json: EncryptedKeyJson;
  try {
    json = JSON.parse(bytes.toString('utf8')) as EncryptedKeyJson;
  } catch (error) {
    throw new SignError('KEY_INVALID', `${source}: encrypted key body is not JSON`, { cause: error, detail: { source } });
  }
  if (json?.kdf?.name !== 'scrypt' || json.cipher?.name !== 'nacl/secretbox') {
    throw new SignError('KEY_UNSUPPORTED', `${source}: kdf ${JSON.stringify(json?.kdf?.name)} / cipher ${JSON.stringify(json?.cipher?.name)}; only scrypt + nacl/secretbox are supported`, { detail: { source } });
  }
  const params = json.kdf.params ?? ({} as EncryptedKeyJson['kdf']['params']);
  if (!ACCEPTED_N.has(params.N) || params.r !== 8 || params.p !== 1) {
    throw new SignError('KEY_UNSUPPORTED', `${source}: scrypt parameters N=${params.N} r=${params.r} p=${params.p} are not accepted (N 32768 or 65536, r 8, p 1)`, { detail: { source } });
  }
  const salt = Buffer.from(json.kdf.salt ?? '', 'base64');
  const nonce = Buffer.from(json.cipher.nonce ?? '', 'base64');
  const ciphertext = Buffer.from(json.ciphertext ?? '', 'base64');
  if (nonce.length !== 24 || salt.length === 0 || ciphertext.length <= 16) {
    throw new SignError('KEY_INVALID', `${source}: salt, nonce or ciphertext has the wrong length`, { detail: { source } });
  }
  const key = await deriveKey(Buffer.from(password, 'utf8'), salt, params);
  const plain = nacl.secretbox.open(ciphertext, nonce, key);
  key.fill(0);
  if (!plain) throw new SignError('KEY_DECRYPT_FAILED', `${source}: decryption failed (wrong password or corrupted key)`, { detail: { source } });
  try {
    return createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new SignError('KEY_UNSUPPORTED', `${source}: decrypted key is not PKCS#8 (old cosign keys held SEC1 EC keys; re-import them with a current cosign)`, {
      cause: error,
      detail: { source },
    });
  } finally {
    plain.fill(0);
  }
}

/** Generates a P-256 key pair and returns both files' contents. */
export async function generateCosignKeyPair(password: string): Promise<CosignKeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKeyPem: await encryptPrivateKey(privateKey, password), publicKeyPem: publicKeyToPem(publicKey) };
}

/** PEM `PUBLIC KEY` of a key. */
export function publicKeyToPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** Loads a public key (PEM `PUBLIC KEY`, or a certificate's key) and checks cosign accepts its type. */
export function loadPublicKey(pem: string, source = 'cosign.pub'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new SignError('KEY_INVALID', `${source}: not a PEM public key`, { cause: error, detail: { source } });
  }
  assertSupportedKey(key, source);
  return key;
}

/** Loads an unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1), as `cosign import-key-pair` reads. */
export function loadPlainPrivateKey(pem: string, source = 'key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new SignError('KEY_INVALID', `${source}: not a PEM private key`, { cause: error, detail: { source } });
  }
  assertSupportedKey(key, source);
  return key;
}

/** Accepts what cosign does: ECDSA P-256/384/521, RSA 2048–4096, Ed25519. */
function assertSupportedKey(key: KeyObject, source: string): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec' && ['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '')) return;
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048 && (details.modulusLength ?? 0) <= 4096) return;
  if (type === 'ed25519') return;
  throw new SignError('KEY_UNSUPPORTED', `${source}: ${type ?? 'unknown'} ${details.namedCurve ?? details.modulusLength ?? ''} keys are not supported (ECDSA P-256/384/521, RSA 2048-4096, Ed25519)`, {
    detail: { source },
  });
}

/** The hash cosign pairs with a key: SHA-256 except P-384 (SHA-384), P-521 (SHA-512), Ed25519 (none). */
export function hashFor(key: KeyObject): 'sha256' | 'sha384' | 'sha512' | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return 'sha384';
  if (curve === 'secp521r1') return 'sha512';
  return 'sha256';
}

/** cosign v3's key hint: base64(SHA-256(DER SubjectPublicKeyInfo)). */
export function keyHint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}
