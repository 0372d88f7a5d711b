import { describe, expect, it } from 'vitest';
import type { ApkControl, ApkEnd, ApkEntry, ApkItem } from '../../apk/index.ts';
import { installPackage, readAhead } from './install.ts';
import type { PackageOwnership } from './install.ts';
import { FsTree, sha1Hex } from './tree.ts';

// A fake package: its reads are recorded so the test sees how far ahead the reader went.
function fakePackage(name: string, log: string[], fail = false): AsyncIterable<ApkItem> {
  return (async function* () {
    log.push(`open ${name}`);
    await new Promise((resolve) => setImmediate(resolve));
    if (fail) throw new Error(`${name} is corrupt`);
    yield {
      kind: 'entry',
      entry: { path: `${name}.txt`, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 4, mtime: 0, xattrs: new Map(), devMajor: 0, devMinor: 0, hasChecksumRecord: false },
      content: (async function* () {
        yield Buffer.from(name.slice(0, 2));
        yield Buffer.from(name.slice(2));
      })(),
    } satisfies ApkItem;
    log.push(`read ${name}`);
  })();
}

async function contentsOf(items: AsyncIterable<ApkItem>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of items) {
    if (item.kind !== 'entry') continue;
    const chunks: Buffer[] = [];
    for await (const chunk of item.content ?? []) chunks.push(chunk);
    out.push(Buffer.concat(chunks).toString());
  }
  return out;
}

describe('readAhead', () => {
  it('hands packages over in order with whole contents, reading at most `depth` ahead', async () => {
    const log: string[] = [];
    const names = ['pkg0', 'pkg1', 'pkg2', 'pkg3', 'pkg4'];
    const seen: string[] = [];
    for await (const { pkg, items } of readAhead(names, (name) => fakePackage(name, log), 2)) {
      // when package i is handed over, nothing past i + depth - 1 has been opened
      expect(log.filter((line) => line.startsWith('open')).length).toBeLessThanOrEqual(Math.min(names.length, names.indexOf(pkg) + 2 + 1));
      seen.push(`${pkg}:${(await contentsOf(items)).join(',')}`);
    }
    expect(seen).toEqual(['pkg0:pkg0', 'pkg1:pkg1', 'pkg2:pkg2', 'pkg3:pkg3', 'pkg4:pkg4']);
  });

  it('does not keep a small file\'s content as a view into a large shared buffer', async () => {
    const slab = Buffer.alloc(1024 * 1024, 7);
    const items = (async function* () {
      yield {
        kind: 'entry',
        entry: { path: 'small', type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 16, mtime: 0, xattrs: new Map(), devMajor: 0, devMinor: 0, hasChecksumRecord: false },
        content: (async function* () {
          yield slab.subarray(100, 116);
        })(),
      } satisfies ApkItem;
    })();
    for await (const { items: read } of readAhead(['one'], () => items)) {
      for await (const item of read) {
        if (item.kind !== 'entry') continue;
        const chunks: Buffer[] = [];
        for await (const chunk of item.content ?? []) chunks.push(chunk);
        expect(chunks).toHaveLength(1);
        expect(chunks[0]!.equals(Buffer.alloc(16, 7))).toBe(true);
        expect(chunks[0]!.buffer.byteLength).toBeLessThan(64 * 1024);
      }
    }
  });

  it('surfaces a failing package at its own turn, after the packages before it', async () => {
    const log: string[] = [];
    const names = ['a000', 'b000', 'c000', 'd000'];
    const seen: string[] = [];
    const run = async () => {
      for await (const { pkg } of readAhead(names, (name) => fakePackage(name, log, name === 'c000'), 3)) seen.push(pkg);
    };
    await expect(run()).rejects.toThrow('c000 is corrupt');
    expect(seen).toEqual(['a000', 'b000']);
  });
});

describe('installPackage', () => {
  const entry = (path: string, type: ApkEntry['type'], extra: Partial<ApkEntry> = {}): ApkEntry => ({ path, type, mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 0, mtime: 0, xattrs: new Map(), devMajor: 0, devMinor: 0, hasChecksumRecord: false, ...extra });
  async function* apk(name: string, replaces: string[], files: Array<{ entry: ApkEntry; content?: string }>): AsyncIterable<ApkItem> {
    yield { kind: 'control', control: { pkginfo: { name, replaces, origin: name } } as unknown as ApkControl } as ApkItem;
    for (const file of files) {
      const text = file.content;
      yield { kind: 'entry', entry: file.entry, ...(text === undefined ? {} : { content: (async function* () { yield Buffer.from(text); })() }) } as ApkItem;
    }
    yield { kind: 'end', end: {} as ApkEnd };
  }

  it('resolves owner names in the image\'s own /etc/passwd and /etc/group, as apk does; unknown names keep their number', async () => {
    const tree = new FsTree();
    const owners = new Map<string, PackageOwnership>();
    await installPackage(tree, apk('base', [], [
      { entry: entry('etc', 'directory') },
      { entry: entry('etc/passwd', 'file', { size: 1 }), content: 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/lib/nginx:/sbin/nologin\n' },
      { entry: entry('etc/group', 'file', { size: 1 }), content: 'root:x:0:\nnginx:x:102:nginx\n' },
    ]), owners, 'base.apk');
    await installPackage(tree, apk('nginx', [], [
      { entry: entry('var/lib/nginx', 'directory', { uname: 'nginx', gname: 'nginx', uid: 1000, gid: 1000 }) },
      { entry: entry('var/lib/nginx/cache', 'file', { uname: 'nginx', gname: 'nginx', uid: 1000, gid: 1000 }), content: '' },
      { entry: entry('var/lib/nginx/other', 'file', { uname: 'builder', gname: 'builder', uid: 1000, gid: 1001 }), content: '' },
      { entry: entry('var/lib/nginx/root', 'file', { uname: 'root', gname: 'root', uid: 1000, gid: 1000 }), content: '' },
    ]), owners, 'nginx.apk');
    expect(tree.get('var/lib/nginx')).toMatchObject({ uid: 101, gid: 102 });
    expect(tree.get('var/lib/nginx/cache')).toMatchObject({ uid: 101, gid: 102 });
    expect(tree.get('var/lib/nginx/other')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(tree.get('var/lib/nginx/root')).toMatchObject({ uid: 0, gid: 0 });
  });

  it('keeps the old content in a hard link whose target another package replaces, as apk does on disk', async () => {
    const tree = new FsTree();
    const owners = new Map<string, PackageOwnership>();
    await installPackage(tree, apk('a', [], [
      { entry: entry('usr/bin/x', 'file', { size: 1, sha1: sha1Hex('A') }), content: 'A' },
      { entry: entry('usr/bin/y', 'hardlink', { linkTarget: 'usr/bin/x' }) },
    ]), owners, 'a.apk');
    await installPackage(tree, apk('b', ['a'], [{ entry: entry('usr/bin/x', 'file', { size: 1, mode: 0o644, sha1: sha1Hex('B') }), content: 'B' }]), owners, 'b.apk');
    expect(tree.get('usr/bin/x')).toMatchObject({ type: 'file', owner: 'b', mode: 0o644 });
    expect(tree.get('usr/bin/x')!.content!.toString()).toBe('B');
    const link = tree.get('usr/bin/y')!;
    expect(link).toMatchObject({ type: 'file', owner: 'a', mode: 0o755, sha1: sha1Hex('A') });
    expect(link.linkTarget).toBeUndefined();
    expect(link.content!.toString()).toBe('A');
  });
});
