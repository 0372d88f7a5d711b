import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../lib/index.ts';
import { silentLogger } from '../../lib/index.ts';
import { ApkCache } from './cache.ts';
import type { Fetcher } from './fetcher.ts';
import { fetchRemoteKey } from './remote-key.ts';
import { openRepositoryClient } from './setup.ts';
import { startRepoServer } from './test-server.ts';
import type { RepoServer } from './test-server.ts';
import { SchemeFetcher } from './transports.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const repoFixture = join(fixtures, 'apko-cli-packages');

let server: RepoServer;
let cacheRoot: string;
let fetcher: SchemeFetcher;
beforeEach(async () => {
  server = await startRepoServer(repoFixture);
  cacheRoot = await mkdtemp(join(tmpdir(), 'kiln-key-cache-'));
  fetcher = new SchemeFetcher({ timeoutMs: 5000 });
});
afterEach(async () => {
  fetcher.close();
  await server.close();
  await rm(cacheRoot, { recursive: true, force: true });
});

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (_fields: unknown, message?: string) => void warnings.push(message ?? '') } as Logger;
  return { logger, warnings };
}

describe('fetchRemoteKey', () => {
  it('fetches a key over loopback http, names it by its file name and caches it', async () => {
    const expected = await readFile(join(repoFixture, 'melange.rsa.pub'));
    const key = await fetchRemoteKey({ url: `${server.url}/melange.rsa.pub`, fetcher, cache: new ApkCache(cacheRoot), logger: silentLogger });
    expect(key.name).toBe('melange.rsa.pub');
    expect(Buffer.compare(key.content, expected)).toBe(0);
    expect(key.key.asymmetricKeyType).toBe('rsa');
    expect(server.requests).toEqual(['/melange.rsa.pub']);
  });

  it('falls back to the cached copy with a warning when the server is unreachable, but not on a 404', async () => {
    const cache = new ApkCache(cacheRoot);
    const url = `${server.url}/melange.rsa.pub`;
    await fetchRemoteKey({ url, fetcher, cache, logger: silentLogger });
    server.faults.set('/melange.rsa.pub', { kind: 'status', status: 503 });
    const { logger, warnings } = recordingLogger();
    const again = await fetchRemoteKey({ url, fetcher, cache, logger });
    expect(again.name).toBe('melange.rsa.pub');
    expect(warnings).toEqual(['key download failed; using the cached copy']);
    server.faults.set('/melange.rsa.pub', { kind: 'status', status: 404 });
    await expect(fetchRemoteKey({ url, fetcher, cache, logger })).rejects.toMatchObject({ code: 'APK_REPO_NOT_FOUND' });
  });

  it('refuses content that is not an RSA public key, and caches nothing', async () => {
    await writeFile(join(server.root, 'bogus.rsa.pub'), 'not a key\n');
    const cache = new ApkCache(cacheRoot);
    await expect(fetchRemoteKey({ url: `${server.url}/bogus.rsa.pub`, fetcher, cache, logger: silentLogger })).rejects.toMatchObject({
      code: 'APK_REPO_KEY_INVALID',
      message: expect.stringContaining('bogus.rsa.pub'),
    });
    await expect(readFile(join(cache.root, 'keys'))).rejects.toThrow();
  });

  it('refuses an oversized key, plain http from another host, and a URL without a file name', async () => {
    await writeFile(join(server.root, 'huge.rsa.pub'), Buffer.alloc(70 * 1024, 'k'));
    const cache = new ApkCache(cacheRoot);
    await expect(fetchRemoteKey({ url: `${server.url}/huge.rsa.pub`, fetcher, cache, logger: silentLogger })).rejects.toMatchObject({ code: 'APK_REPO_KEY_INVALID', message: expect.stringContaining('not a public key') });
    await expect(fetchRemoteKey({ url: 'http://keys.example.com/wolfi-signing.rsa.pub', fetcher, cache, logger: silentLogger })).rejects.toMatchObject({ code: 'APK_REPO_KEY_INVALID', message: expect.stringContaining('https') });
    await expect(fetchRemoteKey({ url: `${server.url}/`, fetcher, cache, logger: silentLogger })).rejects.toMatchObject({ code: 'APK_REPO_KEY_INVALID', message: expect.stringContaining('file name') });
    expect(server.requests).toEqual(['/huge.rsa.pub']);
  });

  it('refuses a key whose URL redirects to plain http on another host', async () => {
    const key = await readFile(join(repoFixture, 'melange.rsa.pub'));
    const redirecting: Fetcher = {
      fetch: async (url) => ({ kind: 'body', url, finalUrl: 'http://keys.example.com/melange.rsa.pub', body: Readable.from([key]), validators: {} }),
    };
    const cache = new ApkCache(cacheRoot);
    await expect(fetchRemoteKey({ url: 'https://keys.example.org/melange.rsa.pub', fetcher: redirecting, cache, logger: silentLogger })).rejects.toMatchObject({
      code: 'APK_REPO_KEY_INVALID',
      message: expect.stringContaining('redirected to http://keys.example.com/melange.rsa.pub'),
    });
    // the same bytes from an https final URL are accepted
    const direct: Fetcher = { fetch: async (url) => ({ kind: 'body', url, finalUrl: url, body: Readable.from([key]), validators: {} }) };
    expect((await fetchRemoteKey({ url: 'https://keys.example.org/melange.rsa.pub', fetcher: direct, cache, logger: silentLogger })).name).toBe('melange.rsa.pub');
  });

  it('reads file:// URLs', async () => {
    const key = await fetchRemoteKey({ url: pathToFileURL(join(fixtures, 'keys', 'wolfi-signing.rsa.pub')).href, fetcher, cache: new ApkCache(cacheRoot), logger: silentLogger });
    expect(key.name).toBe('wolfi-signing.rsa.pub');
  });
});

describe('openRepositoryClient with a key URL', () => {
  it('trusts the fetched key for index signatures and hands its content out', async () => {
    const handle = await openRepositoryClient({ cacheDir: cacheRoot, keyringPaths: [`${server.url}/melange.rsa.pub`] });
    try {
      expect([...handle.keyring.keys()]).toEqual(['melange.rsa.pub']);
      const index = await handle.client.loadIndex({ url: server.url }, 'x86_64');
      expect(index.signedBy).toBe('melange.rsa.pub');
      expect(handle.remoteKeys.get(`${server.url}/melange.rsa.pub`)?.name).toBe('melange.rsa.pub');
    } finally {
      handle.close();
    }
  });

  it('keeps the first key of a name, whether it came from a file or a URL', async () => {
    const handle = await openRepositoryClient({ cacheDir: cacheRoot, keyringPaths: [join(repoFixture, 'melange.rsa.pub'), `${server.url}/melange.rsa.pub`] });
    try {
      expect(handle.keyring.size).toBe(1);
      expect(server.requests).toEqual(['/melange.rsa.pub']);
    } finally {
      handle.close();
    }
  });
});
