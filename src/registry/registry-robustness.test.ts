// Hostile and concurrent traffic against a real loopback server: thousands of malformed requests,
// framed with Content-Length and chunked, with bodies around every size limit, must get 4xx with a
// spec error code (never 5xx, never a crash: /v2/ is asked after every one), and 32 clients pushing
// one blob at once must all succeed with one intact copy. KILN_FUZZ_RUNS raises the request count
// (for example KILN_FUZZ_RUNS=50000 for a long run on demand).
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

/** How a request body is framed on the wire. */
type Framing = 'length' | 'chunked';

/** One request; status 0 means the server closed the connection before its answer could be read,
 *  which a refusal of an over-long body may do (it stops reading and closes). */
function raw(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, framing: Framing = 'length'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const framingHeaders: Record<string, string> = body === undefined ? {} : framing === 'length' ? { 'content-length': String(body.length) } : { 'transfer-encoding': 'chunked' };
    const req = httpRequest({ host: '127.0.0.1', port: running.port, method, path, headers: { ...headers, ...framingHeaders } }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve({ status: 0, body: '' });
      else reject(error);
    });
    if (body === undefined || framing === 'length') {
      req.end(body);
      return;
    }
    // Chunked: several pieces, as a streaming client sends them.
    const third = Math.ceil(body.length / 3) || 1;
    for (let offset = 0; offset < body.length; offset += third) req.write(body.subarray(offset, offset + third));
    req.end();
  });
}

async function expectServing(after: string): Promise<void> {
  const response = await raw('GET', '/v2/', {}, undefined);
  expect(response.status, `/v2/ after ${after}`).toBe(200);
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
  // Around the manifest limit (65536 here) and far past it.
  fc.constantFrom(0, 1, 65_535, 65_536, 65_537, 1_048_576, 5_000_000).map((size) => Buffer.alloc(size, 0x7b)),
);
const framings = fc.constantFrom<Framing>('length', 'chunked');

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
        framings,
        async (method, name, tail, reference, query, headers, body, framing) => {
          const path = `/v2/${name}/${tail}${tail.endsWith('/') && !tail.includes('uploads') ? reference : ''}${query}`;
          const cleanHeaders = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''));
          const sent = method === 'GET' || method === 'HEAD' ? undefined : body;
          const response = await raw(method, path, cleanHeaders, sent, framing);
          const what = `${method} ${path} (${framing}, ${sent?.length ?? 0} bytes)`;
          await expectServing(what);
          // Only a refused over-long body may end in a closed connection instead of an answer.
          if (response.status === 0) {
            expect(sent?.length ?? 0, what).toBeGreaterThan(65_536);
            return;
          }
          expect(response.status, what).toBeLessThan(500);
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

  it('keeps serving after refusing a chunked manifest over the limit (the body has no Content-Length)', async () => {
    // This request once ended the process: the refused body's reader destroyed the request, and the
    // response's finish listener then read the (null) socket.
    for (const size of [65_537, 5_000_000]) {
      const response = await raw('PUT', '/v2/fuzz/app/manifests/chunked', { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, Buffer.alloc(size, 32), 'chunked');
      if (response.status !== 0) {
        expect(response.status).toBe(413);
        expect(JSON.parse(response.body).errors[0].code).toBe('MANIFEST_TOO_LARGE');
      }
      await expectServing(`a chunked manifest of ${size} bytes`);
    }
    const manifest = await client.request('GET', `/v2/fuzz/app/manifests/${sha256(image.manifest)}`);
    expect(manifest.status).toBe(200);
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
