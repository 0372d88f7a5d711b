import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildApkBuffer, readApk, readApkFile } from '../apk/index.ts';
import type { ApkWriteEntry, PkgInfoInput } from '../apk/index.ts';
import { archInfo } from '../apk/index.ts';
import { loadImageConfig, loadImageConfigText } from './config/load.ts';
import { buildArchImage } from './build-arch.ts';
import type { ArchPackage } from './build-arch.ts';
import { buildTestElf as testElf } from '../lib/elf-testing.ts';

const repo = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'apk', 'apko-cli-packages', 'x86_64');

function pkg(name: string, version = '1.0.0-r0'): ArchPackage {
  const path = join(repo, `${name}-${version}.apk`);
  return { name, version, location: path, open: () => readApkFile(path, { allowUntrusted: true }) };
}

async function made(pkginfo: PkgInfoInput, entries: ApkWriteEntry[], scripts?: Record<string, string>): Promise<ArchPackage> {
  const { bytes } = await buildApkBuffer({ pkginfo: { arch: 'x86_64', ...pkginfo }, entries, mtime: 1_700_000_000, ...(scripts ? { scripts } : {}) });
  return { name: pkginfo.name, version: pkginfo.version, location: pkginfo.name, open: () => readApk((async function* () {
    yield bytes;
  })(), { allowUntrusted: true, name: pkginfo.name }) };
}

function tarNames(layer: Uint8Array, types?: Map<string, string>): string[] {
  const tar = gunzipSync(layer);
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('latin1'), 8) || 0;
    if (String.fromCharCode(header[156]!) !== 'x') {
      names.push(prefix ? `${prefix}/${name}` : name);
      types?.set(names.at(-1)!, String.fromCharCode(header[156]!));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

/** Tree-walk order of layer paths: component by component in byte order, a directory before its entries. */
function treeOrder(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = Buffer.compare(Buffer.from(left[i]!), Buffer.from(right[i]!));
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

const CONFIG = `
contents:
  packages: [replayout]
accounts:
  groups: [{groupname: nonroot, gid: 65532}]
  users: [{username: nonroot, uid: 65532}]
  run-as: nonroot
entrypoint: {command: "/bin/echo 'hello world'"}
cmd: --flag
environment: {FOO: bar}
work-dir: /home/nonroot
stop-signal: SIGQUIT
volumes: [/data]
annotations: {org.opencontainers.image.title: demo, org.opencontainers.image.vendor: kiln}
paths:
  - {path: /data, type: directory, uid: 65532, gid: 65532, permissions: 0o750}
  - {path: /etc/motd, type: empty-file, permissions: 0o644}
  - {path: /usr/bin/hello, type: symlink, source: /bin/echo}
`;

async function build(configText = CONFIG, packages = [pkg('pretend-baselayout'), pkg('replayout')]) {
  const { config } = loadImageConfigText(configText, 'image.yaml');
  return buildArchImage({
    config,
    arch: archInfo('x86_64'),
    packages,
    keys: [{ name: 'melange.rsa.pub', content: Buffer.from('key') }],
    repositories: ['./packages'],
    world: ['replayout'],
    buildDate: 0,
    buildDateIsFixed: false,
    annotations: { ...config.annotations },
  });
}

describe('buildArchImage', () => {
  it('installs packages, writes the apk database, accounts and the runtime config', async () => {
    const result = await build();
    expect(result.installed.map((p) => p.control.pkginfo.name)).toEqual(['pretend-baselayout', 'replayout']);
    const byPath = new Map(result.files.map((file) => [file.path, file]));
    // replayout replaces pretend-baselayout: its os-release wins
    expect(byPath.get('/etc/os-release')?.owner).toBe('replayout');
    expect(byPath.get('/lib/apk/db/installed')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(byPath.get('/home/nonroot')).toMatchObject({ type: 'dir', mode: 0o700, uid: 65532, gid: 65532 });
    expect(byPath.get('/data')).toMatchObject({ mode: 0o750, uid: 65532 });
    expect(byPath.get('/tmp')).toMatchObject({ mode: 0o1777 });
    expect(byPath.get('/dev/null')).toMatchObject({ type: 'char' });
    expect(byPath.get('/usr/bin/hello')).toMatchObject({ type: 'symlink', linkTarget: '/bin/echo' });
    const config = JSON.parse(Buffer.from(result.image.config.data).toString('utf8')) as { config: Record<string, unknown>; history: Array<{ comment?: string }> };
    expect(config.config).toMatchObject({
      Entrypoint: ['/bin/echo', 'hello world'],
      Cmd: ['--flag'],
      User: '65532',
      WorkingDir: '/home/nonroot',
      StopSignal: 'SIGQUIT',
      Volumes: { '/data': {} },
      Env: ['FOO=bar', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
    });
    expect(config.history[0]!.comment).toBe('demo by kiln');
    expect(result.osRelease).toMatchObject({ ID: 'replaces', NAME: 'Replaces', VERSION_ID: '1.0.0' });
    const names = tarNames(result.layers[0]!.data);
    // The layer is written by walking the tree depth-first, each directory before its entries and
    // siblings in byte order of their names (so `etc/x` comes before `etc-y`, unlike a plain sort).
    expect([...names].sort(treeOrder)).toEqual(names);
    expect(names).toEqual([
      'data', 'dev', 'dev/console', 'dev/null', 'dev/random', 'dev/urandom', 'dev/zero',
      'etc', 'etc/apk', 'etc/apk/arch', 'etc/apk/keys', 'etc/apk/keys/melange.rsa.pub', 'etc/apk/repositories', 'etc/apk/world',
      'etc/group', 'etc/motd', 'etc/os-release', 'etc/passwd', 'etc/shadow',
      'home', 'home/nonroot',
      'lib', 'lib/apk', 'lib/apk/db', 'lib/apk/db/installed', 'lib/apk/db/lock', 'lib/apk/db/scripts.tar', 'lib/apk/db/triggers', 'lib/apk/exec',
      'opt', 'proc', 'tmp',
      'usr', 'usr/bin', 'usr/bin/hello', 'usr/lib', 'usr/lib/apk',
      'var', 'var/cache', 'var/cache/apk', 'var/cache/misc', 'var/lib', 'var/lib/db', 'var/lib/db/sbom',
      'var/lib/db/sbom/pretend-baselayout-1.0.0-r0.spdx.json', 'var/lib/db/sbom/replayout-1.0.0-r0.spdx.json',
    ]);
  });

  it('is deterministic', async () => {
    const [a, b] = await Promise.all([build(), build()]);
    expect(a.image.manifest.digest).toBe(b.image.manifest.digest);
  });

  it('splits layers by origin with layering (replaces merges groups)', async () => {
    const result = await build(`${CONFIG}\nlayering: {strategy: origin, budget: 10}\n`);
    // replayout replaces pretend-baselayout, so both share one group layer; then the top layer
    expect(result.layers).toHaveLength(2);
    const group = tarNames(result.layers[0]!.data);
    expect(group).toEqual(expect.arrayContaining(['etc', 'etc/os-release', 'var/lib/db/sbom/replayout-1.0.0-r0.spdx.json', 'var/lib/db/sbom/pretend-baselayout-1.0.0-r0.spdx.json', 'lib/apk/db/installed']));
    const top = tarNames(result.layers[1]!.data);
    expect(top).toContain('etc/passwd');
    expect(top).not.toContain('etc/os-release');
  });

  it('keeps at most budget+1 layers, largest groups first', async () => {
    const packages = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name, index) => made({ name, version: '1-r0', installedSize: (index + 1) * 1000 }, [{ path: `usr/share/${name}`, type: 'file', content: name.repeat(10) }])),
    );
    const result = await build('contents: {packages: [a]}\nlayering: {strategy: origin, budget: 2}\n', packages);
    expect(result.layers).toHaveLength(3);
    expect(tarNames(result.layers[0]!.data)).toContain('usr/share/d');
    expect(tarNames(result.layers[1]!.data)).toEqual(expect.arrayContaining(['usr/share/a', 'usr/share/b', 'usr/share/c']));
  });

  it('refuses two packages owning one path without replaces, allows it with replaces or same content', async () => {
    const one = await made({ name: 'one', version: '1-r0', origin: 'one' }, [{ path: 'etc/conf', type: 'file', content: 'one' }]);
    const two = await made({ name: 'two', version: '1-r0', origin: 'two' }, [{ path: 'etc/conf', type: 'file', content: 'two' }]);
    await expect(build('contents: {packages: [a]}\n', [one, two])).rejects.toMatchObject({
      code: 'IMAGE_PATH_CONFLICT',
      message: expect.stringMatching(/etc\/conf: owned by both one \(origin one\) and two \(origin two\)/),
    });
    const replacer = await made({ name: 'three', version: '1-r0', replaces: ['one'] }, [{ path: 'etc/conf', type: 'file', content: 'three' }]);
    const ok = await build('contents: {packages: [a]}\n', [one, replacer]);
    expect(ok.files.find((file) => file.path === '/etc/conf')).toMatchObject({ owner: 'three', size: 5 });
    const same = await made({ name: 'same', version: '1-r0' }, [{ path: 'etc/conf', type: 'file', content: 'one' }]);
    const kept = await build('contents: {packages: [a]}\n', [one, same]);
    expect(kept.files.find((file) => file.path === '/etc/conf')).toMatchObject({ owner: 'one' });
  });

  it('keeps hard links, symlinks, setuid bits, xattrs and shared directories as apk would', async () => {
    const tool = await made({ name: 'tool', version: '1-r0' }, [
      { path: 'usr/bin/tool', type: 'file', mode: 0o4755, content: '#!/bin/sh\n', xattrs: { 'security.capability': 'cap' } },
      { path: 'usr/bin/tool2', type: 'hardlink', linkTarget: 'usr/bin/tool' },
      { path: 'usr/bin/short', type: 'symlink', linkTarget: 'tool' },
      { path: 'var/shared', type: 'directory', mode: 0o750 },
    ]);
    const other = await made({ name: 'other', version: '1-r0' }, [{ path: 'var/shared', type: 'directory', mode: 0o700 }, { path: 'var/shared/x', type: 'file', content: 'x' }], { 'post-install': '#!/bin/sh\ntrue\n' });
    const result = await build('contents: {packages: [a]}\n', [tool, other]);
    const byPath = new Map(result.files.map((file) => [file.path, file]));
    expect(byPath.get('/usr/bin/tool')).toMatchObject({ mode: 0o4755 });
    expect(byPath.get('/usr/bin/tool2')).toMatchObject({ type: 'hardlink', linkTarget: 'usr/bin/tool' });
    expect(byPath.get('/usr/bin/short')).toMatchObject({ type: 'symlink', linkTarget: 'tool' });
    expect(byPath.get('/var/shared')).toMatchObject({ mode: 0o750, owner: 'tool' });
    const tar = gunzipSync(result.layers[0]!.data).toString('latin1');
    expect(tar).toContain('SCHILY.xattr.security.capability=cap');
    const types = new Map<string, string>();
    const names = tarNames(result.layers[0]!.data, types);
    expect(names.indexOf('usr/bin/tool')).toBeLessThan(names.indexOf('usr/bin/tool2'));
    expect([types.get('usr/bin/tool'), types.get('usr/bin/tool2'), types.get('usr/bin/short')]).toEqual(['0', '1', '2']);
    // scripts.tar holds the post-install script
    expect(byPath.get('/lib/apk/db/scripts.tar')!.size).toBeGreaterThan(1024);
  });

  it('refuses path mutations that escape the root', async () => {
    await expect(build(`${CONFIG.replace('/etc/motd', '/../../etc/evil')}`)).rejects.toMatchObject({ code: 'IMAGE_PATH_ESCAPES' });
  });
});

describe('generated files', () => {
  it('writes world, repositories, arch, keys and a generic os-release when no package has one', async () => {
    const bare = await made({ name: 'bare', version: '1-r0' }, [{ path: 'usr/share/bare', type: 'file', content: 'x' }]);
    const result = await build('contents: {packages: [bare]}\n', [bare]);
    const byPath = new Map(result.files.map((file) => [file.path, file]));
    for (const path of ['/etc/apk/world', '/etc/apk/repositories', '/etc/apk/arch', '/etc/apk/keys/melange.rsa.pub', '/etc/os-release', '/etc/passwd', '/lib/apk/db/triggers', '/lib/apk/db/lock']) {
      expect(byPath.has(path), path).toBe(true);
    }
    expect(byPath.get('/lib/apk/db/lock')!.mode).toBe(0o600);
    expect(byPath.get('/usr/lib/apk')).toMatchObject({ type: 'symlink', linkTarget: '../../lib/apk' });
    expect(result.osRelease.ID).toBe('kiln');
  });
});

describe('usr-merged images', () => {
  it('keeps the database under usr/lib and adds a lib/apk/db/installed entry for scanners', async () => {
    const baselayout = await made({ name: 'merged', version: '1-r0' }, [
      { path: 'usr/lib', type: 'directory' },
      { path: 'lib', type: 'symlink', linkTarget: 'usr/lib' },
    ]);
    const result = await build('contents: {packages: [merged]}\n', [baselayout]);
    const byPath = new Map(result.files.map((file) => [file.path, file]));
    expect(byPath.get('/lib')).toMatchObject({ type: 'symlink', linkTarget: 'usr/lib' });
    expect(byPath.get('/usr/lib/apk/db/installed')?.type).toBe('file');
    const names = tarNames(result.layers[0]!.data);
    expect(names.filter((name) => name.endsWith('apk/db/installed'))).toEqual(['usr/lib/apk/db/installed', 'lib/apk/db/installed']);
  });
});

describe('certificates', () => {
  it('appends additional and provider certificates to the CA bundle and writes the checksum sidecar', async () => {
    const examples = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'images', 'apko-examples', 'certificates.yaml');
    const { config: example } = await loadImageConfig(examples);
    const additional = example.certificates!.additional[0]!;
    const bundle = await made({ name: 'ca-bundle', version: '1-r0' }, [{ path: 'etc/ssl/certs/ca-certificates.crt', type: 'file', content: '# system bundle\n' }]);
    const text = `contents: {packages: [x]}\ncertificates:\n  providers: [custom-ca-certificates]\n  additional:\n    - name: ${additional.name}\n      content: |\n${additional.content.split('\n').map((line) => `        ${line}`).join('\n')}\n`;
    const result = await build(text, [bundle, pkg('custom-ca-certs-1'), pkg('custom-ca-certs-2')]);
    const byPath = new Map(result.files.map((file) => [file.path, file]));
    expect([...byPath.keys()].some((path) => path.startsWith(`/usr/local/share/ca-certificates/${additional.name}-`))).toBe(true);
    expect(byPath.get('/etc/ssl/certs/.ca-certificates.crt.sha256')).toMatchObject({ mode: 0o444 });
    const tar = gunzipSync(result.layers[0]!.data).toString('latin1');
    const start = tar.indexOf('# system bundle');
    const bundleText = tar.slice(start, tar.indexOf('\0', start));
    // one additional and four provider certificates (cert-a … cert-d)
    expect(bundleText.match(/BEGIN CERTIFICATE/g)).toHaveLength(5);
  });

  it('refuses an additional certificate that is not PEM', async () => {
    await expect(build('contents: {packages: [x]}\ncertificates:\n  additional: [{name: bad, content: nope}]\n', [pkg('pretend-baselayout')])).rejects.toMatchObject({ code: 'IMAGE_KEY_INVALID' });
  });
});

describe('ld.so.cache', () => {
  function tarFile(layer: Uint8Array, wanted: string): { mode: number; uid: number; mtime: number; content: Buffer } | undefined {
    const tar = gunzipSync(layer);
    for (let offset = 0; offset + 512 <= tar.length; ) {
      const header = tar.subarray(offset, offset + 512);
      if (header.every((byte) => byte === 0)) break;
      const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
      const size = parseInt(header.subarray(124, 136).toString('latin1'), 8) || 0;
      if (name === wanted) {
        const field = (start: number, end: number) => parseInt(header.subarray(start, end).toString('latin1'), 8);
        return { mode: field(100, 108), uid: field(108, 116), mtime: field(136, 148), content: Buffer.from(tar.subarray(offset + 512, offset + 512 + size)) };
      }
      offset += 512 + Math.ceil(size / 512) * 512;
    }
    return undefined;
  }

  const libs = (extra: ApkWriteEntry[] = []) =>
    made({ name: 'glibc-ish', version: '1-r0' }, [
      { path: 'usr/lib/libfoo.so.1.2', type: 'file', content: Buffer.from(testElf({ soname: 'libfoo.so.1' })) },
      { path: 'usr/lib/libfoo.so.1', type: 'symlink', linkTarget: 'libfoo.so.1.2' },
      { path: 'opt/extra/lib/libbar.so.2', type: 'file', content: Buffer.from(testElf({ soname: 'libbar.so.2' })) },
      ...extra,
    ]);

  it('is not written when the image has no /etc/ld.so.conf', async () => {
    const result = await build('contents: {packages: [glibc-ish]}\n', [await libs()]);
    expect(result.files.some((file) => file.path === '/etc/ld.so.cache')).toBe(false);
    expect(tarFile(result.layers[0]!.data, 'etc/ld.so.cache')).toBeUndefined();
  });

  it('is written when /etc/ld.so.conf is a hard link, and skipped without failing when it is a link loop', async () => {
    const hard = await build('contents: {packages: [glibc-ish]}\n', [
      await libs([
        { path: 'etc/ld.so.base', type: 'file', content: '/opt/extra/lib\n' },
        { path: 'etc/ld.so.conf', type: 'hardlink', linkTarget: 'etc/ld.so.base' },
      ]),
    ]);
    expect(tarFile(hard.layers[0]!.data, 'etc/ld.so.cache')?.content.toString('latin1')).toContain('/opt/extra/lib/libbar.so.2\0');
    const loop = await build('contents: {packages: [glibc-ish]}\n', [await libs([{ path: 'etc/ld.so.conf', type: 'symlink', linkTarget: 'ld.so.conf' }])]);
    expect(loop.files.some((file) => file.path === '/etc/ld.so.cache')).toBe(false);
  });

  it('is written from /etc/ld.so.conf and the system directories, 0644 root-owned with time 0', async () => {
    const warnings: string[] = [];
    const conf: ApkWriteEntry[] = [
      { path: 'etc/ld.so.conf', type: 'file', content: 'include /etc/ld.so.conf.d/*.conf\n' },
      { path: 'etc/ld.so.conf.d/extra.conf', type: 'file', content: '/opt/extra/lib\ninclude /etc/ld.so.conf\n' },
      { path: 'usr/lib/libcut.so.3', type: 'file', content: Buffer.from(testElf({ soname: 'libcut.so.3' }).subarray(0, 120)) },
    ];
    const { config } = loadImageConfigText('contents: {packages: [glibc-ish]}\n', 'image.yaml');
    const result = await buildArchImage({
      config,
      arch: archInfo('x86_64'),
      packages: [await libs(conf)],
      keys: [],
      repositories: [],
      world: ['glibc-ish'],
      buildDate: 1_700_000_000,
      buildDateIsFixed: true,
      annotations: {},
      warn: (message) => warnings.push(message),
    });
    expect(result.files.find((file) => file.path === '/etc/ld.so.cache')).toMatchObject({ type: 'file', mode: 0o644, uid: 0, gid: 0 });
    const cache = tarFile(result.layers[0]!.data, 'etc/ld.so.cache')!;
    expect(cache).toMatchObject({ mode: 0o644, uid: 0, mtime: 0 });
    expect(cache.content.subarray(0, 20).toString('latin1')).toBe('glibc-ld.so.cache1.1');
    expect(cache.content.readUInt32LE(20)).toBe(2);
    const text = cache.content.toString('latin1');
    expect(text).toContain('libfoo.so.1\0');
    expect(text).toContain('/opt/extra/lib/libbar.so.2\0');
    expect(text).not.toContain('libcut');
    expect(warnings).toContain('ld.so.cache: /usr/lib/libcut.so.3 is a damaged ELF file; left out');
  });
});
