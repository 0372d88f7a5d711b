import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDsseBundle, keyTrustMaterial, parseBundle, verifyDsseBundle } from './bundle.ts';
import { keySigner } from './signer.ts';

const NO_LOG = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
const keys = {
  'P-256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'P-384': () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'P-521': () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  Ed25519: () => generateKeyPairSync('ed25519'),
  'RSA-2048': () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

describe('key-signed DSSE bundles', () => {
  // cosign signs with the hash it pairs with the key (SHA-384 for P-384, SHA-512 for P-521); the
  // envelope must verify with the same hash, not the SHA-256 a plain DSSE check assumes.
  it.each(Object.entries(keys))('verify with the hash cosign pairs with a %s key, and only with that key', async (_name, generate) => {
    const { privateKey, publicKey } = generate();
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const { json } = await createDsseBundle(keySigner(privateKey), payload, 'application/vnd.in-toto+json');
    const verified = verifyDsseBundle(parseBundle(json, 'bundle'), keyTrustMaterial([publicKey]), NO_LOG, 'bundle');
    expect(verified.payload.equals(payload)).toBe(true);
    expect(verified.timestamps).toEqual([]);
    const other = generate().publicKey;
    expect(() => verifyDsseBundle(parseBundle(json, 'bundle'), keyTrustMaterial([other]), NO_LOG, 'bundle')).toThrow(/not among the keys given|SIGNATURE_ERROR/);
  });

  it('rejects an envelope whose payload was changed after signing', async () => {
    const { privateKey, publicKey } = keys['P-384']();
    const { json } = await createDsseBundle(keySigner(privateKey), Buffer.from('{"a":1}'), 'application/vnd.in-toto+json');
    const bundle = JSON.parse(Buffer.from(json).toString()) as { dsseEnvelope: { payload: string } };
    bundle.dsseEnvelope.payload = Buffer.from('{"a":2}').toString('base64');
    const changed = parseBundle(Buffer.from(JSON.stringify(bundle)), 'bundle');
    expect(() => verifyDsseBundle(changed, keyTrustMaterial([publicKey]), NO_LOG, 'bundle')).toThrow(/SIGNATURE_ERROR/);
  });
});
