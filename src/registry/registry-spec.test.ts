// Spec completeness over real HTTP: blob range requests (the new OCI conformance suite's table),
// OCI-Chunk-Min-Length on upload start, referrers pagination with Link, and cross-repository mounts
// without `from=` that only ever mount a blob the caller may read.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import type { RunningRegistry } from '../app/index.ts';
import { silentLogger } from '../lib/index.ts';
import { RegistryClient } from '../registry-client/index.ts';
import { makeImage, randomBytes, sha256, tempDir, TestClient } from './test-support.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

async function start(dir: string, yaml: string): Promise<RunningRegistry> {
  await writeFile(join(dir, 'config.yaml'), yaml);
  return startRegistry(await loadRegistryConfig({ file: join(dir, 'config.yaml'), dataDir: dir, cwd: dir, env: {} }), silentLogger);
}

describe('open registry (loopback, no auth)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let running: RunningRegistry;
  let client: TestClient;

  beforeAll(async () => {
    dir = await tempDir('kiln-registry-spec-');
    running = await start(dir.path, 'addr: 127.0.0.1:0\nhttp:\n  maxPageSize: 3\n  chunkMinLength: 4096\nstorage:\n  delete:\n    enabled: true\n');
    client = new TestClient(running.url);
  });

  afterAll(async () => {
    await running.close();
    await dir[Symbol.asyncDispose]();
  });

  it('answers the conformance suite range table on a 2048-byte blob', async () => {
    const data = randomBytes(2048);
    expect((await client.pushBlob('spec/ranges', data)).status).toBe(201);
    const get = (range: string) => client.request('GET', `/v2/spec/ranges/blobs/${sha256(data)}`, { headers: { range } });
    const cases: [string, number, number][] = [
      ['bytes=500-1499', 500, 1499],
      ['bytes=500-', 500, 2047],
      ['bytes=-500', 1548, 2047],
      ['bytes=2000-5000', 2000, 2047],
    ];
    for (const [range, start, end] of cases) {
      const response = await get(range);
      expect(response.status, range).toBe(206);
      expect(response.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/2048`);
      expect(response.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(Buffer.from(await response.arrayBuffer()).equals(data.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of ['bytes=500-0', 'bytes=5000-10000', 'bytes=2048-']) {
      const response = await get(range);
      expect(response.status, range).toBe(416);
      expect(response.headers.get('content-range'), range).toBe('bytes */2048');
      expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('RANGE_INVALID');
    }
    // A HEAD with a range announces the part's length, no body; no Range header: the whole blob.
    const head = await client.request('HEAD', `/v2/spec/ranges/blobs/${sha256(data)}`, { headers: { range: 'bytes=0-9' } });
    expect([head.status, head.headers.get('content-length'), head.headers.get('accept-ranges')]).toEqual([206, '10', 'bytes']);
    const whole = await client.request('GET', `/v2/spec/ranges/blobs/${sha256(data)}`);
    expect([whole.status, (await whole.arrayBuffer()).byteLength]).toEqual([200, 2048]);
  });

  it('announces OCI-Chunk-Min-Length when an upload starts (only then)', async () => {
    const start = await client.request('POST', '/v2/spec/chunks/blobs/uploads/');
    expect(start.status).toBe(202);
    expect(start.headers.get('oci-chunk-min-length')).toBe('4096');
    const data = randomBytes(10);
    const patch = await client.request('PATCH', start.headers.get('location')!, { body: data, headers: { 'content-range': '0-9' } });
    expect(patch.status).toBe(202);
    expect(patch.headers.get('oci-chunk-min-length')).toBeNull();
    // A monolithic push is not a session: no header either.
    const monolithic = await client.pushBlob('spec/chunks', randomBytes(10));
    expect([monolithic.status, monolithic.headers.get('oci-chunk-min-length')]).toEqual([201, null]);
  });

  it("Kiln's client sends chunks of at least the announced OCI-Chunk-Min-Length", async () => {
    const ranges: string[] = [];
    const recording: typeof fetch = (input, init) => {
      if (init?.method === 'PATCH') ranges.push(new Headers(init.headers).get('content-range') ?? '');
      return fetch(input, init);
    };
    const registry = new RegistryClient({ chunkSize: 1000, fetch: recording });
    const data = randomBytes(10_000);
    const pushed = await registry.pushBlob({ registry: new URL(running.url).host, repository: 'spec/client-chunks' }, data, { chunked: true });
    expect(pushed.digest).toBe(sha256(data));
    expect(ranges).toEqual(['0-4095', '4096-8191', '8192-9999']);
  });

  it('pages referrers with Link (oldest first), keeps filters in the link, and survives a deleted cursor entry', async () => {
    const subject = makeImage();
    expect((await client.pushImage('spec/refs', subject, 'base')).status).toBe(201);
    const descriptor = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length };
    const pushed: string[] = [];
    for (let i = 0; i < 7; i++) {
      const referrer = makeImage({ subject: descriptor, artifactType: i % 2 === 0 ? 'application/x-even' : 'application/x-odd' });
      expect((await client.pushImage('spec/refs', referrer, referrer.digest)).status).toBe(201);
      pushed.push(referrer.digest);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const walk = async (first: string): Promise<{ pages: string[][]; links: (string | null)[] }> => {
      const pages: string[][] = [];
      const links: (string | null)[] = [];
      let next: string | undefined = first;
      while (next) {
        const response = await client.request('GET', next);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe(OCI_INDEX);
        const index = (await response.json()) as { manifests: { digest: string }[] };
        pages.push(index.manifests.map((item) => item.digest));
        const link = response.headers.get('link');
        links.push(link);
        next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      }
      return { pages, links };
    };
    const all = await walk(`/v2/spec/refs/referrers/${subject.digest}`);
    expect(all.pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(all.pages.flat()).toEqual(pushed);
    expect(all.links.at(-1)).toBeNull();
    const even = await walk(`/v2/spec/refs/referrers/${subject.digest}?artifactType=application/x-even`);
    expect(even.pages.flat()).toEqual(pushed.filter((_, i) => i % 2 === 0));
    expect(even.links[0]).toContain('artifactType=application%2Fx-even');
    // n= asks for smaller pages.
    expect((await walk(`/v2/spec/refs/referrers/${subject.digest}?n=2`)).pages.map((page) => page.length)).toEqual([2, 2, 2, 1]);
    // The entry a cursor names is deleted before the next page is asked for: nothing is skipped or repeated.
    const firstPage = await client.request('GET', `/v2/spec/refs/referrers/${subject.digest}`);
    const link = /^<([^>]+)>/.exec(firstPage.headers.get('link')!)![1]!;
    expect((await client.request('DELETE', `/v2/spec/refs/manifests/${pushed[2]}`)).status).toBe(202);
    const rest = await walk(link);
    expect(rest.pages.flat()).toEqual(pushed.slice(3));
    expect((await client.request('GET', `/v2/spec/refs/referrers/${subject.digest}?last=garbage`)).status).toBe(400);
    // Kiln's own client follows the links and sees every referrer.
    const registry = new RegistryClient();
    const host = new URL(running.url).host;
    const listed = await registry.referrers({ registry: host, repository: 'spec/refs' }, subject.digest);
    expect(listed.manifests.map((item) => item.digest)).toEqual(pushed.filter((digest) => digest !== pushed[2]));
  });

  it('mounts without from= from a repository that links the blob, and falls back to a session when none does', async () => {
    const data = randomBytes(500);
    expect((await client.pushBlob('spec/mount-source', data)).status).toBe(201);
    const mounted = await client.request('POST', `/v2/spec/mount-target/blobs/uploads/?mount=${sha256(data)}`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/spec/mount-target/blobs/${sha256(data)}`);
    const pulled = await client.request('GET', mounted.headers.get('location')!);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(data)).toBe(true);
    const unknown = await client.request('POST', `/v2/spec/mount-target/blobs/uploads/?mount=${sha256('nowhere')}`);
    expect(unknown.status).toBe(202);
    expect(unknown.headers.get('location')).toMatch(/^\/v2\/spec\/mount-target\/blobs\/uploads\/[0-9a-f-]{36}$/);
  });
});

describe('anonymous mount with access rules', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let running: RunningRegistry;
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}`;

  beforeAll(async () => {
    dir = await tempDir('kiln-registry-mount-');
    await writeFile(join(dir.path, 'users.htpasswd'), ['alice', 'bob'].map((user) => `${user}:${bcrypt.hashSync(`${user}-pw`, 4)}`).join('\n') + '\n');
    running = await start(
      dir.path,
      [
        'addr: 127.0.0.1:0',
        'auth:',
        '  htpasswd: users.htpasswd',
        '  access:',
        '    - repository: "secret/**"',
        '      pull: [alice]',
        '      push: [alice]',
        '    - repository: "**"',
        '      pull: ["*"]',
        '      push: ["*"]',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await running.close();
    await dir[Symbol.asyncDispose]();
  });

  it('mounts for a caller who may read a source, and opens a session for one who may not', async () => {
    const alice = new TestClient(running.url, { authorization: basic('alice') });
    const bob = new TestClient(running.url, { authorization: basic('bob') });
    const secret = randomBytes(400);
    expect((await alice.pushBlob('secret/base', secret)).status).toBe(201);
    // Bob cannot read secret/base: no mount, no hint that the blob exists — an ordinary session.
    const refused = await bob.request('POST', `/v2/bob/app/blobs/uploads/?mount=${sha256(secret)}`);
    expect(refused.status).toBe(202);
    expect((await bob.request('HEAD', `/v2/bob/app/blobs/${sha256(secret)}`)).status).toBe(404);
    // Named explicitly with from=, the answer is the same.
    expect((await bob.request('POST', `/v2/bob/app/blobs/uploads/?mount=${sha256(secret)}&from=secret/base`)).status).toBe(202);
    // Alice may read it: mounted.
    const mounted = await alice.request('POST', `/v2/alice/app/blobs/uploads/?mount=${sha256(secret)}`);
    expect(mounted.status).toBe(201);
    expect((await alice.request('HEAD', `/v2/alice/app/blobs/${sha256(secret)}`)).status).toBe(200);
    // Once the blob is also in a repository Bob may read, he can mount it from there.
    const open = await bob.request('POST', `/v2/bob/app/blobs/uploads/?mount=${sha256(secret)}`);
    expect(open.status).toBe(201);
  });
});
