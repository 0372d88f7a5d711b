import { describe, expect, it } from 'vitest';
import type { ApkItem } from '../../apk/index.ts';
import { readAhead } from './install.ts';

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
