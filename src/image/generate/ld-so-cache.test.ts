import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FsTree, sha1Hex } from '../fs/tree.ts';
import type { FsNode } from '../fs/tree.ts';
import { buildLdSoCache, ldCacheArch, ldSoConfDirectories, libcmp, probeElfLibrary, sortLdSoCacheEntries, writeLdSoCache } from './ld-so-cache.ts';
import { buildTestElf as testElf } from '../../lib/elf-testing.ts';

const x86_64 = ldCacheArch('x86_64')!;

describe('probeElfLibrary', () => {
  it('reads the soname and the arch flags of a shared object', () => {
    expect(probeElfLibrary(testElf({ soname: 'libz.so.1' }), x86_64)).toEqual({ kind: 'library', soname: 'libz.so.1', flags: 0x0303 });
    expect(probeElfLibrary(testElf({ machine: 183, soname: 'libz.so.1' }), ldCacheArch('aarch64')!)).toEqual({ kind: 'library', soname: 'libz.so.1', flags: 0x0a03 });
    expect(probeElfLibrary(testElf({ machine: 22, little: false, soname: 'libz.so.1' }), ldCacheArch('s390x')!)).toMatchObject({ flags: 0x0403 });
    expect(probeElfLibrary(testElf({ is64: false, machine: 40, flags: 0x05000400, soname: 'libz.so.1' }), ldCacheArch('armv7')!)).toMatchObject({ flags: 0x0903 });
    expect(probeElfLibrary(testElf({ is64: false, machine: 3, soname: 'libz.so.1' }), ldCacheArch('x86')!)).toMatchObject({ flags: 0x0003 });
    expect(probeElfLibrary(testElf({ machine: 243, flags: 0x5, soname: 'libz.so.1' }), ldCacheArch('riscv64')!)).toMatchObject({ flags: 0x1003 });
  });

  it('gives no soname when DT_SONAME is absent (the file name is used then)', () => {
    expect(probeElfLibrary(testElf({}), x86_64)).toEqual({ kind: 'library', flags: 0x0303 });
  });

  it('skips files that are not ELF, of another class, byte order, machine or float ABI', () => {
    expect(probeElfLibrary(Buffer.from('/* GNU ld script */\nGROUP ( libc.so.6 )\n'), x86_64)).toEqual({ kind: 'skipped', reason: 'not-elf' });
    expect(probeElfLibrary(new Uint8Array(0), x86_64)).toEqual({ kind: 'skipped', reason: 'not-elf' });
    expect(probeElfLibrary(testElf({ is64: false, machine: 3, soname: 'a' }), x86_64)).toEqual({ kind: 'skipped', reason: 'other-abi' });
    expect(probeElfLibrary(testElf({ little: false, soname: 'a' }), x86_64)).toEqual({ kind: 'skipped', reason: 'other-abi' });
    expect(probeElfLibrary(testElf({ machine: 183, soname: 'a' }), x86_64)).toEqual({ kind: 'skipped', reason: 'other-abi' });
    expect(probeElfLibrary(testElf({ machine: 243, flags: 0x2, soname: 'a' }), ldCacheArch('riscv64')!)).toEqual({ kind: 'skipped', reason: 'other-abi' });
  });

  it('skips executables and objects without a dynamic segment', () => {
    expect(probeElfLibrary(testElf({ type: 2, soname: 'a' }), x86_64)).toEqual({ kind: 'skipped', reason: 'not-shared-object' });
    expect(probeElfLibrary(testElf({ noDynamic: true }), x86_64)).toEqual({ kind: 'skipped', reason: 'no-dynamic-section' });
  });

  it('reports truncated and inconsistent files as malformed instead of throwing', () => {
    const good = testElf({ soname: 'libz.so.1' });
    for (let length = 16; length < good.length; length++) {
      expect(probeElfLibrary(good.subarray(0, length), x86_64), `length ${length}`).toEqual({ kind: 'skipped', reason: 'malformed' });
    }
    const farPhoff = Buffer.from(good);
    farPhoff.writeBigUInt64LE(0xffff_ffff_ffffn, 32);
    expect(probeElfLibrary(farPhoff, x86_64)).toEqual({ kind: 'skipped', reason: 'malformed' });
    const hugePhoff = Buffer.from(good);
    hugePhoff.writeBigUInt64LE(0xffff_ffff_ffff_ffffn, 32);
    expect(probeElfLibrary(hugePhoff, x86_64)).toEqual({ kind: 'skipped', reason: 'malformed' });
  });

  it('never throws on arbitrary bytes behind an ELF header', () => {
    const good = testElf({ soname: 'libz.so.1' });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (edits) => {
        const bytes = Buffer.from(good);
        for (const [at, value] of edits) if (at >= 4) bytes[at] = value;
        const probe = probeElfLibrary(bytes, x86_64);
        expect(['library', 'skipped']).toContain(probe.kind);
      }),
    );
  });
});

describe('libcmp', () => {
  it('compares digit runs as numbers and puts digits after other bytes', () => {
    expect(libcmp('libv.so.10', 'libv.so.9')).toBeGreaterThan(0);
    expect(libcmp('libv.so.9', 'libv.so.10')).toBeLessThan(0);
    expect(libcmp('libv.so.1', 'libv.so.1')).toBe(0);
    expect(libcmp('libv.so.01', 'libv.so.1')).toBe(0);
    expect(libcmp('libv.so', 'libv.so.1')).toBeLessThan(0);
    expect(libcmp('lib1', 'libz')).toBeGreaterThan(0);
    expect(libcmp('libz', 'lib1')).toBeLessThan(0);
  });

  it('follows the sign of C char for bytes above 0x7f', () => {
    expect(libcmp('libé', 'libz', true)).toBeLessThan(0);
    expect(libcmp('libé', 'libz', false)).toBeGreaterThan(0);
  });

  it('is antisymmetric', () => {
    const name = fc.stringMatching(/^lib[a-z0-9.+_-]{0,10}$/);
    fc.assert(fc.property(name, name, (a, b) => Math.sign(libcmp(a, b)) === -Math.sign(libcmp(b, a))));
  });
});

describe('writeLdSoCache', () => {
  it('writes the header, entries and a string table sharing suffixes', () => {
    const bytes = Buffer.from(writeLdSoCache([{ soname: 'libz.so.1', path: '/lib/libz.so.1', flags: 0x0303 }], x86_64));
    expect(bytes.subarray(0, 20).toString('latin1')).toBe('glibc-ld.so.cache1.1');
    expect(bytes.readUInt32LE(20)).toBe(1);
    // one string: the soname is the tail of the path
    expect(bytes.readUInt32LE(24)).toBe('/lib/libz.so.1'.length + 1);
    expect(bytes[28]).toBe(2);
    expect(bytes.readUInt32LE(32)).toBe(0);
    expect(bytes.readInt32LE(48)).toBe(0x0303);
    expect(bytes.readUInt32LE(52)).toBe(72 + 5);
    expect(bytes.readUInt32LE(56)).toBe(72);
    expect(bytes.readBigUInt64LE(64)).toBe(0n);
    expect(bytes.subarray(72).toString('latin1')).toBe('/lib/libz.so.1\0');
    expect(bytes).toHaveLength(72 + 15);
  });

  it('writes big-endian caches for big-endian architectures', () => {
    const bytes = Buffer.from(writeLdSoCache([{ soname: 'libz.so.1', path: '/lib/libz.so.1', flags: 0x0403 }], ldCacheArch('s390x')!));
    expect(bytes[28]).toBe(3);
    expect(bytes.readUInt32BE(20)).toBe(1);
    expect(bytes.readInt32BE(48)).toBe(0x0403);
  });

  it('writes a header alone for no libraries', () => {
    expect(writeLdSoCache([], x86_64)).toHaveLength(48);
  });

  it('orders entries for the loader: descending soname, first directory first among equals', () => {
    const sorted = sortLdSoCacheEntries(
      [
        { soname: 'libv.so.9', path: '/a/libv.so.9', flags: 0x0303 },
        { soname: 'libv.so.10', path: '/a/libv.so.10', flags: 0x0303 },
        { soname: 'libv.so.9', path: '/b/libv.so.9', flags: 0x0303 },
        { soname: 'liba.so.1', path: '/b/liba.so.1', flags: 0x0303 },
      ],
      true,
    );
    expect(sorted.map((entry) => entry.path)).toEqual(['/a/libv.so.10', '/a/libv.so.9', '/b/libv.so.9', '/b/liba.so.1']);
  });
});

describe('ldSoConfDirectories', () => {
  const files: Record<string, string> = {
    '/etc/ld.so.conf': '# comment\n /usr/local/lib/ # trailing\ninclude ld.so.conf.d/*.conf /etc/extra.conf\nHWCAP 1 nosegneg\n/opt/typed=libc6\n\n',
    '/etc/ld.so.conf.d/a.conf': '/opt/a\ninclude /etc/ld.so.conf\n',
    '/etc/ld.so.conf.d/b.conf': '/opt/b\ninclude b.conf\n',
    '/etc/extra.conf': '/opt/extra lib\n',
  };
  const read = (path: string) => (files[path] === undefined ? undefined : { id: path, text: files[path]! });
  const expand = (pattern: string) => (pattern === '/etc/ld.so.conf.d/*.conf' ? ['/etc/ld.so.conf.d/a.conf', '/etc/ld.so.conf.d/b.conf'] : files[pattern] !== undefined ? [pattern] : []);

  it('reads directories, comments, includes (relative to the including file) and hwcap lines as ldconfig does, and ends include loops', () => {
    expect(ldSoConfDirectories(read, expand)).toEqual(['/usr/local/lib', '/opt/a', '/opt/b', '/opt/extra lib', '/opt/typed']);
  });

  it('gives nothing for a missing file', () => {
    expect(ldSoConfDirectories(() => undefined, () => [])).toEqual([]);
  });
});

describe('buildLdSoCache', () => {
  const meta = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };
  const fileNode = (content: Uint8Array | string): FsNode => {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    return { type: 'file', ...meta, mode: 0o644, content: bytes, sha1: sha1Hex(bytes) };
  };
  const link = (target: string): FsNode => ({ type: 'symlink', ...meta, mode: 0o777, linkTarget: target, sha1: sha1Hex(target) });

  function tree(entries: Record<string, FsNode | 'dir'>): FsTree {
    const out = new FsTree();
    for (const [path, node] of Object.entries(entries)) {
      if (node === 'dir') out.mkdirAll(path, meta);
      else {
        out.mkdirAll(path.split('/').slice(0, -1).join('/'), meta);
        out.put(path, node);
      }
    }
    return out;
  }

  it('scans ld.so.conf directories before the system ones, once per real directory, following links', () => {
    const result = buildLdSoCache(
      tree({
        'usr/lib': 'dir',
        lib: link('usr/lib'),
        'etc/ld.so.conf': fileNode('/usr/lib\n/opt/lib\n/opt/alias\n'),
        'etc/ld.so.conf.d/loop.conf': fileNode('include /etc/ld.so.conf.d/*.conf\n'),
        'usr/lib/libc.so.6': fileNode(testElf({ soname: 'libc.so.6' })),
        'usr/lib/libhard.so.1': { type: 'hardlink', ...meta, linkTarget: 'usr/lib/libc.so.6' },
        'usr/lib/libself.so.1': link('libself.so.1'),
        'usr/lib/libdir.so': link('/opt'),
        'usr/lib/libx.so.2': link('../../opt/real/libx.so.2.0'),
        'opt/real/libx.so.2.0': fileNode(testElf({ soname: 'libx.so.2' })),
        'opt/lib/libnoname.so': fileNode(testElf({})),
        'opt/alias': link('lib'),
      }),
      'x86_64',
    )!;
    expect(result.directories).toEqual(['/usr/lib', '/opt/lib']);
    expect(result.entries.map((entry) => [entry.soname, entry.path])).toEqual([
      ['libx.so.2', '/usr/lib/libx.so.2'],
      ['libnoname.so', '/opt/lib/libnoname.so'],
      ['libc.so.6', '/usr/lib/libc.so.6'],
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('treats an include pattern glob(3) cannot match (a reversed range) as matching nothing', () => {
    const result = buildLdSoCache(
      tree({
        'etc/ld.so.conf': fileNode('include /etc/ld.so.conf.d/[z-a]*.conf\n/opt/lib\n'),
        'etc/ld.so.conf.d/zz.conf': fileNode('/opt/never\n'),
        'opt/lib/libq.so.1': fileNode(testElf({ soname: 'libq.so.1' })),
      }),
      'x86_64',
    )!;
    expect(result.directories).toEqual(['/opt/lib']);
    expect(result.entries.map((entry) => entry.soname)).toEqual(['libq.so.1']);
  });

  it('has nothing to write for an architecture glibc does not know', () => {
    expect(buildLdSoCache(tree({ 'etc/ld.so.conf': fileNode('') }), 'mips')).toBeUndefined();
  });
});
