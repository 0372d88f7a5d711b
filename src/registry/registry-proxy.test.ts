// Behind a trusted proxy (`http.trustProxy`) the client address is the rightmost X-Forwarded-For entry,
// the one the proxy appended: what the client put to its left must not make it loopback (full access
// when no users are configured) nor move it to another rate-limit bucket.
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/index.ts';
import { SqliteMetadataStore } from '../metadata/index.ts';
import { FsBlobStore } from '../storage/index.ts';
import { AccessController } from './access.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { RegistryServer } from './registry-server.ts';
import type { RegistrySettings } from './registry-server.ts';
import { makeImage, tempDir, TestClient } from './test-support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A registry with no users configured (loopback-only), trusting X-Forwarded-For. */
async function serve(settings: Partial<RegistrySettings> = {}): Promise<string> {
  const dir = await tempDir('kiln-registry-proxy-');
  const metadata = new SqliteMetadataStore(`${dir.path}/metadata.db`);
  const registry = new RegistryServer({
    blobs: new FsBlobStore(`${dir.path}/storage`),
    metadata,
    access: new AccessController({ open: true, users: new Map(), rules: [] }),
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    digestLocks: new KeyedMutex(),
    // A clock that never moves: a rate-limit bucket never refills during the test.
    now: () => 1_000_000,
    settings: { deleteEnabled: true, maxManifestBytes: 1 << 20, maxNameLength: 255, maxPageSize: 10, rateLimit: { requestsPerSecond: 0, burst: 1 }, trustProxy: true, ...settings },
  });
  const server = createServer(registry.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await metadata.close();
    await dir[Symbol.asyncDispose]();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** GET over node:http, which sends an array-valued header as several header lines. */
function statusOf(url: string, headers: Record<string, string | string[]>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode);
    }).on('error', reject);
  });
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
}

describe('client address behind a trusted proxy', () => {
  it('takes the rightmost X-Forwarded-For entry: a forged leftmost 127.0.0.1 stays a remote client', async () => {
    const url = await serve();
    const spoofed = new TestClient(url, { 'x-forwarded-for': '127.0.0.1, 203.0.113.7' });
    const denied = await spoofed.pushBlob('team/app', Buffer.from('x'));
    expect(denied.status).toBe(403);
    expect((await errorOf(denied)).code).toBe('DENIED');
    expect((await spoofed.request('GET', '/v2/team/app/tags/list')).status).toBe(403);
    expect((await spoofed.request('DELETE', '/v2/team/app/manifests/v1')).status).toBe(403);
    // The header sent twice is one list (the proxy appended to the last line): still the rightmost.
    expect(await statusOf(`${url}/v2/team/app/tags/list`, { 'x-forwarded-for': ['127.0.0.1', '198.51.100.2'] })).toBe(403);
    // An empty last entry (a proxy that passed the client's `a,` on) is no address, not the socket's loopback.
    expect(await statusOf(`${url}/v2/team/app/tags/list`, { 'x-forwarded-for': '127.0.0.1,' })).toBe(403);
    // A client the proxy reached over loopback is loopback, whatever it claimed to the left.
    const local = new TestClient(url, { 'x-forwarded-for': '203.0.113.7, 127.0.0.1' });
    expect((await local.pushImage('team/app', makeImage(), 'v1')).status).toBe(201);
  });

  it('refuses the catalog to a remote client when no users are configured, and lists it on loopback', async () => {
    const url = await serve();
    const local = new TestClient(url, { 'x-forwarded-for': '127.0.0.1' });
    expect((await local.pushImage('hidden/app', makeImage(), 'v1')).status).toBe(201);
    for (const forwarded of ['203.0.113.7', '127.0.0.1, 203.0.113.7']) {
      const response = await new TestClient(url, { 'x-forwarded-for': forwarded }).request('GET', '/v2/_catalog');
      expect(response.status, forwarded).toBe(403);
      const error = await errorOf(response);
      expect(error.code).toBe('DENIED');
      expect(error.message).not.toContain('hidden');
    }
    const listed = await local.request('GET', '/v2/_catalog');
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ repositories: ['hidden/app'] });
  });

  it('rate-limits by the rightmost entry, whatever the client puts to its left', async () => {
    const url = await serve({ rateLimit: { requestsPerSecond: 1, burst: 2 } });
    const as = (forwarded: string) => fetch(`${url}/v2/`, { headers: { 'x-forwarded-for': forwarded } });
    expect((await as('10.0.0.1, 198.51.100.9')).status).toBe(200);
    expect((await as('10.0.0.2, 198.51.100.9')).status).toBe(200);
    for (const forwarded of ['10.0.0.3, 198.51.100.9', '127.0.0.1, 198.51.100.9', '198.51.100.9']) {
      const limited = await as(forwarded);
      expect(limited.status, forwarded).toBe(429);
      expect(await errorOf(limited)).toEqual({ code: 'TOOMANYREQUESTS', message: 'rate limit exceeded for 198.51.100.9' });
    }
    // Another client (another rightmost address) has its own bucket.
    expect((await as('198.51.100.9, 198.51.100.10')).status).toBe(200);
  });
});

describe('loopback clients that name another host', () => {
  it('gives no loopback trust to a request naming a foreign Host (a web page rebinding its DNS name to this machine)', async () => {
    const url = await serve({ trustProxy: false });
    const port = new URL(url).port;
    expect(await statusOf(`${url}/v2/team/app/tags/list`, { host: `attacker.example:${port}` })).toBe(403);
    expect(await statusOf(`${url}/v2/_catalog`, { host: 'attacker.example' })).toBe(403);
    // This machine by its loopback names and addresses keeps it.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'registry.localhost', `[::1]:${port}`]) {
      expect(await statusOf(`${url}/v2/_catalog`, { host }), host).toBe(200);
    }
  });
});
