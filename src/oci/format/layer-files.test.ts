import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeTar } from './tar.ts';
import { applyLayers, readLayerFiles } from './layer-files.ts';

function layer(entries: Array<[string, string | undefined]>, gzip = true): Buffer {
  const tar = Buffer.from(
    encodeTar(entries.map(([name, text]) => (text === undefined ? { header: { name, type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 } } : { header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: Buffer.byteLength(text) }, content: Buffer.from(text) }))),
  );
  return gzip ? gzipSync(tar) : tar;
}

const wanted = (path: string) => path.startsWith('etc/') || path.startsWith('lib/apk/');

describe('readLayerFiles and applyLayers', () => {
  it('keeps only wanted regular files, from gzip or plain tar layers', async () => {
    const base = await readLayerFiles(layer([['etc', undefined], ['etc/os-release', 'ID=alpine\n'], ['usr/bin/x', 'binary'], ['./lib/apk/db/installed', 'P:a\n']]), wanted, 'base');
    expect([...base.files.keys()]).toEqual(['etc/os-release', 'lib/apk/db/installed']);
    const plain = await readLayerFiles(layer([['etc/os-release', 'ID=wolfi\n']], false), wanted, 'plain');
    expect(plain.files.get('etc/os-release')!.toString()).toBe('ID=wolfi\n');
  });

  it('applies later layers over earlier ones, with whiteouts and opaque directories', async () => {
    const base = await readLayerFiles(layer([['etc/os-release', 'ID=alpine\n'], ['etc/motd', 'hi'], ['lib/apk/db/installed', 'P:a\n'], ['lib/apk/db/triggers', 't']]), wanted, 'base');
    const top = await readLayerFiles(layer([['etc/.wh.motd', ''], ['lib/apk/db/.wh..wh..opq', ''], ['lib/apk/db/installed', 'P:b\n']]), wanted, 'top');
    expect([...top.whiteouts, ...top.opaque]).toEqual(['etc/motd', 'lib/apk/db']);
    const files = applyLayers([base, top]);
    expect([...files.keys()].sort()).toEqual(['etc/os-release', 'lib/apk/db/installed']);
    expect(files.get('lib/apk/db/installed')!.toString()).toBe('P:b\n');
  });

  it('stops a layer of many small gzip bombs at the total limit, even when no file is wanted', async () => {
    const bomb = gzipSync(encodeTar([{ header: { name: 'etc/os-release', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.alloc(1 << 20) }]), { level: 9 });
    const name = 'registry.test/x layer sha256:abc';
    // each member alone (1 MiB and a little) is under the limit; three together are not
    await expect(readLayerFiles(Buffer.concat([bomb, bomb, bomb]), () => false, name, { maxTarSize: 2.5 * 2 ** 20 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED', message: `${name}: decompresses to more than ${2.5 * 2 ** 20} bytes (the limit for one layer)`,
    });
    const two = await readLayerFiles(Buffer.concat([bomb, bomb]), () => true, name, { maxTarSize: 2.5 * 2 ** 20 });
    expect(two.files.get('etc/os-release')).toHaveLength(1 << 20);
    await expect(readLayerFiles(bomb, () => true, name, { maxFileSize: 1 << 19 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: `${name}: etc/os-release is ${1 << 20} bytes (limit ${1 << 19})` });
  });

  it('keeps copies of wanted files, not views of the whole decompressed layer', async () => {
    const tar = encodeTar([
      { header: { name: 'usr/big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.alloc(1 << 20) },
      { header: { name: 'etc/os-release', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from('ID=wolfi\n') },
    ]);
    const kept = (await readLayerFiles(gzipSync(tar), wanted, 'layer')).files.get('etc/os-release')!;
    expect(kept.toString()).toBe('ID=wolfi\n');
    expect(kept.buffer.byteLength).toBeLessThan(1 << 20);
  });

  it('refuses a layer that is neither tar nor gzip naming it', async () => {
    await expect(readLayerFiles(Buffer.from([0x1f, 0x8b, 1, 2, 3]), wanted, 'bad layer')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('bad layer') });
    await expect(readLayerFiles(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]), wanted, 'zstd layer')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('zstd') });
  });
});
