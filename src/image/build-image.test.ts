import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRepositoryClient } from '../apk/repository/index.ts';
import type { RepositoryClientHandle } from '../apk/repository/index.ts';
import { startRepoServer } from '../apk/repository/test-server.ts';
import { loadImageConfigText } from './config/load.ts';
import { ApkError, emptyRecord } from '../apk/index.ts';
import { buildImage, commonPins, installedDependencies } from './build-image.ts';
import type { PackageRepositoryPort } from './build-image.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'apk', 'apko-cli-packages');
const CONFIG = `
contents:
  repositories: [${fixtures}]
  keyring: [${join(fixtures, 'melange.rsa.pub')}]
  packages: [replayout]
archs: [x86_64, aarch64]
accounts:
  users: [{username: nonroot, uid: 65532}]
  run-as: nonroot
`;

let cache: string;
let handle: RepositoryClientHandle;
beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'kiln-image-build-'));
  handle = await openRepositoryClient({ cacheDir: cache, keyringPaths: [join(fixtures, 'melange.rsa.pub')] });
});
afterAll(async () => {
  handle.close();
  await rm(cache, { recursive: true, force: true });
});

describe('buildImage', () => {
  it('resolves, verifies and assembles a two-arch index with SBOMs and a lock', async () => {
    const loaded = loadImageConfigText(CONFIG, 'image.yaml');
    const result = await buildImage({ loaded, repository: handle.client, tag: 'example.com/demo:1' });
    expect(result.arches.map((arch) => arch.arch.oci)).toEqual(['amd64', 'arm64']);
    expect(result.arches[0]!.result.installed.map((pkg) => pkg.control.pkginfo.name)).toEqual(['pretend-baselayout', 'replayout']);
    expect(result.lock.contents.packages.map((pkg) => `${pkg.architecture}/${pkg.name}`)).toEqual(['x86_64/pretend-baselayout', 'x86_64/replayout', 'aarch64/pretend-baselayout', 'aarch64/replayout']);
    const pkg = result.lock.contents.packages[0]!;
    expect(pkg.signature.range).toMatch(/^bytes=0-\d+$/);
    expect(pkg.checksum).toMatch(/^Q1/);
    expect([...result.spdx.perArch.keys()]).toEqual(['x86_64', 'aarch64']);
    const index = JSON.parse(Buffer.from(result.index.index.data).toString('utf8')) as { manifests: Array<{ platform: { architecture: string } }> };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);

    // building again from the lock gives the same digests
    const again = await buildImage({ loaded, repository: handle.client, tag: 'example.com/demo:1', lock: result.lock });
    expect(again.index.index.digest).toBe(result.index.index.digest);
  });

  it('names the failing constraint when packages cannot be resolved', async () => {
    const loaded = loadImageConfigText(CONFIG.replace('[replayout]', '[replayout, no-such-package>=2]'), 'image.yaml');
    await expect(buildImage({ loaded, repository: handle.client, tag: 'demo', archs: ['amd64'] })).rejects.toMatchObject({
      code: 'IMAGE_RESOLVE_FAILED',
      message: expect.stringContaining('no-such-package'),
    });
  });

  it('fails with the fetch error of a package that cannot be fetched, while the others are read ahead', async () => {
    const loaded = loadImageConfigText(CONFIG, 'image.yaml');
    const failing: PackageRepositoryPort = {
      loadIndex: (repository, arch) => handle.client.loadIndex(repository, arch),
      fetchPackage: async (source) => {
        if (source.record.name === 'replayout') throw new ApkError('APK_REPO_PACKAGE_IDENTITY_MISMATCH', `${source.record.name}: cached copy hashes differently`);
        return handle.client.fetchPackage(source);
      },
    };
    await expect(buildImage({ loaded, repository: failing, tag: 'demo', archs: ['amd64'] })).rejects.toMatchObject({
      code: 'APK_REPO_PACKAGE_IDENTITY_MISMATCH',
      message: expect.stringContaining('replayout'),
    });
  });

  it('fetches a keyring URL, verifies with it and writes it into /etc/apk/keys', async () => {
    const server = await startRepoServer(fixtures);
    const urlCache = await mkdtemp(join(tmpdir(), 'kiln-image-key-url-'));
    try {
      const keyUrl = `${server.url}/melange.rsa.pub`;
      const loaded = loadImageConfigText(CONFIG.replace(`keyring: [${join(fixtures, 'melange.rsa.pub')}]`, `keyring: [${keyUrl}]`), 'image.yaml');
      const remote = await openRepositoryClient({ cacheDir: urlCache, keyringPaths: loaded.config.contents.keyring });
      try {
        const result = await buildImage({ loaded, repository: remote.client, remoteKeys: remote.remoteKeys, tag: 'demo', archs: ['amd64'] });
        const key = result.arches[0]!.result.files.find((file) => file.path === '/etc/apk/keys/melange.rsa.pub');
        expect(key?.size).toBe((await readFile(join(fixtures, 'melange.rsa.pub'))).length);
        await expect(buildImage({ loaded, repository: remote.client, tag: 'demo', archs: ['amd64'] })).rejects.toMatchObject({ code: 'IMAGE_KEY_INVALID', message: expect.stringContaining(keyUrl) });
      } finally {
        remote.close();
      }
    } finally {
      await server.close();
      await rm(urlCache, { recursive: true, force: true });
    }
  });

  it('refuses a lock made from another configuration', async () => {
    const loaded = loadImageConfigText(CONFIG, 'image.yaml');
    const result = await buildImage({ loaded, repository: handle.client, tag: 'demo', archs: ['amd64'] });
    const other = loadImageConfigText(`${CONFIG}\ncmd: /bin/true\n`, 'image.yaml');
    await expect(buildImage({ loaded: other, repository: handle.client, tag: 'demo', archs: ['amd64'], lock: result.lock })).rejects.toMatchObject({ code: 'IMAGE_LOCK_MISMATCH' });
  });
});

describe('commonPins', () => {
  const rec = (name: string, version: string) => ({ record: { ...emptyRecord(), name, version } });
  it('pins a package that differs across arches to the highest version all arches offer', () => {
    const selections = new Map([
      ['amd64', [rec('a', '3-r0'), rec('b', '1-r0')]],
      ['arm64', [rec('a', '2-r0'), rec('b', '1-r0')]],
    ]);
    const available = new Map([
      ['amd64', new Map([['a', new Set(['1-r0', '2-r0', '3-r0'])], ['b', new Set(['1-r0'])]])],
      ['arm64', new Map([['a', new Set(['1-r0', '2-r0'])], ['b', new Set(['1-r0'])]])],
    ]);
    expect(commonPins(selections, available)).toEqual(['a=2-r0']);
  });
  it('pins nothing when there is no common version', () => {
    const selections = new Map([['amd64', [rec('a', '3-r0')]], ['arm64', [rec('a', '2-r0')]]]);
    const available = new Map([['amd64', new Map([['a', new Set(['3-r0'])]])], ['arm64', new Map([['a', new Set(['2-r0'])]])]]);
    expect(commonPins(selections, available)).toEqual([]);
  });
});

describe('installedDependencies', () => {
  const providerOf = new Map([
    ['busybox', 'busybox'],
    ['/bin/sh', 'busybox'],
    ['so:libc.musl-x86_64.so.1', 'musl'],
    ['musl', 'musl'],
    ['openssl', 'openssl'],
  ]);
  const installed = new Set(['busybox', 'musl', 'openssl']);

  it('follows provides, drops itself and what is not installed', () => {
    expect(installedDependencies(['/bin/sh', 'so:libc.musl-x86_64.so.1', 'musl>=1.2', 'busybox', 'absent'], providerOf, installed, 'busybox')).toEqual(['musl']);
  });

  it('makes no dependency of a conflict, with or without a version', () => {
    // `!openssl<3` allows openssl 3 to be installed beside the package: it is still no dependency.
    expect(installedDependencies(['!openssl<3', '!musl', 'busybox'], providerOf, installed, 'app')).toEqual(['busybox']);
  });
});
