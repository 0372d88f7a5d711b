import { chmod, copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readIndexFile, writeIndexFile } from './index-files.ts';
import { generateSigningKey, loadKeyring, loadKeyringFromPaths, loadSigningKey } from './keys.ts';
import { entriesFromDirectory, resignApkFile, verifyApkFile, writeApkFile } from './package-files.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-apk-files-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('keys', () => {
  it('generates PKCS#1 / SPKI PEM files with safe modes and refuses to overwrite them', async () => {
    const files = await generateSigningKey(join(work, 'k'), 2048);
    expect(files.keyName).toBe('k.rsa.pub');
    expect((await readFile(files.privateKeyPath, 'utf8')).startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true);
    expect((await readFile(files.publicKeyPath, 'utf8')).startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    expect((await stat(files.privateKeyPath)).mode & 0o777).toBe(0o600);
    await expect(generateSigningKey(join(work, 'k'), 2048)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect((await loadSigningKey(files.privateKeyPath)).keyName).toBe('k.rsa.pub');
    await expect(loadSigningKey(files.publicKeyPath)).rejects.toMatchObject({ code: 'APK_KEY_INVALID' });
  });

  it('loads a keyring directory by file name; earlier directories hide later ones; bad keys are errors', async () => {
    const keyring = await loadKeyring(join(fixtures, 'keys'));
    expect([...keyring.keys()].sort()).toEqual([
      'alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub', 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub',
      'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub', 'wolfi-signing.rsa.pub',
    ]);
    await mkdir(join(work, 'first'));
    await copyFile(join(fixtures, 'apko-cli-packages', 'melange.rsa.pub'), join(work, 'first', 'wolfi-signing.rsa.pub'));
    const layered = await loadKeyring([join(work, 'first'), join(fixtures, 'keys'), join(work, 'missing')]);
    expect(layered.get('wolfi-signing.rsa.pub')!.export({ format: 'pem', type: 'spki' })).toBe(await readFile(join(fixtures, 'apko-cli-packages', 'melange.rsa.pub'), 'utf8'));
    await writeFile(join(work, 'first', 'junk.rsa.pub'), 'not a key');
    await expect(loadKeyring(join(work, 'first'))).rejects.toMatchObject({ code: 'APK_KEY_INVALID', message: expect.stringContaining('junk.rsa.pub') });
    expect([...(await loadKeyringFromPaths([join(fixtures, 'apko-cli-packages', 'melange.rsa.pub')])).keys()]).toEqual(['melange.rsa.pub']);
  });
});

describe('package files', () => {
  it('lists a tree with modes, symlinks and hard links (target = bytewise-first path)', async () => {
    const root = join(work, 'root');
    await mkdir(join(root, 'b'), { recursive: true });
    await writeFile(join(root, 'b', 'file'), 'data');
    await chmod(join(root, 'b', 'file'), 0o4755);
    await link(join(root, 'b', 'file'), join(root, 'a-link'));
    await symlink('/etc/passwd', join(root, 'b', 'sym'));
    const entries = await entriesFromDirectory(root);
    expect(entries.map((e) => [e.path, e.type, e.linkTarget ?? '', (e.mode ?? 0).toString(8)])).toEqual([
      ['a-link', 'file', '', '4755'], ['b', 'directory', '', '755'], ['b/file', 'hardlink', 'a-link', '4755'], ['b/sym', 'symlink', '/etc/passwd', '777'],
    ]);
  });

  it('writes atomically: a failing content stream leaves no output and no temporary file', async () => {
    const out = join(work, 'out', 'x.apk');
    const failing = async function* (): AsyncIterable<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('disk gone');
    };
    await expect(writeApkFile(out, { pkginfo: { name: 'x', version: '1-r0' }, entries: [{ path: 'f', type: 'file', content: failing }], mtime: 0 })).rejects.toThrow('disk gone');
    expect(await readdir(join(work, 'out'))).toEqual([]);
  });

  it('writes a package and an index that read back verified', async () => {
    const key = await generateSigningKey(join(work, 'k'), 2048);
    const signer = await loadSigningKey(key.privateKeyPath);
    const built = await writeApkFile(join(work, 'x-1-r0.apk'), { pkginfo: { name: 'x', version: '1-r0', arch: 'noarch' }, entries: [{ path: 'f', type: 'file', content: 'y' }], mtime: 5, signer });
    const keyring = await loadKeyringFromPaths([key.publicKeyPath]);
    const summary = await verifyApkFile(join(work, 'x-1-r0.apk'), { keyring });
    expect(summary.control.identity).toBe(built.identity);
    const { records } = await writeIndexFile(join(work, 'APKINDEX.tar.gz'), [join(work, 'x-1-r0.apk')], { signer, keyring });
    expect(records[0]).toMatchObject({ name: 'x', identity: built.identity, size: built.fileSize });
    expect((await readIndexFile(join(work, 'APKINDEX.tar.gz'), { keyring })).records).toEqual(records);
  });

  it('refuses to index a package that fails verification, leaving no index behind', async () => {
    await expect(writeIndexFile(join(work, 'APKINDEX.tar.gz'), [join(fixtures, 'apko', 'hello-0.1.0-r0.apk'), join(fixtures, 'wolfi', 'neon-4604-r0.apk')])).rejects.toMatchObject({
      code: 'APK_DATAHASH_MISMATCH', message: expect.stringContaining('neon-4604-r0.apk'),
    });
    expect(await readdir(work)).toEqual([]);
    await expect(verifyApkFile(join(work, 'missing.apk'), { allowUntrusted: true })).rejects.toMatchObject({ code: 'APK_PACKAGE_INVALID', message: expect.stringContaining('missing.apk: cannot read') });
  });

  it('indexes the apko-cli packages into the same records as their published index', async () => {
    const dir = join(fixtures, 'apko-cli-packages', 'x86_64');
    const published = await readIndexFile(join(dir, 'APKINDEX.tar.gz'), { keyring: await loadKeyringFromPaths([join(fixtures, 'apko-cli-packages', 'melange.rsa.pub')]) });
    const names = (await readdir(dir)).filter((name) => name.endsWith('.apk')).map((name) => join(dir, name));
    const { records } = await writeIndexFile(join(work, 'APKINDEX.tar.gz'), names);
    for (const record of published.records) {
      const ours = records.find((r) => r.name === record.name)!;
      expect({ C: ours.identity, V: ours.version, S: ours.size, I: ours.installedSize, D: ours.depends, p: ours.provides }).toEqual({
        C: record.identity, V: record.version, S: record.size, I: record.installedSize, D: record.depends, p: record.provides,
      });
    }
  });

  it('re-signs melange-sign/test.apk with test.pem (RSA256): identity unchanged, new key verifies, old one no longer needed', async () => {
    const source = join(fixtures, 'melange-sign', 'test.apk');
    const wolfi = await loadKeyringFromPaths([join(fixtures, 'keys', 'wolfi-signing.rsa.pub')]);
    const before = await verifyApkFile(source, { keyring: wolfi });
    const signer = await loadSigningKey(join(fixtures, 'melange-sign', 'test.pem'));
    expect(signer.keyName).toBe('test.pem.pub');
    const out = join(work, 'resigned.apk');
    const result = await resignApkFile(source, out, signer, { keyring: wolfi });
    expect(result.identity).toBe(before.control.identity);
    const after = await verifyApkFile(out, { keyring: await loadKeyringFromPaths([join(fixtures, 'melange-sign', 'test.pem.pub')]) });
    expect(after.control).toMatchObject({ identity: before.control.identity, trust: 'signature', signedBy: 'test.pem.pub' });
    expect(after.control.signatures.map((s) => `${s.algorithm}.${s.keyName}`)).toEqual(['RSA256.test.pem.pub']);
    expect(after.end.datahash).toBe(before.end.datahash);
    await expect(verifyApkFile(out, { keyring: wolfi })).rejects.toMatchObject({ code: 'APK_UNTRUSTED' });
    const both = await resignApkFile(source, join(work, 'both.apk'), signer, { keepExisting: true });
    expect((await verifyApkFile(join(work, 'both.apk'), { keyring: wolfi })).control.signatures.map((s) => s.keyName)).toEqual(['test.pem.pub', 'wolfi-signing.rsa.pub']);
    expect(both.fileSize).toBe((await stat(join(work, 'both.apk'))).size);
  });
});
