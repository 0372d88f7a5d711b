// Table-driven checks of index and package verification against every fixture in
// test/fixtures/apk/manifest.json (whose values were computed independently from the files).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApkError } from '../errors.ts';
import { readGzipMember } from './archive.ts';
import { readIndexMember, splitIndex, verifyIndexSignature } from './index-reader.ts';
import { loadRepositoryKeyring } from './keyring.ts';
import { verifyPackageFile } from './package-verify.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');

interface ManifestItem {
  file: string;
  kind: 'index' | 'package';
  gzip_members: number;
  identity?: string;
  datahash_matches?: boolean;
  records?: number;
  signatures?: Array<{ entry: string; keyname: string; verifies_with: string[] }>;
}

const manifest = JSON.parse(await readFile(join(fixtures, 'manifest.json'), 'utf8')) as { items: ManifestItem[] };
const packages = manifest.items.filter((item) => item.kind === 'package');
const indexes = manifest.items.filter((item) => item.kind === 'index');

describe('verifyPackageFile', () => {
  it.each(packages.map((item) => [item.file, item] as const))('%s', async (file, item) => {
    const path = join(fixtures, file);
    const size = (await readFile(path)).length;
    const check = verifyPackageFile(path, { identity: item.identity!, size }, file);
    if (item.datahash_matches) {
      const verified = await check;
      expect(verified.identity).toBe(item.identity);
      expect(verified.size).toBe(size);
    } else {
      await expect(check).rejects.toMatchObject({ code: 'APK_REPO_PACKAGE_DATAHASH_MISMATCH' });
    }
  });

  it('rejects an identity that is not the control member digest', async () => {
    const path = join(fixtures, 'apko', 'hello-0.1.0-r0.apk');
    await expect(verifyPackageFile(path, { identity: 'Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=' }, 'hello')).rejects.toMatchObject({
      code: 'APK_REPO_PACKAGE_IDENTITY_MISMATCH',
    });
  });

  it('rejects a file that is not an apk', async () => {
    const path = join(fixtures, 'version.data');
    await expect(verifyPackageFile(path, { identity: 'Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=' }, 'version.data')).rejects.toMatchObject({
      code: 'APK_REPO_PACKAGE_INVALID',
    });
  });
});

describe('index verification', () => {
  const verifiable = indexes.filter((item) => item.signatures?.some((signature) => signature.verifies_with.length > 0));
  it.each(verifiable.map((item) => [item.file, item] as const))('%s verifies and parses', async (file, item) => {
    const bytes = await readFile(join(fixtures, file));
    const signature = item.signatures!.find((entry) => entry.verifies_with.length > 0)!;
    const keyring = await loadRepositoryKeyring(signature.verifies_with.map((key) => join(fixtures, key)));
    const split = splitIndex(bytes, file);
    expect(split.signatures.map((entry) => `.SIGN.${entry.algorithm}.${entry.keyName}`)).toEqual(item.signatures!.map((entry) => entry.entry));
    expect(verifyIndexSignature(bytes, split, keyring, { source: file }).keyName).toBeDefined();
    expect(readIndexMember(bytes, split.signedOffset, file).records).toHaveLength(item.records!);
  });

  it('verifies the real Alpine indexes with Alpine keys and not with another Alpine key', async () => {
    const bytes = await readFile(join(fixtures, 'apko', 'alpine-316', 'APKINDEX.tar.gz'));
    const split = splitIndex(bytes, 'alpine-316');
    const keys = await loadRepositoryKeyring([join(fixtures, 'keys')]);
    expect(verifyIndexSignature(bytes, split, keys, { source: 'alpine-316' }).keyName).toBe('alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
    const other = await loadRepositoryKeyring([join(fixtures, 'apko', 'alpine-316', 'alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub')]);
    expect(() => verifyIndexSignature(bytes, split, other, { source: 'alpine-316' })).toThrow(expect.objectContaining({ code: 'APK_REPO_INDEX_UNTRUSTED' }));
    expect(readIndexMember(bytes, split.signedOffset, 'alpine-316').description).toBe('v3.16.3-13-g4d933a1fa3');
  });

  it('rejects the hand-made single-member index that hides a .SIGN entry inside the tar', async () => {
    const bytes = await readFile(join(fixtures, 'apko', 'APKINDEX.tar.gz'));
    const split = splitIndex(bytes, 'apko');
    expect(split.signatures).toEqual([]);
    expect(() => readIndexMember(bytes, split.signedOffset, 'apko')).toThrow(expect.objectContaining({ code: 'APK_REPO_INDEX_INVALID' }));
  });

  it('rejects trailing bytes and garbage with APK_REPO_INDEX_INVALID', async () => {
    const bytes = await readFile(join(fixtures, 'apko-cli-packages', 'x86_64', 'APKINDEX.tar.gz'));
    const split = splitIndex(bytes, 'x');
    const trailing = Buffer.concat([bytes, Buffer.from('junk')]);
    expect(() => readIndexMember(trailing, split.signedOffset, 'x')).toThrow(ApkError);
    expect(() => readIndexMember(Buffer.from('not gzip at all'), 0, 'x')).toThrow(expect.objectContaining({ code: 'APK_REPO_INDEX_INVALID' }));
  });
});

describe('readGzipMember', () => {
  it('finds exact member boundaries in any concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const members = parts.map((part) => gzipSync(part));
        const joined = Buffer.concat(members);
        let offset = 0;
        parts.forEach((part, index) => {
          const member = readGzipMember(joined, offset, 1 << 20);
          expect(member.end - member.start).toBe(members[index]!.length);
          expect(Buffer.compare(member.data, Buffer.from(part))).toBe(0);
          offset = member.end;
        });
        expect(offset).toBe(joined.length);
      }),
      { numRuns: 50 },
    );
  });

  it('says a cut member is truncated, and a corrupt one is not', () => {
    const member = gzipSync(Buffer.alloc(5000, 7));
    expect(() => readGzipMember(member.subarray(0, member.length - 12), 0, 1 << 20)).toThrow(expect.objectContaining({ truncated: true }));
    const corrupt = Buffer.from(member);
    corrupt[corrupt.length - 6]! ^= 0xff; // CRC/length trailer
    expect(() => readGzipMember(corrupt, 0, 1 << 20)).toThrow(expect.objectContaining({ truncated: false }));
  });
});
