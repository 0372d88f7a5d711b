import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsTree, sha1Hex } from '../fs/tree.ts';
import { buildLdSoCache } from './ld-so-cache.ts';
import { buildTestElf as testElf } from '../../lib/elf-testing.ts';

// The real peer is Debian's ldconfig (glibc 2.36, /sbin/ldconfig). It writes its cache for a root
// directory made here from shared libraries of this host plus hand-made ELF files; Kiln builds the
// cache for the same files loaded into an image tree. Byte equality holds for everything Kiln
// writes: ldconfig additionally appends an extension directory (after padding the string table to
// 4 bytes) holding its generator string "ldconfig (Debian GLIBC …) release version 2.36", and
// records that directory's offset in the header. Kiln writes no extension (offset 0, which the
// loader accepts), so ldconfig's file is compared with that header field zeroed and the tail cut.

const LDCONFIG = '/sbin/ldconfig';
const HOST_LIBS = '/usr/lib/x86_64-linux-gnu';
const scratch = mkdtempSync(join(tmpdir(), 'kiln-ldcache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Copies a host library and its soname link into `dir` (root-relative). */
function copyLib(root: string, dir: string, file: string, links: Record<string, string> = {}): void {
  mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(join(HOST_LIBS, file), join(root, dir, file));
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(root, dir, name));
}

function makeRoot(): string {
  const root = join(scratch, 'root');
  mkdirSync(join(root, 'etc/ld.so.conf.d'), { recursive: true });
  writeFileSync(
    join(root, 'etc/ld.so.conf'),
    [
      '# test configuration',
      '/opt/alias',
      '  /opt/custom/lib/   # same directory again, through its real name',
      'include /etc/ld.so.conf.d/*.conf',
      'hwcap 0 nosegneg',
      '/opt/missing',
      '/usr/lib/x86_64-linux-gnu',
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'etc/ld.so.conf.d/a-local.conf'), '/usr/local/lib\n');
  writeFileSync(join(root, 'etc/ld.so.conf.d/b-more.conf'), '/opt/more=libc6\n');
  writeFileSync(join(root, 'etc/ld.so.conf.d/ignored.txt'), '/opt/ignored\n');

  const custom = 'opt/custom/lib';
  copyLib(root, custom, 'libz.so.1.2.13', { 'libz.so.1': 'libz.so.1.2.13', 'libz.so': '/opt/custom/lib/libz.so.1.2.13', 'libalias.so.9': 'libz.so.1.2.13' });
  copyLib(root, custom, 'libcrypt.so.1.1.0', { 'libcrypt.so.1': 'libcrypt.so.1.1.0' });
  symlinkSync('custom/lib', join(root, 'opt/alias'));
  const put = (path: string, bytes: Uint8Array | string) => writeFileSync(join(root, path), bytes);
  put(`${custom}/libv.so.10`, testElf({ soname: 'libv.so.10' }));
  put(`${custom}/libv.so.9`, testElf({ soname: 'libv.so.9' }));
  put(`${custom}/libv.so.9.1`, testElf({ soname: 'libv.so.9' }));
  put(`${custom}/libnoname.so.3`, testElf({}));
  put(`${custom}/libexec.so.1`, testElf({ type: 2, soname: 'libexec.so.1' }));
  put(`${custom}/libnodyn.so.1`, testElf({ noDynamic: true }));
  put(`${custom}/libarm.so.1`, testElf({ machine: 183, soname: 'libarm.so.1' }));
  put(`${custom}/libc.so`, '/* GNU ld script */\nGROUP ( /lib/libc.so.6 )\n');
  put(`${custom}/libbroken.so.1`, readFileSync(join(HOST_LIBS, 'libz.so.1.2.13')).subarray(0, 2000));
  put(`${custom}/notalib.so.1`, testElf({ soname: 'notalib.so.1' }));
  symlinkSync('libgone.so.1.0', join(root, custom, 'libdangling.so.1'));

  copyLib(root, 'usr/local/lib', 'libexpat.so.1.8.10', { 'libexpat.so.1': 'libexpat.so.1.8.10' });
  copyLib(root, 'usr/local/lib', 'libz.so.1.2.13', { 'libz.so.1': 'libz.so.1.2.13' });
  copyLib(root, 'opt/more', 'libuuid.so.1.3.0', { 'libuuid.so.1': 'libuuid.so.1.3.0' });
  copyLib(root, 'usr/lib/x86_64-linux-gnu', 'libffi.so.8.1.2', { 'libffi.so.8': 'libffi.so.8.1.2' });
  copyLib(root, 'usr/lib/x86_64-linux-gnu', 'liblzma.so.5.4.1', { 'liblzma.so.5': 'liblzma.so.5.4.1' });
  return root;
}

/** Loads a directory on disk into an image tree (before ldconfig writes into it). */
function loadTree(root: string): FsTree {
  const tree = new FsTree();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = lstatSync(join(root, path));
      const meta = { mode: stat.mode & 0o7777, uid: 0, gid: 0, mtime: 0 };
      if (stat.isDirectory()) {
        tree.mkdirAll(path, meta);
        walk(path);
      } else if (stat.isSymbolicLink()) {
        const target = readlinkSync(join(root, path));
        tree.put(path, { type: 'symlink', ...meta, linkTarget: target, sha1: sha1Hex(target) });
      } else {
        const content = readFileSync(join(root, path));
        tree.put(path, { type: 'file', ...meta, content, sha1: sha1Hex(content) });
      }
    }
  };
  walk('');
  return tree;
}

/** The entry lines `ldconfig -p` prints for a cache file. */
function printed(cache: string): string[] {
  return execFileSync(LDCONFIG, ['-p', '-C', cache], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith('\t'));
}

describe('ld.so.cache against Debian ldconfig', () => {
  it('writes the bytes ldconfig writes for the same root, without its generator extension', () => {
    expect(existsSync(LDCONFIG)).toBe(true);
    const root = makeRoot();
    const tree = loadTree(root);
    // Debian's ldconfig is built for multiarch: its trusted directories are these two
    const result = buildLdSoCache(tree, 'x86_64', { systemDirs: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'] })!;
    execFileSync(LDCONFIG, ['-r', root, '-C', '/etc/ld.so.cache', '-X'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const theirs = readFileSync(join(root, 'etc/ld.so.cache'));

    const view = new DataView(theirs.buffer, theirs.byteOffset, theirs.byteLength);
    const count = view.getUint32(20, true);
    const strings = view.getUint32(24, true);
    const extension = view.getUint32(32, true);
    const end = 48 + count * 24 + strings;
    expect(extension).toBeGreaterThanOrEqual(end);
    // extension directory: magic, count, then {tag, flags, offset, size}; tag 0 is the generator
    expect(view.getUint32(extension, true)).toBe(0xeaa42174);
    const generator = view.getUint32(extension + 16, true);
    expect(theirs.subarray(generator, generator + view.getUint32(extension + 20, true)).toString('latin1')).toMatch(/^ldconfig \(Debian GLIBC/);
    const comparable = Buffer.from(theirs.subarray(0, end));
    comparable.writeUInt32LE(0, 32);
    expect(Buffer.from(result.content).toString('hex')).toBe(comparable.toString('hex'));

    // and what the loader's own reader sees is the same list
    const ours = join(scratch, 'kiln-ld.so.cache');
    writeFileSync(ours, result.content);
    expect(printed(ours)).toEqual(printed(join(root, 'etc/ld.so.cache')));

    // the case is not vacuous: these are the decisions the comparison covers
    expect(result.directories).toEqual(['/opt/alias', '/usr/local/lib', '/opt/more', '/usr/lib/x86_64-linux-gnu']);
    const keys = result.entries.map((entry) => `${entry.soname}=${entry.path}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        'libz.so=/opt/alias/libz.so',
        'libz.so.1=/opt/alias/libz.so.1',
        'libz.so.1=/usr/local/lib/libz.so.1',
        'libnoname.so.3=/opt/alias/libnoname.so.3',
        'libffi.so.8=/usr/lib/x86_64-linux-gnu/libffi.so.8',
        'libuuid.so.1=/opt/more/libuuid.so.1',
      ]),
    );
    expect(keys.indexOf('libz.so.1=/opt/alias/libz.so.1')).toBeLessThan(keys.indexOf('libz.so.1=/usr/local/lib/libz.so.1'));
    expect(keys.indexOf('libv.so.10=/opt/alias/libv.so.10')).toBeLessThan(keys.indexOf('libv.so.9=/opt/alias/libv.so.9'));
    for (const absent of ['libexec', 'libnodyn', 'libarm', 'libbroken', 'libc.so=', 'notalib', 'libdangling', 'libalias', 'ignored']) {
      expect(keys.some((key) => key.includes(absent)), absent).toBe(false);
    }
    expect(result.skipped).toEqual([{ path: '/opt/alias/libbroken.so.1', reason: 'malformed' }]);
  });
});
