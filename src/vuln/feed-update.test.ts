import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpTransport } from '../apk/index.ts';
import type { HttpTransport } from '../apk/index.ts';
import { silentLogger } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { parseFeedConfig } from './feed-config.ts';
import { feedStatus, updateFeeds } from './feed-update.ts';
import { SqliteVulnIndex } from './sqlite/sqlite-vuln-index.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'vuln');
let work: string;
let index: SqliteVulnIndex;
let fetcher: HttpTransport;
const now = () => new Date('2099-01-10T00:00:00Z');

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-vuln-feeds-'));
  index = new SqliteVulnIndex(join(work, 'db', 'vuln.sqlite'));
  fetcher = await createHttpTransport({ timeoutMs: 2000 });
});

afterEach(async () => {
  index.close();
  fetcher.close();
  await rm(work, { recursive: true, force: true });
});

function collecting(): { logger: Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  return { logger: { ...silentLogger, warn: (fields) => void warnings.push(fields) }, warnings };
}

describe('parseFeedConfig', () => {
  it('resolves paths against the file and names the field at fault', () => {
    expect(parseFeedConfig('feeds: [{name: a, type: secdb, path: x.json, ecosystem: wolfi}]', '/etc/kiln/feeds.yaml')).toEqual([{ name: 'a', type: 'secdb', location: '/etc/kiln/feeds.yaml'.replace('feeds.yaml', 'x.json'), isRemote: false, ecosystem: 'wolfi' }]);
    expect(() => parseFeedConfig('feeds: [{name: a, type: rss, path: x}]', 'f.yaml')).toThrow(expect.objectContaining({ code: 'VULN_FEED_CONFIG_INVALID', message: expect.stringContaining('f.yaml: feeds[0].type') }));
    expect(() => parseFeedConfig('feeds: [{name: a, type: secdb, path: x, ecosystem: ubuntu}]', 'f.yaml')).toThrow(/feeds\[0\]\.ecosystem/);
    expect(() => parseFeedConfig('feeds: [{name: a, type: osv, path: x}, {name: a, type: osv, path: y}]', 'f.yaml')).toThrow(/used twice/);
    expect(() => parseFeedConfig('feeds: [{name: a, type: osv, path: x, url: "https://e.invalid/x"}]', 'f.yaml')).toThrow(/exactly one of url and path/);
  });
});

describe('updateFeeds with local files and directories', () => {
  it('indexes every feed, reports skipped records, then finds them unchanged, then re-indexes a changed file and prunes a removed feed', async () => {
    await copyFile(join(fixtures, 'alpine-3.16-secdb.json'), join(work, 'secdb.json'));
    const config = join(work, 'feeds.yaml');
    await writeFile(config, `feeds:\n  - {name: alpine, type: secdb, path: secdb.json}\n  - {name: osv, type: osv, path: ${join(fixtures, 'osv')}}\n`);
    const feeds = parseFeedConfig(await readFile(config, 'utf8'), config);
    const { logger, warnings } = collecting();
    const first = await updateFeeds({ feeds, index, fetcher, cacheDir: join(work, 'cache'), now, logger });
    expect(first.map((result) => [result.name, result.outcome, result.records, result.warnings.length])).toEqual([
      ['alpine', 'updated', 6, 3],
      ['osv', 'updated', 3, 1],
    ]);
    expect(warnings.map((warning) => `${String(warning.feed)} ${String(warning.record)} ${String(warning.field)}`)).toContain('osv PYSEC-2099-1 affected[0].package.ecosystem');
    expect(index.affected('alpine:3.16', ['openssl']).map((record) => record.vulnerability).sort()).toEqual(['CVE-2099-1001', 'CVE-2099-1002']);

    const second = await updateFeeds({ feeds, index, fetcher, cacheDir: join(work, 'cache'), now, logger: silentLogger });
    expect(second.map((result) => result.outcome)).toEqual(['unchanged', 'unchanged']);

    await writeFile(join(work, 'secdb.json'), JSON.stringify({ distroversion: 'v3.16', urlprefix: 'https://dl-cdn.alpinelinux.org/alpine', packages: [{ pkg: { name: 'openssl', secfixes: { '3-r0': ['CVE-2099-1009'] } } }] }));
    const third = await updateFeeds({ feeds: feeds.slice(0, 1), index, fetcher, cacheDir: join(work, 'cache'), now, logger: silentLogger });
    expect(third.map((result) => [result.outcome, result.records])).toEqual([['updated', 1]]);
    expect(index.affected('alpine:3.16', ['openssl']).map((record) => record.vulnerability)).toEqual(['CVE-2099-1009']);
    expect(index.affected('alpine:3.16', ['zlib'])).toEqual([]);
    expect(feedStatus(index, new Date('2099-01-10T01:00:00Z')).map((status) => [status.name, status.records, status.ageSeconds])).toEqual([['alpine', 1, 3600]]);
  });

  it('fails naming a feed whose path does not exist, and keeps nothing partial of a malformed feed', async () => {
    const missing = parseFeedConfig(`feeds: [{name: gone, type: secdb, path: ${join(work, 'nope.json')}}]`, join(work, 'f.yaml'));
    await expect(updateFeeds({ feeds: missing, index, fetcher, cacheDir: join(work, 'cache'), now, logger: silentLogger })).rejects.toMatchObject({ code: 'VULN_FEED_UNAVAILABLE', message: expect.stringContaining('feed gone') });
    await writeFile(join(work, 'bad.json'), '{"packages": 3}');
    const bad = parseFeedConfig(`feeds: [{name: bad, type: secdb, path: bad.json}]`, join(work, 'f.yaml'));
    await expect(updateFeeds({ feeds: bad, index, fetcher, cacheDir: join(work, 'cache'), now, logger: silentLogger })).rejects.toMatchObject({ code: 'VULN_FEED_INVALID' });
    expect(index.feeds()).toEqual([]);
  });

  it('refuses to open for reading an index that does not exist, naming it, and creates nothing', () => {
    const path = join(work, 'absent', 'vuln.sqlite');
    expect(() => new SqliteVulnIndex(path, { readonly: true })).toThrow(expect.objectContaining({ code: 'VULN_DB_MISSING', message: expect.stringContaining(path) }));
    expect(existsSync(join(work, 'absent'))).toBe(false);
  });
});

describe('updateFeeds over HTTP', () => {
  let server: Server | undefined;
  const requests: Array<string | undefined> = [];

  async function serve(body: string): Promise<string> {
    server = createServer((request, response) => {
      requests.push(request.headers['if-none-match']);
      if (request.headers['if-none-match'] === '"v1"') {
        response.writeHead(304).end();
        return;
      }
      response.writeHead(200, { etag: '"v1"', 'last-modified': 'Sat, 03 Jan 2099 00:00:00 GMT', 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    return `http://127.0.0.1:${address.port}/v3.16/main.json`;
  }

  afterEach(async () => {
    requests.length = 0;
    if (server?.listening) await new Promise((resolve) => server!.close(resolve));
  });

  it('sends the remembered ETag, treats 304 as unchanged, keeps the indexed copy offline, and indexes the cached body when the index is new', async () => {
    const url = await serve(await readFile(join(fixtures, 'alpine-3.16-secdb.json'), 'utf8'));
    const feeds = parseFeedConfig(`feeds: [{name: remote, type: secdb, url: "${url}"}]`, join(work, 'f.yaml'));
    const cacheDir = join(work, 'cache');
    const first = await updateFeeds({ feeds, index, fetcher, cacheDir, now, logger: silentLogger });
    expect(first.map((result) => [result.outcome, result.records])).toEqual([['updated', 6]]);
    expect(index.feeds()[0]).toMatchObject({ etag: '"v1"', lastModified: 'Sat, 03 Jan 2099 00:00:00 GMT' });
    const second = await updateFeeds({ feeds, index, fetcher, cacheDir, now, logger: silentLogger });
    expect(second.map((result) => result.outcome)).toEqual(['unchanged']);
    expect(requests).toEqual([undefined, '"v1"']);

    await new Promise((resolve) => server!.close(resolve));
    fetcher.close();
    fetcher = await createHttpTransport({ timeoutMs: 2000 });
    const { logger, warnings } = collecting();
    const offline = await updateFeeds({ feeds, index, fetcher, cacheDir, now, logger });
    expect(offline.map((result) => [result.outcome, result.records])).toEqual([['offline', 6]]);
    expect(warnings).toHaveLength(1);
    expect(index.affected('alpine:3.16', ['openssl'])).toHaveLength(2);

    const fresh = new SqliteVulnIndex(join(work, 'db2', 'vuln.sqlite'));
    try {
      // Three days after the download: the cached copy is as old as its download, so scans call it stale.
      const later = () => new Date('2099-01-13T00:00:00Z');
      const fromCache = await updateFeeds({ feeds, index: fresh, fetcher, cacheDir, now: later, logger: silentLogger });
      expect(fromCache.map((result) => [result.outcome, result.records])).toEqual([['offline', 6]]);
      expect(fresh.affected('alpine:3.16', ['busybox']).map((record) => record.status).sort()).toEqual(['affected', 'not-affected']);
      expect(fresh.feeds()[0]).toMatchObject({ checkedAt: now().toISOString(), updatedAt: now().toISOString() });
      expect(feedStatus(fresh, later())[0]!.ageSeconds).toBe(3 * 86400);
    } finally {
      fresh.close();
    }
    // The feed moved to another URL: the old URL's copy is not a copy of it.
    const moved = parseFeedConfig(`feeds: [{name: remote, type: secdb, url: "${url.replace('main.json', 'community.json')}"}]`, join(work, 'f.yaml'));
    const fourth = new SqliteVulnIndex(join(work, 'db4', 'vuln.sqlite'));
    try {
      await expect(updateFeeds({ feeds: moved, index: fourth, fetcher, cacheDir, now, logger: silentLogger })).rejects.toMatchObject({
        code: 'VULN_FEED_UNAVAILABLE',
        message: expect.stringContaining('the cached copy is of'),
      });
      // A body changed after its download is refused, not indexed.
      await writeFile(join(cacheDir, 'remote.body'), '{"packages": []}');
      await expect(updateFeeds({ feeds, index: fourth, fetcher, cacheDir, now, logger: silentLogger })).rejects.toMatchObject({
        code: 'VULN_FEED_UNAVAILABLE',
        message: expect.stringContaining('does not match its recorded sha256'),
      });
      expect(fourth.feeds()).toEqual([]);
    } finally {
      fourth.close();
    }
    await mkdir(join(work, 'empty-cache'));
    const third = new SqliteVulnIndex(join(work, 'db3', 'vuln.sqlite'));
    try {
      await expect(updateFeeds({ feeds, index: third, fetcher, cacheDir: join(work, 'empty-cache'), now, logger: silentLogger })).rejects.toMatchObject({
        code: 'VULN_FEED_UNAVAILABLE',
        message: expect.stringContaining('no cached copy'),
      });
    } finally {
      third.close();
    }
  });
});
