// Hostile and concurrent traffic against a real loopback server: thousands of malformed requests
// must get 4xx with a spec error code (never 5xx, never a crash), and 32 clients pushing one blob at
// once must all succeed with one intact copy. KILN_FUZZ_RUNS raises the request count.
import { request as httpRequest } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import type { RunningRegistry } from '../app/index.ts';
import { silentLogger } from '../lib/index.ts';
import { registryErrorCodes } from './errors.ts';
import { makeImage, randomBytes, sha256, tempDir, TestClient } from './test-support.ts';

const runs = Number(process.env.KILN_FUZZ_RUNS ?? 1500);
let dir: Awaited<ReturnType<typeof tempDir>>;
let running: RunningRegistry;
let client: TestClient;
let image: ReturnType<typeof makeImage>;

beforeAll(async () => {
  dir = await tempDir('kiln-registry-fuzz-');
  await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\nstorage:\n  delete:\n    enabled: true\nhttp:\n  maxManifestBytes: 65536\n');
  running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
  client = new TestClient(running.url);
  image = makeImage();
  expect((await client.pushImage('fuzz/app', image, 'latest')).status).toBe(201);
});

afterAll(async () => {
  await running.close();
  await dir[Symbol.asyncDispose]();
});

function raw(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: running.port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const hostileNames = ['../etc', 'a/../../b', '%2e%2e/x', 'UPPER', 'a//b', '-a', 'a-', '_x', 'a'.repeat(300), 'ünï', 'a/b/', '.', 'fuzz/app', 'fuzz/app/blobs', 'x'];
const references = ['latest', 'sha256:', 'sha256:xyz', `sha256:${'A'.repeat(64)}`, 'md5:abc', '.bad', '-bad', 'a'.repeat(200), 'sha256:../../x', `sha512:${'0'.repeat(64)}`, '%00', ''];
const tails = ['manifests/', 'blobs/', 'blobs/uploads/', 'blobs/uploads/', 'tags/list', 'referrers/', 'blobs/uploads/0000-not-a-session'];
const queries = ['', '?digest=sha256:zz', '?digest=', '?n=-1', '?n=abc', '?n=99999999999', '?last=%ff', '?mount=sha256:x&from=../a', '?mount=&from=', '?tag=..&tag=', '?artifactType=', '?digest=sha256:' + 'f'.repeat(64), '?%zz'];
const headerSets = fc.record(
  {
    'content-type': fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'text/plain', 'application/json; charset=x', ''),
    'content-range': fc.constantFrom('0-', '5-2', 'bytes=0-10', '0-0', '-1-5', '999999999999999999-1', 'abc'),
    range: fc.constantFrom('bytes=0-', 'bytes=-0', 'bytes=10-5', 'bytes=99999999-', 'bits=1-2', 'bytes=0-1,3-4'),
    accept: fc.constantFrom('*/*', 'application/vnd.oci.image.index.v1+json', 'garbage'),
  },
  { requiredKeys: [] },
);
const bodies = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    '{',
    '[]',
    '{"schemaVersion":1}',
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}',
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:x","size":-1,"mediaType":"a"}]}',
    '{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:' + '0'.repeat(64) + '","size":1},"layers":"no"}',
    'null',
  ).map((text) => Buffer.from(text)),
  fc.json().map((text) => Buffer.from(text)),
);

describe('robustness', () => {
  it(`answers ${runs} malformed requests with 4xx and a spec error code, never 5xx`, async () => {
    const known = new Set(Object.keys(registryErrorCodes));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'),
        fc.constantFrom(...hostileNames),
        fc.constantFrom(...tails),
        fc.constantFrom(...references),
        fc.constantFrom(...queries),
        headerSets,
        bodies,
        async (method, name, tail, reference, query, headers, body) => {
          const path = `/v2/${name}/${tail}${tail.endsWith('/') && !tail.includes('uploads') ? reference : ''}${query}`;
          const cleanHeaders = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''));
          const response = await raw(method, path, cleanHeaders, method === 'GET' || method === 'HEAD' ? undefined : body);
          expect(response.status, `${method} ${path}`).toBeLessThan(500);
          if (response.status >= 400 && method !== 'HEAD') {
            const parsed = JSON.parse(response.body) as { errors: { code: string }[] };
            expect(known.has(parsed.errors[0]!.code), `${method} ${path} → ${response.body}`).toBe(true);
          }
        },
      ),
      { numRuns: runs },
    );
    // The server is still healthy and the pushed image intact. Deletes are enabled, so a random
    // `DELETE /v2/fuzz/app/manifests/latest` may legitimately have removed the tag (about one run
    // in seven draws it); the manifest itself is only reachable by its digest, which no request
    // names. So: the manifest is intact by digest, and the tag is either intact or gone.
    const manifest = await client.request('GET', `/v2/fuzz/app/manifests/${sha256(image.manifest)}`);
    expect(Buffer.from(await manifest.arrayBuffer()).equals(image.manifest)).toBe(true);
    const tagged = await client.request('GET', '/v2/fuzz/app/manifests/latest');
    if (tagged.status === 200) expect(Buffer.from(await tagged.arrayBuffer()).equals(image.manifest)).toBe(true);
    else expect(tagged.status).toBe(404);
  });

  it('refuses a body over the manifest limit with 413 without reading it all', async () => {
    const response = await raw('PUT', '/v2/fuzz/app/manifests/big', { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, Buffer.alloc(65537, 32));
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).errors[0].code).toBe('MANIFEST_TOO_LARGE');
  });

  it('lets 32 clients push the same blob at once: all succeed, one intact copy', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const digest = sha256(data);
    const results = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        if (i % 2 === 0) return (await client.pushBlob('fuzz/same', data)).status;
        // Half of the clients use a chunked session instead of a single POST.
        const start = await client.request('POST', '/v2/fuzz/same/blobs/uploads/');
        const location = start.headers.get('location')!;
        const patch = await client.request('PATCH', location, { body: data.subarray(0, 1024 * 1024), headers: { 'content-range': `0-${1024 * 1024 - 1}` } });
        const close = await client.request('PUT', `${patch.headers.get('location')}?digest=${digest}`, { body: data.subarray(1024 * 1024), headers: { 'content-range': `${1024 * 1024}-${data.length - 1}` } });
        return close.status;
      }),
    );
    expect(results).toEqual(Array.from({ length: 32 }, () => 201));
    const get = await client.request('GET', `/v2/fuzz/same/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
  });
});
