import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeTar, encodeTarHeader } from './tar.ts';
import { applyLayers } from './layer-files.ts';
import { readLayerStream, walkLayerStream } from './layer-stream.ts';

function tarOf(entries: Array<[string, string | undefined]>): Buffer {
  return Buffer.from(
    encodeTar(entries.map(([name, text]) => (text === undefined ? { header: { name, type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 } } : { header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: Buffer.byteLength(text) }, content: Buffer.from(text) }))),
  );
}

function layer(entries: Array<[string, string | undefined]>, gzip = true): Buffer {
  const tar = tarOf(entries);
  return gzip ? gzipSync(tar) : tar;
}

/** The bytes in chunks of `size`, as a registry or file stream delivers them. */
async function* chunks(bytes: Buffer, size = 100): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const read = (bytes: Buffer, wanted: (path: string) => boolean, name: string, options = {}) => readLayerStream(chunks(bytes), wanted, name, options);
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const wanted = (path: string) => path.startsWith('etc/') || path.startsWith('lib/apk/');

describe('readLayerStream and applyLayers', () => {
  it('keeps only wanted regular files, from gzip or plain tar layers', async () => {
    const base = await read(layer([['etc', undefined], ['etc/os-release', 'ID=alpine\n'], ['usr/bin/x', 'binary'], ['./lib/apk/db/installed', 'P:a\n']]), wanted, 'base');
    expect([...base.files.keys()]).toEqual(['etc/os-release', 'lib/apk/db/installed']);
    const plain = await read(layer([['etc/os-release', 'ID=wolfi\n']], false), wanted, 'plain');
    expect(plain.files.get('etc/os-release')!.toString()).toBe('ID=wolfi\n');
  });

  it('applies later layers over earlier ones, with whiteouts and opaque directories', async () => {
    const base = await read(layer([['etc/os-release', 'ID=alpine\n'], ['etc/motd', 'hi'], ['lib/apk/db/installed', 'P:a\n'], ['lib/apk/db/triggers', 't']]), wanted, 'base');
    const top = await read(layer([['etc/.wh.motd', ''], ['lib/apk/db/.wh..wh..opq', ''], ['lib/apk/db/installed', 'P:b\n']]), wanted, 'top');
    expect([...top.whiteouts, ...top.opaque]).toEqual(['etc/motd', 'lib/apk/db']);
    const files = applyLayers([base, top]);
    expect([...files.keys()].sort()).toEqual(['etc/os-release', 'lib/apk/db/installed']);
    expect(files.get('lib/apk/db/installed')!.toString()).toBe('P:b\n');
  });

  it('computes the diff id in the same pass, across gzip members that split a tar entry, and refuses a wrong one', async () => {
    const tar = tarOf([['etc/os-release', 'ID=wolfi\n'.repeat(100)], ['lib/apk/db/installed', 'P:a\n']]);
    // Parallel compressors write many members; this cut falls inside os-release's content.
    const layered = Buffer.concat([gzipSync(tar.subarray(0, 700)), gzipSync(tar.subarray(700))]);
    const result = await read(layered, wanted, 'split', { diffId: sha256(tar) });
    expect(result.diffId).toBe(sha256(tar));
    expect(result.files.get('etc/os-release')!.toString()).toBe('ID=wolfi\n'.repeat(100));
    await expect(read(layered, wanted, 'reg.test/x layer sha256:abc', { diffId: sha256(Buffer.from('other')), diffIdIndex: 2 })).rejects.toMatchObject({
      code: 'OCI_ARCHIVE_INVALID',
      message: `reg.test/x layer sha256:abc: its uncompressed content is ${sha256(tar)}, but the config's diff_ids[2] is ${sha256(Buffer.from('other'))}`,
    });
  });

  it('returns nothing when the source fails at its end (a blob whose digest does not match)', async () => {
    const bytes = layer([['etc/os-release', 'ID=wolfi\n']]);
    async function* mismatched(): AsyncGenerator<Buffer> {
      yield* chunks(bytes);
      throw Object.assign(new Error('blob sha256:abc: registry sent bytes with digest sha256:def'), { code: 'REGISTRY_DIGEST_MISMATCH' });
    }
    await expect(readLayerStream(mismatched(), wanted, 'layer')).rejects.toThrow('registry sent bytes with digest sha256:def');
  });

  it('streams a layer larger than 2 GiB with bounded memory, skipping what is not wanted', async () => {
    const big = 2.25 * 1024 ** 3;
    const zeros = Buffer.alloc(1 << 20);
    async function* huge(): AsyncGenerator<Buffer> {
      yield Buffer.from(encodeTarHeader({ name: 'usr/lib/big.bin', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: big }));
      for (let sent = 0; sent < big; sent += zeros.length) yield zeros;
      yield tarOf([['etc/os-release', 'ID=wolfi\n']]);
    }
    const before = process.memoryUsage().rss;
    const result = await readLayerStream(huge(), wanted, 'huge');
    expect([...result.files.keys()]).toEqual(['etc/os-release']);
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 ** 2);
  }, 120_000);

  it('refuses a wanted file over the limit, naming the layer and the file', async () => {
    const name = 'registry.test/x layer sha256:abc';
    const bytes = gzipSync(encodeTar([{ header: { name: 'etc/os-release', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.alloc(1 << 20) }]));
    await expect(read(bytes, () => true, name, { maxFileSize: 1 << 19 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: `${name}: etc/os-release is ${1 << 20} bytes (limit ${1 << 19})` });
    expect((await read(bytes, () => true, name)).files.get('etc/os-release')).toHaveLength(1 << 20);
  });

  it('reads the tar as containerd does: PAX size and uid records override the header', async () => {
    // A header claiming 2048 bytes, a PAX size of 0: what follows is the next entry, as GNU tar,
    // Go and containerd read it, not content to skip.
    const payload = Buffer.from(encodeTar([{ header: { name: 'usr/bin/evil', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from('#!/bin/sh\n') }], { end: false }));
    const tar = Buffer.concat([Buffer.from(encodeTarHeader({ name: 'usr/share/doc/readme', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: payload.length, pax: { size: '0' } })), payload, Buffer.from(encodeTar([]))]);
    expect([...(await read(gzipSync(tar), () => true, 'layer')).files.keys()]).toEqual(['usr/share/doc/readme', 'usr/bin/evil']);
    // Kiln's writer keeps a uid over 2097151 in a PAX record (the header field says 0).
    const owners: number[] = [];
    await walkLayerStream(chunks(Buffer.from(encodeTar([{ header: { name: 'home/app/tool', type: 'file', mode: 0o755, uid: 3_000_000, gid: 3_000_001, mtime: 0 }, content: Buffer.from('x') }]))), 'layer', async (header) => {
      owners.push(header.uid, header.gid);
    });
    expect(owners).toEqual([3_000_000, 3_000_001]);
  });

  it('tells gzip from tar however the source cuts its first bytes', async () => {
    const bytes = layer([['etc/os-release', 'ID=wolfi\n']]);
    async function* oneByteFirst(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(0);
      yield bytes.subarray(0, 1);
      yield bytes.subarray(1);
    }
    expect((await readLayerStream(oneByteFirst(), wanted, 'layer')).files.get('etc/os-release')!.toString()).toBe('ID=wolfi\n');
  });

  it('passes on a source error whatever its code (a stall timeout is a DOMException with a numeric code)', async () => {
    async function* stalled(): AsyncGenerator<Buffer> {
      yield layer([['etc/os-release', 'ID=wolfi\n']]).subarray(0, 10);
      throw new DOMException('the registry sent nothing for 30 s', 'TimeoutError');
    }
    await expect(readLayerStream(stalled(), wanted, 'layer')).rejects.toMatchObject({ name: 'TimeoutError', message: 'the registry sent nothing for 30 s' });
  });

  it('closes the source when it stops early', async () => {
    const bytes = gzipSync(encodeTar([{ header: { name: 'etc/os-release', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.alloc(1 << 20) }, { header: { name: 'usr/rest', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: randomBytes(4 << 20) }]));
    let closed = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        yield* chunks(bytes, 1024);
      } finally {
        closed = true;
      }
    }
    await expect(readLayerStream(source(), () => true, 'layer', { maxFileSize: 1 << 19 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(closed).toBe(true);
  });

  it('keeps copies of wanted files, not views of larger decompressed chunks', async () => {
    const tar = encodeTar([
      { header: { name: 'usr/big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.alloc(1 << 20) },
      { header: { name: 'etc/os-release', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from('ID=wolfi\n') },
    ]);
    const kept = (await readLayerStream(chunks(Buffer.from(tar), 1 << 20), wanted, 'layer')).files.get('etc/os-release')!;
    expect(kept.toString()).toBe('ID=wolfi\n');
    expect(kept.buffer.byteLength).toBeLessThan(1 << 16);
  });

  it('refuses a layer that is neither tar nor gzip naming it', async () => {
    await expect(read(Buffer.from([0x1f, 0x8b, 1, 2, 3]), wanted, 'bad layer')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('bad layer') });
    await expect(read(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]), wanted, 'zstd layer')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('zstd') });
    await expect(read(Buffer.from('not a tar at all, just text that is long enough'.repeat(20)), wanted, 'text layer')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('text layer') });
  });
});
