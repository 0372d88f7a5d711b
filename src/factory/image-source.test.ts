import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/index.ts';
import { encodeTar, openOciLayout } from '../oci/index.ts';
import { readImageSnapshots } from './image-snapshot.ts';
import { ociLayoutSource } from './image-source.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** An OCI layout of one image with one layer; `layerSize` is what the manifest says the layer is. */
async function layout(options: { layerSize?: (actual: number) => number; manifestPadding?: number } = {}): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'kiln-image-source-'));
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Buffer, mediaType: string) => {
    const digest = `sha256:${sha256Hex(bytes)}`;
    await writeFile(join(dir!, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const layer = gzipSync(encodeTar([{ header: { name: 'etc/os-release', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from('ID=kiln\n') }]));
  const layerDescriptor = await put(layer, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [{ ...layerDescriptor, size: options.layerSize ? options.layerSize(layer.length) : layer.length }],
        ...(options.manifestPadding ? { annotations: { padding: 'x'.repeat(options.manifestPadding) } } : {}),
      }),
    ),
    'application/vnd.oci.image.manifest.v1+json',
  );
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [manifest] }));
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return dir;
}

describe('image layouts read by descriptor', () => {
  it('reads a well-formed layout through the factory source and the image reader', async () => {
    const path = await layout();
    const [snapshot] = await readImageSnapshots(ociLayoutSource(path, 'app'));
    expect(snapshot!.os).toMatchObject({ ID: 'kiln' });
    const [image] = await openOciLayout(path);
    let streamed = 0;
    for await (const chunk of image!.layers()[0]!.chunks()) streamed += chunk.length;
    expect(streamed).toBe(snapshot!.layers[0]!.compressedSize);
  });

  it('refuses a layer whose size is not its descriptor\'s before reading it', async () => {
    const path = await layout({ layerSize: (actual) => actual - 1 });
    await expect(readImageSnapshots(ociLayoutSource(path, 'app'))).rejects.toMatchObject({ code: 'IMAGE_SOURCE_INVALID', cause: { code: 'OCI_LAYOUT_INVALID', message: expect.stringContaining('its descriptor says') } });
    const [image] = await openOciLayout(path);
    await expect((async () => {
      for await (const chunk of image!.layers()[0]!.chunks()) void chunk;
    })()).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: expect.stringContaining('its descriptor says') });
  });

  it('refuses a manifest larger than a registry would accept', async () => {
    const path = await layout({ manifestPadding: 4 * 1024 * 1024 });
    await expect(readImageSnapshots(ociLayoutSource(path, 'app'))).rejects.toMatchObject({ code: 'IMAGE_SOURCE_INVALID', cause: { code: 'LIMIT_EXCEEDED' } });
  });
});
