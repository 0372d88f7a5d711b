import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.ts';
import { dockerConfigCredentials } from './docker-config.ts';
import { pushTestImage, pushTestIndex, startDockerRegistry } from './testing.ts';
import type { TestRegistry } from './testing.ts';
import { MediaTypes } from '../oci/index.ts';
import type { ImageIndex, ImageManifest } from '../oci/index.ts';

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}` as const;

describe('RegistryClient against docker-registry (Distribution 2.8)', () => {
  let registry: TestRegistry;
  const client = new RegistryClient({ chunkSize: 64 * 1024 });

  beforeAll(async () => {
    registry = await startDockerRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes a monolithic and a chunked blob and reads both back verified', async () => {
    const repo = { registry: registry.host, repository: 'kiln/blobs' };
    const small = randomBytes(1000);
    const large = randomBytes(200 * 1024 + 17);
    const a = await client.pushBlob(repo, small);
    const b = await client.pushBlob(repo, large);
    expect(a).toMatchObject({ digest: sha(small), size: 1000 });
    expect(b).toMatchObject({ digest: sha(large), size: large.length });
    expect(await client.blobExists(repo, b.digest)).toBe(true);
    expect(Buffer.from(await client.getBlob(repo, b.digest)).equals(large)).toBe(true);
    expect(await client.blobExists(repo, sha(Buffer.from('absent')))).toBe(false);
  });

  it('streams a blob from an async iterable in ordered chunks and checks the declared digest', async () => {
    const repo = { registry: registry.host, repository: 'kiln/stream' };
    const parts = [randomBytes(70_000), randomBytes(70_000), randomBytes(5)];
    const all = Buffer.concat(parts);
    async function* source() {
      yield* parts;
    }
    const pushed = await client.pushBlob(repo, source(), { digest: sha(all) });
    expect(pushed.digest).toBe(sha(all));
    expect(Buffer.from(await client.getBlob(repo, sha(all))).equals(all)).toBe(true);
    async function* wrong() {
      yield Buffer.from('not what was declared');
    }
    await expect(client.pushBlob(repo, wrong(), { digest: sha(Buffer.from('something else')) })).rejects.toMatchObject({ code: 'REGISTRY_DIGEST_MISMATCH' });
  });

  it('mounts a blob from another repository', async () => {
    const from = { registry: registry.host, repository: 'kiln/source' };
    const to = { registry: registry.host, repository: 'kiln/target' };
    const blob = randomBytes(500);
    await client.pushBlob(from, blob);
    expect(await client.mountBlob(to, sha(blob), 'kiln/source')).toBe(true);
    expect(await client.blobExists(to, sha(blob))).toBe(true);
    expect(await client.mountBlob(to, sha(Buffer.from('nowhere')), 'kiln/source')).toBe(false);
  });

  it('pushes an image and a two-arch index, resolves tags and pulls verified manifests', async () => {
    const ref = { registry: registry.host, repository: 'kiln/app', tag: 'v1' };
    const image = await pushTestImage(client, ref);
    const head = await client.headManifest(ref);
    expect(head).toEqual({ mediaType: MediaTypes.ociManifest, digest: image.digest, size: image.size });
    const pulled = await client.getManifest({ registry: ref.registry, repository: ref.repository, digest: image.digest });
    expect((pulled.manifest as ImageManifest).layers).toHaveLength(1);
    const { index, children } = await pushTestIndex(client, ref, 'multi');
    const pulledIndex = await client.getManifest({ ...ref, tag: 'multi' });
    expect(pulledIndex.digest).toBe(index.digest);
    expect((pulledIndex.manifest as ImageIndex).manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect(children).toHaveLength(2);
    const tags = await client.listTags(ref);
    expect(await client.listTags(ref, 2)).toEqual(tags);
    expect(tags).toEqual(expect.arrayContaining(['v1', 'multi', 'multi-amd64', 'multi-arm64']));
    expect(await client.headManifest({ ...ref, tag: 'nope' })).toBeUndefined();
    await expect(client.getManifest({ ...ref, tag: 'nope' })).rejects.toMatchObject({ code: 'MANIFEST_NOT_FOUND' });
  });

  it('attaches a referrer through the fallback tag (no referrers API) and lists it', async () => {
    const ref = { registry: registry.host, repository: 'kiln/refs', tag: 'v1' };
    const image = await pushTestImage(client, ref);
    const empty = await client.pushBlob(ref, Buffer.from('{}'), { mediaType: MediaTypes.ociEmpty });
    const payload = await client.pushBlob(ref, Buffer.from('{"hello":1}'), { mediaType: 'application/json' });
    const referrer: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: 'application/vnd.example+json',
      config: empty,
      layers: [payload],
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
      annotations: { 'org.example': 'yes' },
    };
    const pushed = await client.pushReferrer(ref, referrer);
    expect(pushed.viaApi).toBe(false);
    await client.pushReferrer(ref, referrer);
    const listed = await client.referrers(ref, image.digest);
    expect(listed.viaApi).toBe(false);
    expect(listed.manifests).toEqual([
      { mediaType: MediaTypes.ociManifest, digest: pushed.digest, size: pushed.size, artifactType: 'application/vnd.example+json', annotations: { 'org.example': 'yes' } },
    ]);
    expect((await client.referrers(ref, image.digest, { artifactType: 'other' })).manifests).toEqual([]);
  });
});

describe('RegistryClient with Basic auth from a Docker config.json', () => {
  let registry: TestRegistry;
  let dir: string;
  beforeAll(async () => {
    // bcrypt (cost 4) of "s3cret-pw".
    registry = await startDockerRegistry({ htpasswd: 'kiln:$2b$04$7RwdyPkYERUinbZkwvxdK.jDFgiuK7yUjVTp59OHxHmgK.yD7P3mO\n' });
    dir = await mkdtemp(join(tmpdir(), 'kiln-docker-config-'));
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes with the credentials from DOCKER_CONFIG and is refused without them', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('kiln:s3cret-pw').toString('base64') } } }));
    const authed = new RegistryClient({ credentials: dockerConfigCredentials({ DOCKER_CONFIG: dir }) });
    const ref = { registry: registry.host, repository: 'private/app', tag: 'v1' };
    const image = await pushTestImage(authed, ref);
    expect((await authed.resolve(ref)).digest).toBe(image.digest);
    const anonymous = new RegistryClient({ credentials: dockerConfigCredentials({ DOCKER_CONFIG: join(dir, 'missing') }) });
    await expect(anonymous.resolve(ref)).rejects.toMatchObject({ code: 'REGISTRY_AUTH_FAILED' });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { username: 'kiln', password: 'wrong' } } }));
    await expect(new RegistryClient({ credentials: dockerConfigCredentials({ DOCKER_CONFIG: dir }) }).resolve(ref)).rejects.toMatchObject({ code: 'REGISTRY_AUTH_FAILED' });
  });
});
