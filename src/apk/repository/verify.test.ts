// Table-driven checks of package verification against every fixture in
// test/fixtures/apk/manifest.json (whose values were computed independently from the files).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ApkError } from '../errors.ts';
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

describe('verifyPackageFile on a crafted package', () => {
  it('refuses a control member without .PKGINFO, naming the package and the member', async () => {
    const pack = tarStream.pack();
    pack.entry({ name: 'README', mode: 0o644, mtime: new Date(0) }, 'not a package');
    pack.finalize();
    const tar: Buffer[] = [];
    for await (const chunk of pack) tar.push(chunk as Buffer);
    const dir = await mkdtemp(join(tmpdir(), 'kiln-verify-'));
    try {
      const path = join(dir, 'bad-1.0-r0.apk');
      await writeFile(path, Buffer.concat([gzipSync(Buffer.concat(tar)), gzipSync(Buffer.from('data'))]));
      const error = await verifyPackageFile(path, { identity: 'Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=' }, 'bad-1.0-r0').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApkError);
      expect(error).toMatchObject({
        code: 'APK_REPO_PACKAGE_INVALID',
        message: 'bad-1.0-r0: not a valid apk v2 package: control member at byte 0 has no .PKGINFO',
        detail: { package: 'bad-1.0-r0', offset: 0 },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
