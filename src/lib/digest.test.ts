import { describe, expect, it } from 'vitest';
import { algorithmOf, DIGEST_GRAMMAR, digestWith, isDigest, parseDigest, sha256Digest } from './digest.ts';

const SHA256 = '6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b';
const SHA512 = 'f'.repeat(128);

describe('digest grammar (OCI image-spec "Digests")', () => {
  it.each([
    // the spec's examples of well-formed digests, registered algorithms or not
    [`sha256:${SHA256}`, true, true],
    [`sha512:${SHA512}`, true, true],
    ['multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8', true, false],
    ['sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', true, false],
    ['md5:d41d8cd98f00b204e9800998ecf8427e', true, false],
    // well-formed, but not what sha256/sha512 require: exact length, lower-case hex
    [`sha256:${SHA256.toUpperCase()}`, true, false],
    [`sha256:${SHA256.slice(1)}`, true, false],
    [`sha512:${SHA256}`, true, false],
    [`sha256:${SHA256}0`, true, false],
    // malformed
    [`SHA256:${SHA256}`, false, false],
    [`sha256${SHA256}`, false, false],
    ['sha256:', false, false],
    [`:${SHA256}`, false, false],
    [`sha256:${SHA256} `, false, false],
    [`sha256::${SHA256}`, false, false],
    [`+sha256:${SHA256}`, false, false],
  ])('%s: well-formed %s, verifiable %s', (value, wellFormed, verifiable) => {
    expect(DIGEST_GRAMMAR.test(value)).toBe(wellFormed);
    expect(isDigest(value)).toBe(verifiable);
  });

  it('splits, names and computes digests', () => {
    expect(parseDigest(`sha512:${SHA512}`)).toEqual({ algorithm: 'sha512', hex: SHA512 });
    expect(() => parseDigest('md5:d41d8cd98f00b204e9800998ecf8427e')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(algorithmOf(`sha512:${SHA512}`)).toBe('sha512');
    expect(algorithmOf(`sha256:${SHA256}`)).toBe('sha256');
    expect(digestWith('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(digestWith('', 'sha512')).toBe('sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
    expect(digestWith('abc')).toBe(sha256Digest('abc'));
  });
});
