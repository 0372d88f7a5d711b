import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTar } from './format/tar.ts';
import type { TarMember } from './format/tar.ts';
import { openDockerArchive } from './image-reader.ts';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const member = (name: string, content: Uint8Array | string): TarMember => ({ header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from(content) });
const CLEAN = encodeTar([member('etc/passwd', 'nonroot:x:65532:65532::/:/sbin/nologin\n')]);
const OTHER = encodeTar([member('bin/sh', 'ELF')]);

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-image-reader-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A docker archive whose manifest.json names `layers` (stored as given) and whose config records `diffIds`. */
async function archive(name: string, layers: Uint8Array[], diffIds: string[]): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: { User: '65532' } }));
  const manifest = JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: ['example.com/app:1'], Layers: layers.map((_, index) => `layer${index}.tar`) }]);
  const path = join(work, name);
  await writeFile(path, encodeTar([member('manifest.json', manifest), member(`${sha(config)}.json`, config), ...layers.map((layer, index) => member(`layer${index}.tar`, layer))]));
  return path;
}

describe('openDockerArchive', () => {
  it('reads layers, plain or gzip, whose uncompressed content is the config\'s diff id', async () => {
    const [image] = await openDockerArchive(await archive('good.tar', [CLEAN, gzipSync(OTHER)], [`sha256:${sha(CLEAN)}`, `sha256:${sha(OTHER)}`]));
    expect((await image!.layers()).map((layer) => layer.name.replace(/^.*\//, ''))).toEqual(['good.tar layer layer0.tar', 'good.tar layer layer1.tar']);
    expect([...(await image!.files(() => true)).keys()].sort()).toEqual(['bin/sh', 'etc/passwd']);
  });

  it('refuses a layer that is not the one its diff id names, naming the layer, before handing out its files', async () => {
    const [image] = await openDockerArchive(await archive('swapped.tar', [CLEAN], [`sha256:${sha(OTHER)}`]));
    const expected = { code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining(`swapped.tar: layer layer0.tar: its uncompressed content is sha256:${sha(CLEAN)}, but the config's diff_ids[0] is sha256:${sha(OTHER)}`) };
    await expect(image!.layers()).rejects.toMatchObject(expected);
    await expect(image!.files(() => true)).rejects.toMatchObject(expected);
  });

  it('refuses a config whose diff ids do not count the layers', async () => {
    await expect(openDockerArchive(await archive('extra.tar', [CLEAN, OTHER], [`sha256:${sha(CLEAN)}`]))).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('lists 1 diff_ids for 2 layer(s)') });
  });
});
