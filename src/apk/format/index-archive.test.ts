import { createReadStream, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildIndex, compareIndexRecords, readIndex, recheckIndex, verifyIndex } from './index-archive.ts';
import { parsePublicKey } from './signature.ts';
import type { Keyring } from './signature.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
interface ManifestItem { file: string; kind: string; records?: number; signatures: Array<{ keyname: string; verifies_with: string[] }> }
const manifest = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8')) as { items: ManifestItem[] };

function keys(...files: string[]): Keyring {
  return new Map(files.map((file) => [file.split('/').pop()!, parsePublicKey(readFileSync(join(fixtures, file)), file)]));
}
const open = (file: string) => createReadStream(join(fixtures, file));
const alpineKeys = keys('keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub', 'keys/alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub');

describe('readIndex', () => {
  const signed = manifest.items.filter((item) => item.kind === 'index' && item.signatures.some((s) => s.verifies_with.length > 0));
  for (const item of signed) {
    it(`${item.file}: verifies with its key and has ${item.records} records`, async () => {
      const keyring = keys(...item.signatures.flatMap((s) => s.verifies_with));
      const index = await readIndex(open(item.file), { name: item.file, keyring });
      expect(index.trust).toBe('signature');
      expect(index.records).toHaveLength(item.records!);
      expect(index.signedBy).toBe(item.signatures[0]!.keyname);
    });
  }

  it('verifies the real Alpine 3.16 and 3.17 indexes (RSA/SHA-1) with Alpine keys', async () => {
    const i316 = await readIndex(open('apko/alpine-316/APKINDEX.tar.gz'), { keyring: alpineKeys });
    expect(i316).toMatchObject({ trust: 'signature', signedBy: 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub', description: 'v3.16.3-13-g4d933a1fa3' });
    expect(i316.records).toHaveLength(4929);
    const i317 = await readIndex(open('apko/alpine-317/APKINDEX.tar.gz'), { keyring: alpineKeys });
    expect(i317.records).toHaveLength(5004);
    expect(i317.signatures).toEqual([{ algorithm: 'RSA', keyName: 'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub', verified: true, trusted: true }]);
  });

  it('uses the first trusted of three signatures, and any one of the three keys suffices', async () => {
    const dir = 'apko/signing/keys';
    const names = manifest.items.find((item) => item.file === 'apko/signing/APKINDEX.tar.gz')!.signatures.map((s) => s.keyname);
    for (const [position, name] of names.entries()) {
      const index = await readIndex(open('apko/signing/APKINDEX.tar.gz'), { keyring: keys(`${dir}/${name}`) });
      expect(index.signedBy).toBe(name);
      expect(index.signatures.map((s) => s.verified)).toEqual(names.map((_, i) => i === position));
    }
  });

  it('fails when the first trusted signature is made by a different key with that name', async () => {
    // The Alpine x86_64 key given under the name the chainguard signature claims: apk-tools checks that entry and fails.
    const wrong = new Map([[manifest.items.find((item) => item.file === 'apko/signing/APKINDEX.tar.gz')!.signatures[0]!.keyname, [...alpineKeys.values()][0]!]]);
    await expect(readIndex(open('apko/signing/APKINDEX.tar.gz'), { keyring: wrong })).rejects.toMatchObject({ code: 'APK_SIGNATURE_INVALID' });
  });

  it('refuses an index signed only by unknown keys unless untrusted input is allowed', async () => {
    await expect(readIndex(open('apko/alpine-317/APKINDEX.tar.gz'), { name: 'idx', keyring: keys('keys/wolfi-signing.rsa.pub') })).rejects.toMatchObject({
      code: 'APK_UNTRUSTED', message: expect.stringContaining('616ae350'),
    });
    const index = await readIndex(open('apko/alpine-317/APKINDEX.tar.gz'), { allowUntrusted: true });
    expect(index.trust).toBe('untrusted');
  });

  it('refuses a dot entry inside the index tar, but parses it in lenient mode', async () => {
    await expect(readIndex(open('apko/APKINDEX.tar.gz'), { allowUntrusted: true })).rejects.toMatchObject({ code: 'APK_INDEX_INVALID', message: expect.stringContaining('.SIGN.RSA.main@tainer.com-abcdef12.rsa.pub') });
    const index = await readIndex(open('apko/APKINDEX.tar.gz'), { lenient: true });
    expect(index.records.map((r) => r.name)).toEqual(['a-pkg', 'b-pkg']);
    expect(index.skipped).toEqual(['.SIGN.RSA.main@tainer.com-abcdef12.rsa.pub']);
    expect(index.trust).toBe('untrusted');
  });
});

describe('verifyIndex', () => {
  it('finds the same signatures and trust as readIndex, without records', async () => {
    for (const file of ['apko/alpine-317/APKINDEX.tar.gz', 'apko/signing/APKINDEX.tar.gz']) {
      const keyring = file.includes('alpine') ? alpineKeys : keys(`apko/signing/keys/${manifest.items.find((item) => item.file === file)!.signatures[1]!.keyname}`);
      const { records, text, ...read } = await readIndex(open(file), { keyring });
      expect(records.length).toBeGreaterThan(0);
      expect(text.length).toBeGreaterThan(0);
      const verified = await verifyIndex(open(file), { keyring });
      expect(verified).toEqual(read);
      expect(verified).not.toHaveProperty('records');
    }
  });

  it('refuses what readIndex refuses: a bad signature, an untrusted signer, a dot entry, a corrupt index member', async () => {
    const wrong = new Map([[manifest.items.find((item) => item.file === 'apko/signing/APKINDEX.tar.gz')!.signatures[0]!.keyname, [...alpineKeys.values()][0]!]]);
    await expect(verifyIndex(open('apko/signing/APKINDEX.tar.gz'), { keyring: wrong })).rejects.toMatchObject({ code: 'APK_SIGNATURE_INVALID' });
    await expect(verifyIndex(open('apko/alpine-317/APKINDEX.tar.gz'), { keyring: keys('keys/wolfi-signing.rsa.pub') })).rejects.toMatchObject({ code: 'APK_UNTRUSTED' });
    await expect(verifyIndex(open('apko/APKINDEX.tar.gz'), { allowUntrusted: true })).rejects.toMatchObject({ code: 'APK_INDEX_INVALID' });
    const bytes = readFileSync(join(fixtures, 'apko/alpine-317/APKINDEX.tar.gz'));
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 100]! ^= 0xff;
    await expect(verifyIndex(Readable.from([damaged]), { keyring: alpineKeys })).rejects.toMatchObject({ code: expect.stringMatching(/^APK_(INDEX|SIGNATURE|GZIP)_INVALID$/) });
  });
});

describe('recheckIndex', () => {
  const alpine317 = readFileSync(join(fixtures, 'apko/alpine-317/APKINDEX.tar.gz'));
  const signing = readFileSync(join(fixtures, 'apko/signing/APKINDEX.tar.gz'));
  const signingNames = manifest.items.find((item) => item.file === 'apko/signing/APKINDEX.tar.gz')!.signatures.map((s) => s.keyname);
  const signingKey = (position: number): Keyring => keys(`apko/signing/keys/${signingNames[position]!}`);

  it('decides as a full read does, from the check that read left', async () => {
    const { check } = await verifyIndex(Readable.from([alpine317]), { keyring: alpineKeys });
    expect(check.signedFrom).toBeGreaterThan(0);
    expect(recheckIndex(alpine317, check, { keyring: alpineKeys })).toEqual(await verifyIndex(Readable.from([alpine317]), { keyring: alpineKeys }));
    // The same check under a keyring that trusts none of its signers, untrusted input allowed.
    const untrusted = recheckIndex(alpine317, check, { keyring: keys('keys/wolfi-signing.rsa.pub'), allowUntrusted: true });
    expect(untrusted).toEqual({ ...(await verifyIndex(Readable.from([alpine317]), { keyring: keys('keys/wolfi-signing.rsa.pub'), allowUntrusted: true })), check });
    const second = (await verifyIndex(Readable.from([signing]), { keyring: signingKey(1) })).check;
    expect(recheckIndex(signing, second, { keyring: signingKey(1) })).toMatchObject({ trust: 'signature', signedBy: signingNames[1] });
  });

  it('leaves to a full read what it cannot decide the same way', async () => {
    const { check } = await verifyIndex(Readable.from([alpine317]), { keyring: alpineKeys });
    const tampered = Buffer.from(alpine317);
    tampered[tampered.length - 100]! ^= 0xff;
    expect(recheckIndex(tampered, check, { keyring: alpineKeys })).toBeUndefined();
    // Another key under the trusted name, an untrusted index not allowed, a check that is not one.
    expect(recheckIndex(alpine317, check, { keyring: new Map([...alpineKeys.keys()].map((name) => [name, [...keys('keys/wolfi-signing.rsa.pub').values()][0]!])) })).toBeUndefined();
    expect(recheckIndex(alpine317, check, { keyring: keys('keys/wolfi-signing.rsa.pub') })).toBeUndefined();
    expect(recheckIndex(alpine317, { ...check, signatures: 'none' } as never, { keyring: alpineKeys })).toBeUndefined();
    expect(recheckIndex(alpine317, { ...check, signedFrom: alpine317.length }, { keyring: alpineKeys })).toBeUndefined();
    // A keyring that would pick a signature whose bytes the first read did not keep.
    const second = (await verifyIndex(Readable.from([signing]), { keyring: signingKey(1) })).check;
    expect(recheckIndex(signing, second, { keyring: signingKey(0) })).toBeUndefined();
  });
});

describe('buildIndex', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyring = new Map([['kiln-test.rsa.pub', publicKey]]);

  it('round-trips the Alpine 3.17 index field for field, sorted, signed, with DESCRIPTION first', async () => {
    const original = await readIndex(open('apko/alpine-317/APKINDEX.tar.gz'), { keyring: alpineKeys });
    const bytes = buildIndex(original.records, { description: original.description!, signer: { privateKey, keyName: 'kiln-test.rsa.pub' } });
    const again = await readIndex(Readable.from([bytes]), { keyring });
    expect(again.trust).toBe('signature');
    expect(again.description).toBe(original.description);
    expect(again.records).toEqual([...original.records].sort(compareIndexRecords));
    // deterministic
    expect(buildIndex([...original.records].reverse(), { description: original.description!, signer: { privateKey, keyName: 'kiln-test.rsa.pub' } }).equals(bytes)).toBe(true);
    // GNU tar order inside the index member: DESCRIPTION then APKINDEX
    const names = gunzipSync(bytes).toString('latin1').match(/(DESCRIPTION|APKINDEX)\0/g);
    expect(names!.slice(0, 2)).toEqual(['DESCRIPTION\0', 'APKINDEX\0']);
  });

  it('detects a tampered index member', async () => {
    const original = await readIndex(open('apko-cli-packages/x86_64/APKINDEX.tar.gz'), { allowUntrusted: true });
    const bytes = buildIndex(original.records, { signer: { privateKey, keyName: 'kiln-test.rsa.pub' } });
    const other = buildIndex(original.records.slice(1), {});
    const signatureMember = bytes.subarray(0, bytes.length - buildIndex(original.records, {}).length);
    await expect(readIndex(Readable.from([Buffer.concat([signatureMember, other])]), { keyring })).rejects.toMatchObject({ code: 'APK_SIGNATURE_INVALID' });
  });

  it('sorts by name case-insensitively, then name, then version', () => {
    const record = (name: string, version: string) => ({ identity: `Q1${name}${version}`, name, version, depends: [], provides: [], installIf: [], replaces: [], unknown: [] });
    const sorted = [record('b', '1'), record('B', '1'), record('a', '1.10'), record('a', '1.9')].sort(compareIndexRecords);
    expect(sorted.map((r) => `${r.name}-${r.version}`)).toEqual(['a-1.9', 'a-1.10', 'B-1', 'b-1']);
  });
});
