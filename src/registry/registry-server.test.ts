// The spec's conformance workflows (pull, push, content discovery, content management, referrers)
// against a real loopback server built by the composition root.
import { readdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import type { RunningRegistry } from '../app/index.ts';
import { silentLogger } from '../lib/index.ts';
import { makeImage, randomBytes, sha256, sha512, tempDir, TestClient } from './test-support.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let running: RunningRegistry;
let client: TestClient;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

beforeAll(async () => {
  dir = await tempDir('kiln-registry-');
  await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\nstorage:\n  delete:\n    enabled: true\nhttp:\n  maxPageSize: 50\n');
  const config = await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} });
  running = await startRegistry(config, silentLogger);
  client = new TestClient(running.url);
});

afterAll(async () => {
  await running.close();
  await dir[Symbol.asyncDispose]();
});

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { errors: { code: string }[] };
  return body.errors[0]!.code;
}

describe('version check', () => {
  it('answers /v2/ with 200 and the API version header on every response', async () => {
    const response = await client.request('GET', '/v2/');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const missing = await client.request('GET', '/v2/nothing/here/at/all');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(missing.headers.get('content-type')).toBe('application/json');
  });
});

describe('push and pull', () => {
  it('pushes monolithically, pulls by tag and digest, HEADs with digest and length', async () => {
    const image = makeImage();
    const put = await client.pushImage('team/app', image, 'v1');
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(image.digest);
    expect(put.headers.get('location')).toBe(`/v2/team/app/manifests/${image.digest}`);
    for (const reference of ['v1', image.digest]) {
      const get = await client.request('GET', `/v2/team/app/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } });
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(get.headers.get('docker-content-digest')).toBe(image.digest);
      expect(Buffer.from(await get.arrayBuffer()).equals(image.manifest)).toBe(true);
      const head = await client.request('HEAD', `/v2/team/app/manifests/${reference}`);
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(image.manifest.length));
      expect(head.headers.get('docker-content-digest')).toBe(image.digest);
    }
    const blob = await client.request('GET', `/v2/team/app/blobs/${sha256(image.layer)}`);
    expect(blob.status).toBe(200);
    expect(blob.headers.get('docker-content-digest')).toBe(sha256(image.layer));
    expect(Buffer.from(await blob.arrayBuffer()).equals(image.layer)).toBe(true);
    const head = await client.request('HEAD', `/v2/team/app/blobs/${sha256(image.layer)}`);
    expect(head.headers.get('content-length')).toBe(String(image.layer.length));
    // Blobs are scoped to their repository.
    expect((await client.request('GET', `/v2/other/blobs/${sha256(image.layer)}`)).status).toBe(404);
  });

  it('serves byte ranges with 206 and answers unsatisfiable ranges with 416', async () => {
    const data = randomBytes(4096);
    expect((await client.pushBlob('ranges', data)).status).toBe(201);
    const part = await client.request('GET', `/v2/ranges/blobs/${sha256(data)}`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/4096');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    const suffix = await client.request('GET', `/v2/ranges/blobs/${sha256(data)}`, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(4086))).toBe(true);
    const bad = await client.request('GET', `/v2/ranges/blobs/${sha256(data)}`, { headers: { range: 'bytes=5000-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */4096');
  });

  it('serves a range starting at the last byte and answers one starting exactly at the size with 416', async () => {
    const data = randomBytes(4096);
    expect((await client.pushBlob('ranges/edge', data)).status).toBe(201);
    const last = await client.request('GET', `/v2/ranges/edge/blobs/${sha256(data)}`, { headers: { range: 'bytes=4095-' } });
    expect(last.status).toBe(206);
    expect(last.headers.get('content-range')).toBe('bytes 4095-4095/4096');
    expect(Buffer.from(await last.arrayBuffer()).equals(data.subarray(4095))).toBe(true);
    const past = await client.request('GET', `/v2/ranges/edge/blobs/${sha256(data)}`, { headers: { range: 'bytes=4096-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */4096');
    await past.arrayBuffer();
  });

  it('pushes in chunks with Content-Range, reports status, rejects out-of-order chunks, closes with a final chunk', async () => {
    const data = randomBytes(3000);
    const start = await client.request('POST', '/v2/chunked/blobs/uploads/');
    expect(start.status).toBe(202);
    let location = start.headers.get('location')!;
    expect(start.headers.get('range')).toBe('0-0');
    const first = await client.request('PATCH', location, { body: data.subarray(0, 1000), headers: { 'content-range': '0-999', 'content-type': 'application/octet-stream' } });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-999');
    location = first.headers.get('location')!;
    const second = await client.request('PATCH', location, { body: data.subarray(1000, 2000), headers: { 'content-range': '1000-1999' } });
    expect(second.headers.get('range')).toBe('0-1999');
    const outOfOrder = await client.request('PATCH', location, { body: data.subarray(500, 1500), headers: { 'content-range': '500-1499' } });
    expect(outOfOrder.status).toBe(416);
    const status = await client.request('GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-1999');
    const close = await client.request('PUT', `${location}?digest=${sha256(data)}`, { body: data.subarray(2000), headers: { 'content-range': '2000-2999' } });
    expect(close.status).toBe(201);
    expect(close.headers.get('docker-content-digest')).toBe(sha256(data));
    const get = await client.request('GET', `/v2/chunked/blobs/${sha256(data)}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    expect((await client.request('GET', location)).status).toBe(404);
  });

  it('accepts a streamed PATCH without Content-Range and an empty closing PUT; verifies sha512', async () => {
    const data = randomBytes(5000);
    const start = await client.request('POST', '/v2/streamed/blobs/uploads/');
    const patch = await client.request('PATCH', start.headers.get('location')!, { body: data });
    expect(patch.status).toBe(202);
    const wrong = await client.request('PUT', `${patch.headers.get('location')}?digest=${sha512(randomBytes(5))}`);
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe('DIGEST_INVALID');
    const again = await client.request('POST', '/v2/streamed/blobs/uploads/');
    await client.request('PATCH', again.headers.get('location')!, { body: data });
    const close = await client.request('PUT', `${again.headers.get('location')}?digest=${sha512(data)}`);
    expect(close.status).toBe(201);
    expect((await client.request('HEAD', `/v2/streamed/blobs/${sha512(data)}`)).status).toBe(200);
  });

  it('rejects a monolithic push whose bytes do not match the digest and cancels uploads', async () => {
    const data = randomBytes(100);
    const response = await client.request('POST', `/v2/bad/blobs/uploads/?digest=${sha256(randomBytes(3))}`, { body: data });
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('DIGEST_INVALID');
    expect((await client.request('HEAD', `/v2/bad/blobs/${sha256(data)}`)).status).toBe(404);
    const start = await client.request('POST', '/v2/bad/blobs/uploads/');
    const location = start.headers.get('location')!;
    expect((await client.request('DELETE', location)).status).toBe(204);
    expect((await client.request('GET', location)).status).toBe(404);
  });

  it('a monolithic push that stalls holds up no other push of the same digest, and leaves nothing behind when dropped', async () => {
    const data = randomBytes(4096);
    const digest = sha256(data);
    const { port } = new URL(running.url);
    // Declares the whole blob, sends one byte and stalls.
    const stalled = connect(Number(port), '127.0.0.1');
    await new Promise<void>((done) => stalled.once('connect', () => done()));
    stalled.write(`POST /v2/stall/one/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${data.length}\r\nContent-Type: application/octet-stream\r\n\r\n`);
    stalled.write(data.subarray(0, 1));
    try {
      const pushed = await client.request('POST', `/v2/stall/two/blobs/uploads/?digest=${digest}`, { body: data });
      expect(pushed.status).toBe(201);
      expect((await client.request('GET', `/v2/stall/two/blobs/${digest}`)).status).toBe(200);
    } finally {
      stalled.destroy();
    }
    // The dropped push's staging goes with it: no blob in its repository, no upload left.
    for (let tries = 0; tries < 100 && (await readdir(join(dir.path, 'storage', 'uploads'))).length > 0; tries++) await new Promise((done) => setTimeout(done, 20));
    expect(await readdir(join(dir.path, 'storage', 'uploads'))).toEqual([]);
    expect((await client.request('HEAD', `/v2/stall/one/blobs/${digest}`)).status).toBe(404);
  });

  it('mounts across repositories, and opens a session when the source lacks the blob', async () => {
    const data = randomBytes(700);
    await client.pushBlob('mount/source', data);
    const mounted = await client.request('POST', `/v2/mount/target/blobs/uploads/?mount=${sha256(data)}&from=mount/source`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/mount/target/blobs/${sha256(data)}`);
    expect((await client.request('GET', mounted.headers.get('location')!)).status).toBe(200);
    const missing = await client.request('POST', `/v2/mount/target/blobs/uploads/?mount=${sha256(randomBytes(9))}&from=mount/source`);
    expect(missing.status).toBe(202);
    expect(missing.headers.get('location')).toMatch(/^\/v2\/mount\/target\/blobs\/uploads\//);
  });

  it('refuses manifests with missing blobs (one error per blob), wrong digests, bad JSON and oversize bodies', async () => {
    const image = makeImage();
    const missing = await client.request('PUT', '/v2/strict/manifests/v1', { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { errors: { code: string; detail: { digest: string } }[] };
    expect(body.errors.map((error) => error.code)).toEqual(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);
    expect(body.errors.map((error) => error.detail.digest).sort()).toEqual([sha256(image.config), sha256(image.layer)].sort());
    expect((await client.request('GET', '/v2/strict/manifests/v1')).status).toBe(404);
    for (const blob of image.blobs) await client.pushBlob('strict', blob);
    const wrongDigest = await client.request('PUT', `/v2/strict/manifests/${sha256('x')}`, { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } });
    expect(wrongDigest.status).toBe(400);
    expect(await errorCode(wrongDigest)).toBe('DIGEST_INVALID');
    const badJson = await client.request('PUT', '/v2/strict/manifests/v2', { body: '{"schemaVersion":2,', headers: { 'content-type': OCI_MANIFEST } });
    expect(await errorCode(badJson)).toBe('MANIFEST_INVALID');
    const confused = await client.request('PUT', '/v2/strict/manifests/v3', { body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: [] }), headers: { 'content-type': OCI_INDEX } });
    expect(await errorCode(confused)).toBe('MANIFEST_INVALID');
    const huge = await client.request('PUT', '/v2/strict/manifests/v4', { body: Buffer.alloc(4 * 1024 * 1024 + 1, 32), headers: { 'content-type': OCI_MANIFEST } });
    expect(huge.status).toBe(413);
    const byDigest = await client.request('PUT', `/v2/strict/manifests/${image.digest}?tag=a&tag=b`, { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } });
    expect(byDigest.status).toBe(201);
    expect(byDigest.headers.get('oci-tag')).toBe('a,b');
  });

  it('accepts a ~3.9 MB manifest and an index of manifests, and Docker v2 media types', async () => {
    const image = makeImage();
    for (const blob of image.blobs) await client.pushBlob('big', blob);
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`key${i}`] = 'x'.repeat(10_000);
    const large = Buffer.from(JSON.stringify({ ...JSON.parse(image.manifest.toString()), annotations }));
    expect((await client.request('PUT', '/v2/big/manifests/large', { body: large, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
    await client.request('PUT', `/v2/big/manifests/${image.digest}`, { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: image.digest, size: image.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    expect((await client.request('PUT', '/v2/big/manifests/multi', { body: index, headers: { 'content-type': OCI_INDEX } })).status).toBe(201);
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(image.config), size: image.config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(image.layer), size: image.layer.length }],
      }),
    );
    const put = await client.request('PUT', '/v2/big/manifests/docker', { body: docker, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' } });
    expect(put.status).toBe(201);
    const get = await client.request('GET', '/v2/big/manifests/docker');
    expect(get.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });
});

describe('content discovery', () => {
  it('lists tags sorted with n/last pagination and a Link header', async () => {
    const image = makeImage();
    const tags = ['b', 'a', 'C', 'latest', '1.0', 'z_'];
    for (const tag of tags) expect((await client.pushImage('disco', image, tag)).status).toBe(201);
    const all = await client.request('GET', '/v2/disco/tags/list');
    expect(await all.json()).toEqual({ name: 'disco', tags: [...tags].sort() });
    const page = await client.request('GET', '/v2/disco/tags/list?n=2');
    expect(((await page.json()) as { tags: string[] }).tags).toEqual(['1.0', 'C']);
    expect(page.headers.get('link')).toBe('</v2/disco/tags/list?n=2&last=C>; rel="next"');
    const next = await client.request('GET', '/v2/disco/tags/list?n=2&last=C');
    expect(((await next.json()) as { tags: string[] }).tags).toEqual(['a', 'b']);
    const rest = await client.request('GET', '/v2/disco/tags/list?n=10&last=b');
    expect(((await rest.json()) as { tags: string[] }).tags).toEqual(['latest', 'z_']);
    expect(rest.headers.get('link')).toBeNull();
    const zero = await client.request('GET', '/v2/disco/tags/list?n=0');
    expect(((await zero.json()) as { tags: string[] }).tags).toEqual([]);
    expect(zero.headers.get('link')).toBeNull();
    expect((await client.request('GET', '/v2/disco/tags/list?n=-1')).status).toBe(400);
    expect((await client.request('GET', '/v2/never-pushed/tags/list')).status).toBe(404);
  });
});

describe('page size limit', () => {
  it('clamps n above the maximum (50 here) instead of refusing it, however many digits it has', async () => {
    const image = makeImage();
    expect((await client.pushImage('clamp', image, 't00')).status).toBe(201);
    const tags = Array.from({ length: 52 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const tag of tags.slice(1)) {
      expect((await client.request('PUT', `/v2/clamp/manifests/${tag}`, { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
    }
    for (const n of ['51', '1000', '99999999999999999999']) {
      const page = await client.request('GET', `/v2/clamp/tags/list?n=${n}`);
      expect(page.status, `n=${n}`).toBe(200);
      expect(((await page.json()) as { tags: string[] }).tags).toEqual(tags.slice(0, 50));
      expect(page.headers.get('link')).toBe('</v2/clamp/tags/list?n=50&last=t49>; rel="next"');
    }
    // Exactly the maximum is a full page; the rest follows the Link.
    const full = await client.request('GET', '/v2/clamp/tags/list?n=50');
    expect(((await full.json()) as { tags: string[] }).tags).toHaveLength(50);
    const rest = await client.request('GET', '/v2/clamp/tags/list?n=50&last=t49');
    expect(((await rest.json()) as { tags: string[] }).tags).toEqual(['t50', 't51']);
    expect(rest.headers.get('link')).toBeNull();
    const catalog = await client.request('GET', '/v2/_catalog?n=99999999999');
    expect(catalog.status).toBe(200);
  });
});

describe('content management', () => {
  it('deletes tags, manifests and blobs atomically', async () => {
    const image = makeImage();
    await client.pushImage('manage', image, 'one');
    await client.request('PUT', '/v2/manage/manifests/two', { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } });
    expect((await client.request('DELETE', '/v2/manage/manifests/one')).status).toBe(202);
    expect((await client.request('HEAD', '/v2/manage/manifests/one')).status).toBe(404);
    expect((await client.request('HEAD', `/v2/manage/manifests/${image.digest}`)).status).toBe(200);
    expect((await client.request('DELETE', `/v2/manage/manifests/${image.digest}`)).status).toBe(202);
    expect((await client.request('HEAD', `/v2/manage/manifests/${image.digest}`)).status).toBe(404);
    expect((await client.request('HEAD', '/v2/manage/manifests/two')).status).toBe(404);
    expect((await client.request('DELETE', `/v2/manage/manifests/${image.digest}`)).status).toBe(404);
    expect((await client.request('DELETE', `/v2/manage/blobs/${sha256(image.layer)}`)).status).toBe(202);
    expect((await client.request('HEAD', `/v2/manage/blobs/${sha256(image.layer)}`)).status).toBe(404);
    expect((await client.request('DELETE', `/v2/manage/blobs/${sha256(image.layer)}`)).status).toBe(404);
  });
});

describe('blob delete', () => {
  it('refuses with 409 DENIED to delete a blob a manifest of the repository lists, until the manifest is gone', async () => {
    const image = makeImage();
    expect((await client.pushImage('keep/image', image, 'v1')).status).toBe(201);
    const config = sha256(image.config);
    const refused = await client.request('DELETE', `/v2/keep/image/blobs/${config}`);
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { errors: { code: string; message: string; detail: unknown }[] };
    expect(body.errors).toEqual([
      { code: 'DENIED', message: `blob ${config} is referenced by manifest keep/image@${image.digest}; delete the manifest first`, detail: { digest: config, manifest: image.digest } },
    ]);
    expect((await client.request('DELETE', `/v2/keep/image/blobs/${sha256(image.layer)}`)).status).toBe(409);
    // Nothing changed: the image still pulls whole.
    expect((await client.request('GET', '/v2/keep/image/manifests/v1')).status).toBe(200);
    const pulled = await client.request('GET', `/v2/keep/image/blobs/${config}`);
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(image.config)).toBe(true);
    expect((await client.request('DELETE', `/v2/keep/image/manifests/${image.digest}`)).status).toBe(202);
    expect((await client.request('DELETE', `/v2/keep/image/blobs/${config}`)).status).toBe(202);
    expect((await client.request('HEAD', `/v2/keep/image/blobs/${config}`)).status).toBe(404);
  });
});

describe('referrers', () => {
  it('lists referrers with artifactType and annotations, filters, and answers 200 for unknown subjects', async () => {
    const subject = makeImage();
    await client.pushImage('refs', subject, 'base');
    const descriptor = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length };
    const sig = makeImage({ subject: descriptor, artifactType: 'application/vnd.example.sig', annotations: { 'org.example': 'yes' } });
    const sbom = makeImage({ subject: descriptor });
    const sigPut = await client.pushImage('refs', sig, sig.digest);
    expect(sigPut.status).toBe(201);
    expect(sigPut.headers.get('oci-subject')).toBe(subject.digest);
    await client.pushImage('refs', sbom, sbom.digest);
    const list = await client.request('GET', `/v2/refs/referrers/${subject.digest}`);
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe(OCI_INDEX);
    const index = (await list.json()) as { manifests: { digest: string; artifactType: string; annotations?: Record<string, string> }[] };
    expect(index.manifests.map((item) => [item.digest, item.artifactType, item.annotations])).toEqual([
      [sig.digest, 'application/vnd.example.sig', { 'org.example': 'yes' }],
      [sbom.digest, 'application/vnd.oci.image.config.v1+json', undefined],
    ]);
    const filtered = await client.request('GET', `/v2/refs/referrers/${subject.digest}?artifactType=application/vnd.example.sig`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toHaveLength(1);
    const none = await client.request('GET', `/v2/refs/referrers/${sha256('nothing')}`);
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    expect((await client.request('GET', '/v2/refs/referrers/sha256:nope')).status).toBe(400);
    await client.request('DELETE', `/v2/refs/manifests/${sig.digest}`);
    const after = (await (await client.request('GET', `/v2/refs/referrers/${subject.digest}`)).json()) as { manifests: unknown[] };
    expect(after.manifests).toHaveLength(1);
  });
});

describe('hostile input', () => {
  it('rejects invalid names, tags and digests with spec codes', async () => {
    expect(await errorCode(await client.request('GET', '/v2/UPPER/manifests/latest'))).toBe('NAME_INVALID');
    expect(await errorCode(await client.request('GET', '/v2/a/..%2fb/manifests/latest'))).toBe('NAME_INVALID');
    expect(await errorCode(await client.request('GET', `/v2/${'a'.repeat(300)}/manifests/latest`))).toBe('NAME_INVALID');
    // http.maxNameLength defaults to 255: a name of exactly 255 characters is valid, 256 is not.
    const longest = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    expect(longest).toHaveLength(255);
    expect(await errorCode(await client.request('GET', `/v2/${longest}/manifests/latest`))).toBe('MANIFEST_UNKNOWN');
    expect(await errorCode(await client.request('GET', `/v2/${longest}b/manifests/latest`))).toBe('NAME_INVALID');
    expect((await client.pushBlob(longest, randomBytes(10))).status).toBe(201);
    expect(await errorCode(await client.pushBlob(`${longest}b`, randomBytes(10)))).toBe('NAME_INVALID');
    expect((await client.request('GET', '/v2/ok/manifests/sha256:baddigeststring')).status).toBe(404);
    expect(await errorCode(await client.request('PUT', '/v2/ok/manifests/sha256:baddigeststring', { body: '{}', headers: { 'content-type': OCI_MANIFEST } }))).toBe('DIGEST_INVALID');
    expect(await errorCode(await client.request('POST', '/v2/ok/blobs/uploads/?digest=md5:abc', { body: 'x' }))).toBe('DIGEST_INVALID');
    expect(await errorCode(await client.request('PATCH', '/v2/ok/blobs/uploads/not-a-session', { body: 'x' }))).toBe('BLOB_UPLOAD_UNKNOWN');
  });
});
