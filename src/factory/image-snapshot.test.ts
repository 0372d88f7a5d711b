import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../image/index.ts';
import { sha256Hex } from '../lib/index.ts';
import { encodeTar } from '../oci/index.ts';
import type { TarMember } from '../oci/index.ts';
import { readImageSnapshots } from './image-snapshot.ts';
import type { ImageBlobSource } from './image-snapshot.ts';

const file = (name: string, content: Uint8Array): TarMember => ({ header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content });

/** An in-memory single-platform image whose layers are these blobs. */
function source(layers: Uint8Array[]): { source: ImageBlobSource; layerDigests: string[] } {
  const blobs = new Map<string, Uint8Array>();
  const put = (bytes: Uint8Array) => {
    const digest = `sha256:${sha256Hex(bytes)}`;
    blobs.set(digest, bytes);
    return digest;
  };
  const layerDigests = layers.map(put);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: config }, layers: layerDigests.map((digest) => ({ digest })) })));
  const read = async (digest: string) => blobs.get(digest)!;
  return { source: { name: 'img', roots: async () => [{ digest: manifest }], manifest: read, blob: read, layer: async function* (digest: string) { yield await read(digest); } }, layerDigests };
}

describe('readImageSnapshots', () => {
  it('reads a multi-member gzip layer, hashing every file and parsing os-release', async () => {
    const tar = Buffer.from(encodeTar([file('usr/big', Buffer.alloc(1 << 20)), file('etc/os-release', Buffer.from('ID=wolfi\n'))]));
    const layer = Buffer.concat([gzipSync(tar.subarray(0, 4096)), gzipSync(tar.subarray(4096))]);
    const [snapshot] = await readImageSnapshots(source([layer]).source);
    expect(snapshot!.os).toMatchObject({ ID: 'wolfi' });
    expect(snapshot!.layers[0]!.uncompressedSize).toBe(tar.length);
    expect(snapshot!.files.get('usr/big')).toMatchObject({ size: 1 << 20, digest: `sha256:${sha256Hex(Buffer.alloc(1 << 20))}` });
  });

  it('streams layers, counting stored and uncompressed bytes, and keeps nothing from a layer whose stream fails at its end', async () => {
    const tar = Buffer.from(encodeTar([file('etc/os-release', Buffer.from('ID=wolfi\n')), file('usr/big', Buffer.alloc(3 << 20, 1))]));
    const layer = gzipSync(tar);
    const { source: image } = source([layer]);
    const chunked: ImageBlobSource = {
      ...image,
      layer: async function* (digest: string) {
        const bytes = await image.blob(digest);
        for (let at = 0; at < bytes.length; at += 4096) yield bytes.subarray(at, at + 4096);
      },
    };
    const [snapshot] = await readImageSnapshots(chunked);
    expect(snapshot!.layers[0]).toMatchObject({ compressedSize: layer.length, uncompressedSize: tar.length });
    expect(snapshot!.files.get('usr/big')).toMatchObject({ size: 3 << 20, digest: `sha256:${sha256Hex(Buffer.alloc(3 << 20, 1))}` });
    const failing: ImageBlobSource = {
      ...chunked,
      layer: async function* (digest: string) {
        yield* chunked.layer(digest);
        throw new ImageError('IMAGE_SOURCE_INVALID', `img: blob ${digest} does not match its digest`);
      },
    };
    await expect(readImageSnapshots(failing)).rejects.toMatchObject({ code: 'IMAGE_SOURCE_INVALID', message: expect.stringContaining('does not match its digest') });
  });
});
