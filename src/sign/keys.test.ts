import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SignError } from './errors.ts';
import { decryptPrivateKey, encryptPrivateKey, fromPem, generateCosignKeyPair, keyHint, loadPublicKey, toPem } from './keys.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'cosign-keys');
const fixture = (name: string) => readFile(join(fixtures, name), 'utf8');

describe('cosign encrypted private keys', () => {
  it.each(['sigstore-p256.key', 'cosign-p256.key'])('decrypts cosign test vector %s with password "hello" to a P-256 PKCS#8 key', async (name) => {
    const key = await decryptPrivateKey(await fixture(name), 'hello', name);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(key.export({ type: 'pkcs8', format: 'der' })).toHaveLength(138);
  });

  it('refuses the old SEC1 (N=65536) vector after a successful decryption, like current cosign', async () => {
    await expect(decryptPrivateKey(await fixture('cosign-sec1-n65536.key'), 'hello')).rejects.toMatchObject({ code: 'KEY_UNSUPPORTED' });
  });

  it('fails the Poly1305 check with any other password, without echoing it', async () => {
    const error = (await decryptPrivateKey(await fixture('sigstore-p256.key'), 'hello!', 'k.key').catch((e: unknown) => e)) as SignError;
    expect(error.code).toBe('KEY_DECRYPT_FAILED');
    expect(error.message).not.toContain('hello');
  });

  it('round-trips a generated key pair; the JSON has cosign fields and parameters', async () => {
    const pair = await generateCosignKeyPair('pw');
    const { label, bytes } = fromPem(pair.privateKeyPem);
    expect(label).toBe('ENCRYPTED SIGSTORE PRIVATE KEY');
    const json = JSON.parse(bytes.toString()) as { kdf: { name: string; params: unknown; salt: string }; cipher: { name: string; nonce: string }; ciphertext: string };
    expect(Object.keys(json)).toEqual(['kdf', 'cipher', 'ciphertext']);
    expect(json.kdf).toMatchObject({ name: 'scrypt', params: { N: 32768, r: 8, p: 1 } });
    expect(Buffer.from(json.kdf.salt, 'base64')).toHaveLength(32);
    expect(json.cipher.name).toBe('nacl/secretbox');
    expect(Buffer.from(json.cipher.nonce, 'base64')).toHaveLength(24);
    expect(Buffer.from(json.ciphertext, 'base64')).toHaveLength(138 + 16);
    expect(pair.privateKeyPem.split('\n').every((line) => line.length <= 64)).toBe(true);
    const key = await decryptPrivateKey(pair.privateKeyPem, 'pw');
    const publicKey = loadPublicKey(pair.publicKeyPem);
    const signature = sign('sha256', Buffer.from('data'), key);
    expect(verify('sha256', Buffer.from('data'), publicKey, signature)).toBe(true);
    expect(keyHint(publicKey)).toBe(keyHint(key));
  });

  it('accepts the empty password', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = await encryptPrivateKey(privateKey, '');
    expect((await decryptPrivateKey(pem, '')).asymmetricKeyType).toBe('ec');
  });

  it('refuses scrypt parameters outside the allow-list before running scrypt', async () => {
    const { bytes } = fromPem((await generateCosignKeyPair('pw')).privateKeyPem);
    const json = JSON.parse(bytes.toString()) as { kdf: { params: { N: number } } };
    json.kdf.params.N = 1 << 24;
    const pem = toPem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from(JSON.stringify(json)));
    await expect(decryptPrivateKey(pem, 'pw')).rejects.toMatchObject({ code: 'KEY_UNSUPPORTED' });
  });

  it('rejects other PEM blocks and unsupported public keys', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    await expect(decryptPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'x')).rejects.toMatchObject({ code: 'KEY_INVALID' });
    expect(() => loadPublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString())).toThrow(SignError);
    expect(() => loadPublicKey('garbage')).toThrow(SignError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(loadPublicKey(rsa.export({ type: 'spki', format: 'pem' }).toString()).asymmetricKeyType).toBe('rsa');
  });
});
