import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/index.ts';
import { assembleImage, assembleIndex } from './artifacts.ts';
import type { BuiltIndex } from './artifacts.ts';
import { dockerArchiveEntries, writeDockerArchive } from './docker-archive.ts';
import { LayerBuilder } from './layer.ts';
import { readLayoutBlob, writeOciLayout } from './layout.ts';

const goldenPath = join(import.meta.dirname, 'golden', 'artifacts.json');

async function sample(): Promise<BuiltIndex> {
  const images = [];
  for (const [architecture, variant] of [['amd64'], ['arm64'], ['arm', 'v7']] as const) {
    const layer = new LayerBuilder();
    layer.add({ name: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    layer.add({ name: 'etc/arch', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, Buffer.from(`${architecture}\n`));
    layer.add({ name: 'etc/shared', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, Buffer.from('same\n'));
    const shared = new LayerBuilder();
    shared.add({ name: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    const blobs = [await shared.finish(), await layer.finish()];
    images.push(
      assembleImage({
        platform: { architecture, os: 'linux', ...(variant ? { variant } : {}) },
        layers: blobs,
        created: '2024-01-02T03:04:05Z',
        history: blobs.map(() => ({ author: 'kiln', created: '2024-01-02T03:04:05Z', created_by: 'kiln' })),
        runtime: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo', '<&>'], Env: ['PATH=/bin'], User: '65532', Volumes: ['/data'], Labels: { b: '2', a: '1' } },
        annotations: { 'org.opencontainers.image.created': '2024-01-02T03:04:05Z' },
      }),
    );
  }
  return assembleIndex(images, { 'org.opencontainers.image.created': '2024-01-02T03:04:05Z' });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-oci-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OCI artifacts', () => {
  it('have golden digests (UPDATE_GOLDEN=1 regenerates src/oci/golden/artifacts.json)', async () => {
    const built = await sample();
    const digests = {
      index: built.index.digest,
      manifests: built.images.map((image) => image.manifest.digest),
      configs: built.images.map((image) => image.config.digest),
      diffIds: built.images.map((image) => image.layers.map((layer) => layer.diffId)),
      layers: built.images.map((image) => image.layers.map((layer) => layer.digest)),
    };
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(goldenPath, `${JSON.stringify(digests, null, 2)}\n`);
    expect(digests).toEqual(JSON.parse(await readFile(goldenPath, 'utf8')));
    // identical layers in different images are the same blob
    expect(new Set(digests.layers.map((layers) => layers[0])).size).toBe(1);
  });

  it('writes config JSON in apko field order with Go escaping', async () => {
    const built = await sample();
    const config = Buffer.from(built.images[2]!.config.data).toString('utf8');
    expect(Object.keys(JSON.parse(config) as object)).toEqual(['architecture', 'created', 'history', 'os', 'rootfs', 'config', 'variant']);
    expect(config).toContain('"Cmd":["echo","\\u003c\\u0026\\u003e"]');
    expect(config).toContain('"Labels":{"a":"1","b":"2"}');
    expect(config).toContain('"Volumes":{"/data":{}}');
    const index = JSON.parse(Buffer.from(built.index.data).toString('utf8')) as { manifests: Array<{ platform: object; artifactType: string }> };
    expect(index.manifests[2]!.platform).toEqual({ architecture: 'arm', os: 'linux', variant: 'v7' });
    expect(index.manifests[0]!.artifactType).toBe('application/vnd.oci.image.config.v1+json');
    // gzip header: no mtime, no name
    expect(Buffer.from(built.images[0]!.layers[0]!.data.subarray(0, 10)).toString('hex')).toBe('1f8b0800000000000003');
    expect(sha256Hex(gunzipSync(built.images[0]!.layers[1]!.data))).toBe(built.images[0]!.layers[1]!.diffId.slice(7));
  });

  it('writes an OCI layout whose blobs verify, and refuses to overwrite it', async () => {
    const built = await sample();
    const layout = join(dir, 'layout');
    await writeOciLayout(layout, built, { refName: 'latest' });
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    expect(index.manifests[0]).toMatchObject({ digest: built.index.digest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } });
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['latest', 'latest-amd64', 'latest-arm64', 'latest-armv7']);
    expect((await readdir(join(layout, 'blobs', 'sha256'))).length).toBe(1 + 3 + 3 + 1 + 3);
    await expect(readLayoutBlob(layout, built.images[0]!.manifest.digest)).resolves.toBeInstanceOf(Buffer);
    await expect(writeOciLayout(layout, built)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('writes a docker archive with per-arch tags and shared layers once', async () => {
    const built = await sample();
    const entries = dockerArchiveEntries(built, 'example.com/team/app:1.0');
    const names = entries.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    const manifest = JSON.parse(Buffer.from(entries.find(([name]) => name === 'manifest.json')![1]).toString('utf8')) as Array<{ RepoTags: string[] }>;
    expect(manifest.map((entry) => entry.RepoTags[0])).toEqual(['example.com/team/app:1.0-amd64', 'example.com/team/app:1.0-arm64', 'example.com/team/app:1.0-armv7']);
    const path = join(dir, 'image.tar');
    await writeDockerArchive(path, built, 'app');
    expect(existsSync(path)).toBe(true);
    await expect(writeDockerArchive(path, built, 'app')).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    await writeDockerArchive(path, built, 'app', { overwrite: true });
  });

  it('spells Docker Hub tags in the archive as ggcr (and so apko) does', async () => {
    const built = await sample();
    const repoTags = (tag: string) =>
      (JSON.parse(Buffer.from(dockerArchiveEntries(built, tag).find(([name]) => name === 'manifest.json')![1]).toString('utf8')) as Array<{ RepoTags: string[] }>).map((entry) => entry.RepoTags[0]);
    for (const tag of ['foo', 'docker.io/foo', 'index.docker.io/library/foo:latest']) {
      expect(repoTags(tag), tag).toEqual(['index.docker.io/library/foo:latest-amd64', 'index.docker.io/library/foo:latest-arm64', 'index.docker.io/library/foo:latest-armv7']);
    }
    expect(repoTags('localhost:5000/a/b:v1')[0]).toBe('localhost:5000/a/b:v1-amd64');
    expect(() => dockerArchiveEntries(built, 'Bad/Name')).toThrow(/lower case/);
  });
});
