import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey, loadSigningKey, resignApkFile, writeIndexFile } from '../package-api.ts';
import { ApkCache } from './cache.ts';
import { RepositoryClient } from './client.ts';
import type { PackageSource } from './client.ts';
import type { Fetcher } from './fetcher.ts';
import { loadRepositoryKeyring } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { verifyPackageFile } from './package-verify.ts';
import { parseRepository } from './repositories.ts';
import { startRepoServer } from './test-server.ts';
import type { RepoServer } from './test-server.ts';
import { SchemeFetcher } from './transports.ts';

// Two repositories serve the same package (same control member, so the same index `C:`) signed by
// two different keys: different signature members and different file sizes. They share one cache
// directory, as two Kiln processes sharing ~/.cache/kiln do.

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const fixture = join(repoRoot, 'test', 'fixtures', 'apk', 'apko-cli-packages', 'x86_64', 'pretend-baselayout-1.0.0-r0.apk');
const FILE = 'pretend-baselayout-1.0.0-r0.apk';

/** A repository directory holding the fixture package re-signed by its own key, and its index. */
interface SignedRepository {
  dir: string;
  publicKeyPath: string;
  keyring: Keyring;
  bytes: Buffer;
}

let work: string;
let repoA: SignedRepository;
let repoB: SignedRepository;

async function signedRepository(name: string, bits: number): Promise<SignedRepository> {
  const dir = join(work, name);
  await mkdir(join(dir, 'x86_64'), { recursive: true });
  const key = await generateSigningKey(join(work, `${name}-key`), bits);
  const signer = await loadSigningKey(key.privateKeyPath);
  await resignApkFile(fixture, join(dir, 'x86_64', FILE), signer);
  await writeIndexFile(join(dir, 'x86_64', 'APKINDEX.tar.gz'), [join(dir, 'x86_64', FILE)], { signer });
  return { dir, publicKeyPath: key.publicKeyPath, keyring: await loadRepositoryKeyring([key.publicKeyPath]), bytes: await readFile(join(dir, 'x86_64', FILE)) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-cache-keys-'));
  // Different key sizes make different signature lengths, so the two files differ in size too.
  [repoA, repoB] = await Promise.all([signedRepository('a', 2048), signedRepository('b', 3072)]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let serverA: RepoServer;
let serverB: RepoServer;
let cacheRoot: string;
let fetcher: SchemeFetcher;

beforeEach(async () => {
  [serverA, serverB] = await Promise.all([startRepoServer(repoA.dir), startRepoServer(repoB.dir)]);
  cacheRoot = await mkdtemp(join(tmpdir(), 'kiln-cache-'));
  fetcher = new SchemeFetcher({ timeoutMs: 5000 });
});
afterEach(async () => {
  fetcher.close();
  await Promise.all([serverA.close(), serverB.close()]);
  await rm(cacheRoot, { recursive: true, force: true });
});

function client(keyring: Keyring, over: Fetcher = fetcher): RepositoryClient {
  return new RepositoryClient({ fetcher: over, cache: new ApkCache(cacheRoot), keyring, sleep: async () => undefined });
}

async function source(repositoryClient: RepositoryClient, url: string): Promise<PackageSource> {
  const repository = parseRepository(url, 'test');
  const index = await repositoryClient.loadIndex(repository, 'x86_64');
  return { record: index.records.find((record) => record.name === 'pretend-baselayout')!, repository, arch: 'x86_64' };
}

const packageRequests = (server: RepoServer): number => server.requests.filter((path) => path.endsWith('.apk')).length;

describe('package cache shared by repositories signing the same package with different keys', () => {
  it('the fixture is what the tests need: one identity, two signatures, two sizes', async () => {
    const a = await source(client(repoA.keyring), serverA.url);
    const b = await source(client(repoB.keyring), serverB.url);
    expect(a.record.identity).toBe(b.record.identity);
    expect(a.record.size).toBe(repoA.bytes.length);
    expect(b.record.size).toBe(repoB.bytes.length);
    expect(repoA.bytes.length).not.toBe(repoB.bytes.length);
  });

  it('gives each repository its own verified file; fetching from one never removes or replaces the other', async () => {
    const clientA = client(repoA.keyring);
    const clientB = client(repoB.keyring);
    const fetchedA = await clientA.fetchPackage(await source(clientA, serverA.url));
    const inodeA = (await stat(fetchedA.path)).ino;
    const fetchedB = await clientB.fetchPackage(await source(clientB, serverB.url));
    expect(fetchedB.cached).toBe(false);
    expect(fetchedB.path).not.toBe(fetchedA.path);
    for (const path of [fetchedA.path, fetchedB.path]) expect(path.startsWith(join(cacheRoot, 'apk', 'packages'))).toBe(true);
    // A's file is still there, the same file, with A's bytes; B's holds B's.
    expect((await stat(fetchedA.path)).ino).toBe(inodeA);
    expect(await readFile(fetchedA.path)).toEqual(repoA.bytes);
    expect(await readFile(fetchedB.path)).toEqual(repoB.bytes);
    // Neither re-downloads the other's copy away: both are served from the cache from now on.
    const againA = await client(repoA.keyring).fetchPackage(await source(clientA, serverA.url));
    const againB = await client(repoB.keyring).fetchPackage(await source(clientB, serverB.url));
    expect([againA.cached, againB.cached]).toEqual([true, true]);
    expect([againA.path, againB.path]).toEqual([fetchedA.path, fetchedB.path]);
    expect([packageRequests(serverA), packageRequests(serverB)]).toEqual([1, 1]);
    expect(await readFile(fetchedA.path)).toEqual(repoA.bytes);
  });

  it('one client fetching the same identity from two repositories at once gets two results, each from its own repository', async () => {
    const both = client(new Map([...repoA.keyring, ...repoB.keyring]));
    const [sourceA, sourceB] = [await source(both, serverA.url), await source(both, serverB.url)];
    const [fetchedA, fetchedB] = await Promise.all([both.fetchPackage(sourceA), both.fetchPackage(sourceB)]);
    expect(fetchedA.source).toBe(sourceA);
    expect(fetchedB.source).toBe(sourceB);
    expect(fetchedA.url).toBe(`${serverA.url}/x86_64/${FILE}`);
    expect(fetchedB.url).toBe(`${serverB.url}/x86_64/${FILE}`);
    expect(await readFile(fetchedA.path)).toEqual(repoA.bytes);
    expect(await readFile(fetchedB.path)).toEqual(repoB.bytes);
    expect([packageRequests(serverA), packageRequests(serverB)]).toEqual([1, 1]);
  });

  it('replaces a cached copy that fails verification by a rename of the verified download: the path never goes missing', async () => {
    const first = await client(repoA.keyring).fetchPackage(await source(client(repoA.keyring), serverA.url));
    const { path } = first;
    const corrupt = Buffer.from(repoA.bytes);
    corrupt[corrupt.length - 30]! ^= 0xff; // inside the data member: same size, wrong datahash
    await writeFile(path, corrupt);
    const oldInode = (await stat(path)).ino;
    // Someone (another process) holds the old file open.
    const held = await open(path, 'r');
    // While the replacement streams in, the old file must still be at `path`.
    const seen: Array<number | undefined> = [];
    const observing: Fetcher = {
      fetch: async (url, options) => {
        const result = await fetcher.fetch(url, options);
        if (!url.endsWith('.apk') || result.kind !== 'body') return result;
        seen.push(statSync(path, { throwIfNoEntry: false })?.ino);
        const watch = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            seen.push(statSync(path, { throwIfNoEntry: false })?.ino);
            callback(null, chunk);
          },
          flush(callback) {
            seen.push(statSync(path, { throwIfNoEntry: false })?.ino);
            callback();
          },
        });
        return { ...result, body: result.body.pipe(watch) };
      },
    };
    try {
      const repositoryClient = client(repoA.keyring, observing);
      const second = await repositoryClient.fetchPackage(await source(repositoryClient, serverA.url));
      expect(second.cached).toBe(false);
      expect(second.path).toBe(path);
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(seen.every((inode) => inode === oldInode)).toBe(true);
      // The verified download took the name by rename (a new file), and the held file was not touched.
      expect((await stat(path)).ino).not.toBe(oldInode);
      expect(await readFile(path)).toEqual(repoA.bytes);
      await expect(verifyPackageFile(path, { identity: second.source.record.identity, size: second.source.record.size! }, path)).resolves.toMatchObject({ size: repoA.bytes.length });
      expect(await held.readFile()).toEqual(corrupt);
    } finally {
      await held.close();
    }
  });

  it('two processes fetching the two packages into one cache in a loop: no ENOENT, each reads only its own bytes', async () => {
    const module = (name: string): string => JSON.stringify(join(import.meta.dirname, name));
    const script = (url: string, repository: SignedRepository): string => `import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ApkCache } from ${module('cache.ts')};
import { RepositoryClient } from ${module('client.ts')};
import { loadRepositoryKeyring } from ${module('keyring.ts')};
import { parseRepository } from ${module('repositories.ts')};
import { SchemeFetcher } from ${module('transports.ts')};
const fetcher = new SchemeFetcher({ timeoutMs: 10000 });
const expected = await readFile(${JSON.stringify(join(repository.dir, 'x86_64', FILE))});
const client = new RepositoryClient({ fetcher, cache: new ApkCache(${JSON.stringify(cacheRoot)}), keyring: await loadRepositoryKeyring([${JSON.stringify(repository.publicKeyPath)}]) });
const repository = parseRepository(${JSON.stringify(url)}, 'test');
const index = await client.loadIndex(repository, 'x86_64');
const source = { record: index.records.find((record) => record.name === 'pretend-baselayout'), repository, arch: 'x86_64' };
process.stdout.write('ready\\n');
for await (const line of createInterface({ input: process.stdin })) if (line === 'go') break;
const result = { errors: [], foreign: 0, downloads: 0, rounds: 0 };
for (let round = 0; round < 60; round++) {
  try {
    const fetched = await client.fetchPackage(source);
    if (!fetched.cached) result.downloads++;
    if (!(await readFile(fetched.path)).equals(expected)) result.foreign++;
  } catch (error) {
    result.errors.push(String(error.code ?? error.message));
  }
  result.rounds++;
}
fetcher.close();
process.stdout.write(JSON.stringify(result) + '\\n');
`;
    const children = [script(serverA.url, repoA), script(serverB.url, repoB)].map((text) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', text], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
      const lines: string[] = [];
      let buffered = '';
      let onLine: (() => void) | undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        lines.push(...parts);
        onLine?.();
      });
      const ready = new Promise<void>((done) => (onLine = () => lines.includes('ready') && done()));
      const exit = new Promise<number | null>((done) => child.once('exit', done));
      return { child, lines, ready, exit };
    });
    await Promise.all(children.map((item) => item.ready));
    for (const item of children) item.child.stdin.end('go\n');
    expect(await Promise.all(children.map((item) => item.exit))).toEqual([0, 0]);
    const results = children.map((item) => JSON.parse(item.lines.at(-1)!) as { errors: string[]; foreign: number; downloads: number; rounds: number });
    // Each downloads its package once and then always finds its own verified copy.
    expect(results).toEqual([
      { errors: [], foreign: 0, downloads: 1, rounds: 60 },
      { errors: [], foreign: 0, downloads: 1, rounds: 60 },
    ]);
    const fetchedA = await client(repoA.keyring).fetchPackage(await source(client(repoA.keyring), serverA.url));
    const fetchedB = await client(repoB.keyring).fetchPackage(await source(client(repoB.keyring), serverB.url));
    expect([fetchedA.cached, fetchedB.cached]).toEqual([true, true]);
    expect(await readFile(fetchedA.path)).toEqual(repoA.bytes);
    expect(await readFile(fetchedB.path)).toEqual(repoB.bytes);
  }, 60_000);
});
