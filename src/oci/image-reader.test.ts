import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTar } from './format/tar.ts';
import type { TarMember } from './format/tar.ts';
import { openDockerArchive, openOciLayout } from './image-reader.ts';

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
    expect(image!.layers().map((layer) => layer.name.replace(/^.*\//, ''))).toEqual(['good.tar: layer layer0.tar', 'good.tar: layer layer1.tar']);
    const streamed: Buffer[] = [];
    for await (const chunk of image!.layers()[1]!.chunks()) streamed.push(Buffer.from(chunk));
    expect(Buffer.concat(streamed).equals(gzipSync(OTHER))).toBe(true);
    expect([...(await image!.files(() => true)).keys()].sort()).toEqual(['bin/sh', 'etc/passwd']);
  });

  it('refuses a layer that is not the one its diff id names, naming the layer, before handing out its files', async () => {
    const [image] = await openDockerArchive(await archive('swapped.tar', [CLEAN], [`sha256:${sha(OTHER)}`]));
    const expected = { code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining(`swapped.tar: layer layer0.tar: its uncompressed content is sha256:${sha(CLEAN)}, but the config's diff_ids[0] is sha256:${sha(OTHER)}`) };
    await expect(image!.files(() => true)).rejects.toMatchObject(expected);
  });

  it('reads a layer two images share through the link legacy docker save writes for the second', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(CLEAN)}`] } }));
    const manifest = JSON.stringify([
      { Config: `${sha(config)}.json`, RepoTags: ['example.com/a:1'], Layers: ['aaa/layer.tar'] },
      { Config: `${sha(config)}.json`, RepoTags: ['example.com/b:1'], Layers: ['bbb/layer.tar'] },
    ]);
    const path = join(work, 'shared.tar');
    await writeFile(path, encodeTar([member('manifest.json', manifest), member(`${sha(config)}.json`, config), member('aaa/layer.tar', CLEAN), { header: { name: 'bbb/layer.tar', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: '../aaa/layer.tar' } }]));
    const images = await openDockerArchive(path);
    expect(images.map((image) => image.ref)).toEqual(['example.com/a:1', 'example.com/b:1']);
    for (const image of images) expect([...(await image.files(() => true)).keys()]).toEqual(['etc/passwd']);
  });

  it('refuses a config whose diff ids do not count the layers', async () => {
    await expect(openDockerArchive(await archive('extra.tar', [CLEAN, OTHER], [`sha256:${sha(CLEAN)}`]))).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('lists 1 diff_ids for 2 layer(s)') });
  });
});

/** An OCI layout of one image with `layers` (stored as given) whose config records `diffIds`. */
async function layout(name: string, layers: Uint8Array[], diffIds: string[]): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Uint8Array, mediaType: string) => {
    await writeFile(join(dir, 'blobs', 'sha256', sha(bytes)), bytes);
    return { mediaType, digest: `sha256:${sha(bytes)}`, size: bytes.length };
  };
  const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } })), 'application/vnd.oci.image.config.v1+json');
  const layerDescriptors = [];
  for (const layer of layers) layerDescriptors.push(await put(layer, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  const manifest = await put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: layerDescriptors })), 'application/vnd.oci.image.manifest.v1+json');
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [manifest] }));
  return dir;
}

describe('openOciLayout', () => {
  it('streams layers whose uncompressed content is the config\'s diff id', async () => {
    const [image] = await openOciLayout(await layout('good-layout', [gzipSync(CLEAN), gzipSync(OTHER)], [`sha256:${sha(CLEAN)}`, `sha256:${sha(OTHER)}`]));
    expect([...(await image!.files(() => true)).keys()].sort()).toEqual(['bin/sh', 'etc/passwd']);
  });

  it('refuses a layer its config\'s diff id does not name, before handing out its files', async () => {
    const dir = await layout('swapped-layout', [gzipSync(CLEAN)], [`sha256:${sha(OTHER)}`]);
    const [image] = await openOciLayout(dir);
    await expect(image!.files(() => true)).rejects.toMatchObject({
      code: 'OCI_ARCHIVE_INVALID',
      message: `${dir} layer sha256:${sha(gzipSync(CLEAN))}: its uncompressed content is sha256:${sha(CLEAN)}, but the config's diff_ids[0] is sha256:${sha(OTHER)}`,
    });
  });

  it('refuses a layer blob changed after the manifest named it', async () => {
    // An uncompressed layer with one byte of a file changed still reads as a tar: only the digest finds it.
    const plain = await layout('tampered-layout', [CLEAN], [`sha256:${sha(CLEAN)}`]);
    const tampered = Buffer.from(CLEAN);
    tampered[512] = tampered[512]! ^ 1;
    await writeFile(join(plain, 'blobs', 'sha256', sha(CLEAN)), tampered);
    const [image] = await openOciLayout(plain);
    await expect(image!.files(() => true)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: `${plain}: blob sha256:${sha(CLEAN)} does not match its digest` });
    // A gzip layer with its trailer changed fails as gzip or as a blob that is not its digest, whichever
    // the stream reaches first (both at its end); either way it names the layer and hands out nothing.
    const layer = gzipSync(CLEAN);
    const dir = await layout('tampered-gzip-layout', [layer], [`sha256:${sha(CLEAN)}`]);
    const broken = Buffer.from(layer);
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 1;
    await writeFile(join(dir, 'blobs', 'sha256', sha(layer)), broken);
    const [gzipped] = await openOciLayout(dir);
    const failure = (await gzipped!.files(() => true).then(() => undefined, (error: unknown) => error)) as { code: string; message: string } | undefined;
    expect([
      { code: 'OCI_ARCHIVE_INVALID', message: `${dir} layer sha256:${sha(layer)}: the layer is not valid gzip: incorrect length check` },
      { code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob sha256:${sha(layer)} does not match its digest` },
    ]).toContainEqual({ code: failure?.code, message: failure?.message });
  });
});
