// Table-driven checks of package verification against every fixture in
// test/fixtures/apk/manifest.json (whose values were computed independently from the files).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readGzipMember } from './archive.ts';
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
