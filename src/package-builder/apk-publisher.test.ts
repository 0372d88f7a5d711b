import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, loadSigningKey, readIndexFile } from '../apk/index.ts';
import type { SigningKey } from '../apk/index.ts';
import { assertIndexKeepsSignature, createApkPublisher } from './apk-publisher.ts';
import type { PackageMetadata, PackagePublisher } from './publisher.ts';

function meta(name: string): PackageMetadata {
  return { name, version: '1.0-r0', arch: 'x86_64', description: name, url: '', licenses: ['MIT'], origin: name, commit: 'unknown', buildDate: 0, depends: [], provides: [], replaces: [], triggers: [] };
}

/** Writes package `name` with one file into `dir` and returns its path. */
async function writePackage(publisher: PackagePublisher, dir: string, name: string): Promise<string> {
  const tree = mkdtempSync(join(tmpdir(), 'kiln-publisher-tree-'));
  mkdirSync(join(tree, 'usr', 'share', name), { recursive: true });
  writeFileSync(join(tree, 'usr', 'share', name, 'file'), `${name}\n`);
  return (await publisher.writePackage(join(dir, `${name}-1.0-r0.apk`), tree, meta(name), {}, 0)).file;
}

describe('the apk publisher never downgrades a signed index', () => {
  let key: SigningKey;
  beforeAll(async () => {
    const files = await generateSigningKey(join(mkdtempSync(join(tmpdir(), 'kiln-publisher-key-')), 'builder'), 2048);
    key = await loadSigningKey(files.privateKeyPath);
  });

  it('refuses to replace a signed index without a key, before and at the update, leaving it as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-publisher-'));
    const index = join(dir, 'APKINDEX.tar.gz');
    const signed = createApkPublisher({ signingKey: key });
    await signed.updateIndex(index, [await writePackage(signed, dir, 'first')]);
    const before = readFileSync(index);

    const unsigned = createApkPublisher();
    const second = await writePackage(unsigned, dir, 'second');
    const refusal = { code: 'INDEX_SIGNATURE_DOWNGRADE', detail: { index, signedBy: ['builder.rsa.pub'] } };
    await expect(unsigned.checkIndex(index)).rejects.toMatchObject(refusal);
    await expect(unsigned.checkIndex(index)).rejects.toThrow(`${index} is signed (by builder.rsa.pub) and this run has no signing key`);
    await expect(unsigned.checkIndex(index)).rejects.toThrow(/pass --signing-key KEY/);
    await expect(unsigned.updateIndex(index, [second])).rejects.toMatchObject(refusal);
    expect(readFileSync(index).equals(before)).toBe(true);
  });

  it('updates an unsigned index without a key, a signed one with its key, and passes a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-publisher-'));
    const index = join(dir, 'APKINDEX.tar.gz');
    const unsigned = createApkPublisher();
    await unsigned.checkIndex(index);
    await unsigned.updateIndex(index, [await writePackage(unsigned, dir, 'a')]);
    await unsigned.checkIndex(index);
    await unsigned.updateIndex(index, [await writePackage(unsigned, dir, 'b')]);
    expect((await readIndexFile(index, { allowUntrusted: true })).records.map((record) => record.name)).toEqual(['a', 'b']);

    const signedDir = mkdtempSync(join(tmpdir(), 'kiln-publisher-'));
    const signedIndex = join(signedDir, 'APKINDEX.tar.gz');
    const signed = createApkPublisher({ signingKey: key });
    await signed.updateIndex(signedIndex, [await writePackage(signed, signedDir, 'c')]);
    await signed.checkIndex(signedIndex);
    await signed.updateIndex(signedIndex, [await writePackage(signed, signedDir, 'd')]);
    const after = await readIndexFile(signedIndex, { allowUntrusted: true });
    expect(after.records.map((record) => record.name)).toEqual(['c', 'd']);
    expect(after.signatures.map((signature) => signature.keyName)).toEqual(['builder.rsa.pub']);
  });

  it('names the remedy the caller gives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-publisher-'));
    const index = join(dir, 'APKINDEX.tar.gz');
    const signed = createApkPublisher({ signingKey: key });
    await signed.updateIndex(index, [await writePackage(signed, dir, 'x')]);
    await expect(assertIndexKeepsSignature(index, 'write it elsewhere with -o')).rejects.toThrow(/; write it elsewhere with -o$/);
    await expect(assertIndexKeepsSignature(join(dir, 'absent.tar.gz'), 'unused')).resolves.toBeUndefined();
  });
});

describe('the license line of a written package', () => {
  it('joins several licenses with AND, each compound one in parentheses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-publisher-license-'));
    const tree = mkdtempSync(join(tmpdir(), 'kiln-publisher-tree-'));
    const publisher = createApkPublisher();
    const licensed = (licenses: string[]) => publisher.writePackage(join(dir, `p-${licenses.length}.apk`), tree, { ...meta('p'), licenses }, {}, 0);
    const licenseLine = (pkginfo: string) => pkginfo.split('\n').find((line) => line.startsWith('license = '));
    expect(licenseLine((await licensed(['MIT OR Apache-2.0', 'BSD-3-Clause'])).pkginfo)).toBe('license = (MIT OR Apache-2.0) AND BSD-3-Clause');
    expect(licenseLine((await licensed(['GPL-2.0-or-later'])).pkginfo)).toBe('license = GPL-2.0-or-later');
    expect(licenseLine((await licensed([])).pkginfo)).toBeUndefined();
  });
});
