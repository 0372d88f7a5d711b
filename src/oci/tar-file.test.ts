import { mkdtemp, rm, truncate, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTar, encodeTarHeader } from './format/tar.ts';
import type { TarMember } from './format/tar.ts';
import { openTarFile } from './tar-file.ts';

const file = (name: string, content: string | Buffer): TarMember => ({ header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from(content) });
const LONG = `${'deep/'.repeat(40)}layer.tar`;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-tar-file-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function drain(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('openTarFile', () => {
  it('indexes regular files (long names included) and reads or streams each by its range', async () => {
    const path = join(work, 'good.tar');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    await writeFile(path, encodeTar([{ header: { name: 'dir', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 } }, file('./manifest.json', '[]'), file(LONG, big), file('config.json', '{}')]));
    const tar = await openTarFile(path, 'docker archive');
    expect([...tar.members.keys()]).toEqual(['manifest.json', LONG, 'config.json']);
    expect((await tar.read(tar.members.get('manifest.json')!, 10)).toString()).toBe('[]');
    expect((await drain(tar.stream(tar.members.get(LONG)!))).equals(big)).toBe(true);
    expect((await tar.read(tar.members.get('config.json')!, 10)).toString()).toBe('{}');
    await expect(tar.read(tar.members.get(LONG)!, 1024)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining(`${LONG} is ${big.length} bytes`) });
  });

  it('takes a member\'s size from its PAX record, as writers store members of 8 GiB and more', async () => {
    const path = join(work, 'pax.tar');
    const inner = Buffer.from(encodeTar([file('etc/os-release', 'ID=alpine\n')]));
    await writeFile(path, Buffer.concat([Buffer.from(encodeTarHeader({ name: 'abc/layer.tar', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, pax: { size: String(inner.length) } })), inner, Buffer.from(encodeTar([file('manifest.json', '[]')]))]));
    const tar = await openTarFile(path, 'docker archive');
    expect([...tar.members.keys()]).toEqual(['abc/layer.tar', 'manifest.json']);
    expect((await tar.read(tar.members.get('abc/layer.tar')!, 1 << 20)).equals(inner)).toBe(true);
  });

  it('finds a member through symbolic links, as legacy docker save stores a shared layer, and not past a loop', async () => {
    const path = join(work, 'links.tar');
    const link = (name: string, target: string): TarMember => ({ header: { name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: target } });
    await writeFile(path, encodeTar([file('aaa/layer.tar', 'LAYER'), link('bbb/layer.tar', '../aaa/layer.tar'), link('ccc/layer.tar', '/bbb/layer.tar'), link('loop/a', 'b'), link('loop/b', 'a'), link('out/x', '../../../aaa/layer.tar')]));
    const tar = await openTarFile(path, 'docker archive');
    for (const name of ['aaa/layer.tar', './bbb/layer.tar', 'ccc/layer.tar', 'out/x']) expect((await tar.read(tar.find(name)!, 10)).toString()).toBe('LAYER');
    expect(tar.find('loop/a')).toBeUndefined();
    expect(tar.find('absent')).toBeUndefined();
  });

  it('refuses a tar cut off inside a member, and a file over the limit, naming the file', async () => {
    const path = join(work, 'cut.tar');
    await writeFile(path, encodeTar([file('a', 'x'.repeat(2000))]));
    await truncate(path, 1024);
    await expect(openTarFile(path, 'docker archive')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: `${path}: "a" at offset 0 is cut off at the end of the tar` });
    await expect(openTarFile(path, 'docker archive', { maxBytes: 100 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: `docker archive ${path}: 1024 bytes is more than the limit of 100` });
    await expect(openTarFile(join(work, 'absent.tar'), 'docker archive')).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('no such file') });
    await writeFile(join(work, 'text'), 'not a tar, only some text that fills more than one block '.repeat(20));
    await expect(openTarFile(join(work, 'text'), 'docker archive')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('not a readable tar') });
  });

  it('refuses to read from a file replaced after it was indexed', async () => {
    const path = join(work, 'swap.tar');
    await writeFile(path, encodeTar([file('manifest.json', '[1]')]));
    const tar = await openTarFile(path, 'docker archive');
    await writeFile(join(work, 'other.tar'), encodeTar([file('manifest.json', '[2]')]));
    await rename(join(work, 'other.tar'), path);
    await expect(tar.read(tar.members.get('manifest.json')!, 10)).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: `${path}: was replaced or changed while being read` });
  });
});
