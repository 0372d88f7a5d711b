import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApkError } from '../errors.ts';
import { readGzipMember } from '../format/gzip-members.ts';
import { ApkCache } from './cache.ts';
import { RepositoryClient } from './client.ts';
import type { DownloadProgress, PackageSource, RepositoryClientOptions } from './client.ts';
import { loadRepositoryKeyring } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { parseRepository } from './repositories.ts';
import { startRepoServer } from './test-server.ts';
import type { RepoServer } from './test-server.ts';
import { SchemeFetcher } from './transports.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const repoFixture = join(fixtures, 'apko-cli-packages');

let server: RepoServer;
let cacheRoot: string;
let fetcher: SchemeFetcher;
let melange: Keyring;

beforeAll(async () => {
  melange = await loadRepositoryKeyring([join(repoFixture, 'melange.rsa.pub')]);
});
beforeEach(async () => {
  server = await startRepoServer(repoFixture);
  cacheRoot = await mkdtemp(join(tmpdir(), 'kiln-cache-'));
  fetcher = new SchemeFetcher({ timeoutMs: 5000 });
});
afterEach(async () => {
  fetcher.close();
  await server.close();
  await rm(cacheRoot, { recursive: true, force: true });
});

function client(options: Partial<RepositoryClientOptions> = {}): RepositoryClient {
  return new RepositoryClient({ fetcher, cache: new ApkCache(cacheRoot), keyring: melange, sleep: async () => undefined, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<ApkError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApkError);
    return error as ApkError;
  }
  throw new Error('expected a rejection');
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

async function sources(repositoryClient: RepositoryClient, arch: string, url = server.url): Promise<PackageSource[]> {
  const repository = parseRepository(url, 'test');
  const index = await repositoryClient.loadIndex(repository, arch);
  return index.records.map((record) => ({ record, repository, arch }));
}

describe('index loading', () => {
  it('fetches and verifies a signed index over http', async () => {
    const index = await client().loadIndex(parseRepository(server.url, 'test'), 'x86_64');
    expect(index.url).toBe(`${server.url}/x86_64/APKINDEX.tar.gz`);
    expect(index.signedBy).toBe('melange.rsa.pub');
    expect(index.records.map((record) => record.name).sort()).toEqual(['custom-ca-certs-1', 'custom-ca-certs-2', 'pretend-baselayout', 'replayout']);
    expect(server.requests).toEqual(['/x86_64/APKINDEX.tar.gz']);
  });

  it('verifies indexes without parsing them, and parses the same bytes when asked', async () => {
    const repositoryClient = client();
    const [verified] = await repositoryClient.verifyIndexes([parseRepository(server.url, 'test')], 'x86_64');
    const bytes = await readFile(join(repoFixture, 'x86_64', 'APKINDEX.tar.gz'));
    expect(verified).toMatchObject({ url: `${server.url}/x86_64/APKINDEX.tar.gz`, signedBy: 'melange.rsa.pub', fromCache: false, digest: createHash('sha256').update(bytes).digest('hex') });
    const records = await verified!.records();
    expect(records.map((record) => record.name).sort()).toEqual(['custom-ca-certs-1', 'custom-ca-certs-2', 'pretend-baselayout', 'replayout']);
    expect(await verified!.records()).toBe(records);
    expect(server.requests).toEqual(['/x86_64/APKINDEX.tar.gz']);
    const keyring = await loadRepositoryKeyring([join(fixtures, 'keys')]);
    await expect(client({ keyring }).verifyIndexes([parseRepository(server.url, 'test')], 'x86_64')).rejects.toMatchObject({ code: 'APK_UNTRUSTED' });
  });

  it('keeps what the full read found beside the cached index, and still decides right when that is wrong', async () => {
    const repository = parseRepository(server.url, 'test');
    const [first] = await client().verifyIndexes([repository], 'x86_64');
    const [meta] = (await listFiles(join(cacheRoot, 'apk', 'indexes'))).filter((file) => file.endsWith('.json'));
    const entry = JSON.parse(await readFile(meta!, 'utf8')) as { check: { signedFrom: number; signatures: Array<{ keyName: string; signature?: string }> } };
    expect(entry.check.signedFrom).toBeGreaterThan(0);
    expect(entry.check.signatures).toEqual([expect.objectContaining({ keyName: 'melange.rsa.pub', signature: expect.any(String) })]);
    const [again] = await client().verifyIndexes([repository], 'x86_64');
    expect(again).toMatchObject({ digest: first!.digest, signedBy: 'melange.rsa.pub', fromCache: true });
    // A stored check whose signature is wrong makes the client read the index in full again.
    entry.check.signatures[0]!.signature = Buffer.alloc(256).toString('base64');
    await writeFile(meta!, JSON.stringify(entry));
    const [third] = await client().verifyIndexes([repository], 'x86_64');
    expect(third).toMatchObject({ digest: first!.digest, signedBy: 'melange.rsa.pub' });
    const keyring = await loadRepositoryKeyring([join(fixtures, 'keys')]);
    await expect(client({ keyring }).verifyIndexes([repository], 'x86_64')).rejects.toMatchObject({ code: 'APK_UNTRUSTED' });
  });

  it('records a new check when the keyring changes what a full read finds, keeping the time of the last revalidation', async () => {
    const repository = parseRepository(server.url, 'test');
    const meta = async (): Promise<{ fetchedAt: number; check: { signatures: Array<{ keyName: string; signature?: string }> } }> => {
      const [file] = (await listFiles(join(cacheRoot, 'apk', 'indexes'))).filter((name) => name.endsWith('.json'));
      return JSON.parse(await readFile(file!, 'utf8'));
    };
    // Accepted untrusted first: the check keeps no signature bytes.
    await client({ keyring: new Map(), allowUntrusted: true, now: () => 1000 }).verifyIndexes([repository], 'x86_64');
    expect((await meta()).check.signatures).toEqual([{ entryName: expect.any(String), algorithm: 'RSA256', keyName: 'melange.rsa.pub' }]);
    // An untrusted index is checked again quickly as well: same answer.
    const [again] = await client({ keyring: new Map(), allowUntrusted: true, now: () => 1500 }).verifyIndexes([repository], 'x86_64');
    expect(again!.signedBy).toBeUndefined();
    // Now the key is trusted: a full read verifies it and its check replaces the stored one.
    const [trusted] = await client({ now: () => 2000 }).verifyIndexes([repository], 'x86_64');
    expect(trusted!.signedBy).toBe('melange.rsa.pub');
    expect(await meta()).toMatchObject({ fetchedAt: 2000, check: { signatures: [expect.objectContaining({ keyName: 'melange.rsa.pub', signature: expect.any(String) })] } });
  });

  it('refuses an index signed by a key not in the keyring', async () => {
    const keyring = await loadRepositoryKeyring([join(fixtures, 'keys')]);
    const error = await rejection(client({ keyring }).loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(error.code).toBe('APK_UNTRUSTED');
    expect(error.message).toContain(`${server.url}/x86_64/APKINDEX.tar.gz`);
    expect(error.message).toContain('melange.rsa.pub');
  });

  it('refuses a signature that does not verify with a key of the same name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-keys-'));
    await cp(join(fixtures, 'apko', 'rsa256-signed', 'test-rsa256.rsa.pub'), join(dir, 'melange.rsa.pub'));
    const keyring = await loadRepositoryKeyring([dir]);
    const error = await rejection(client({ keyring }).loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(error.code).toBe('APK_SIGNATURE_INVALID');
    await rm(dir, { recursive: true });
  });

  it('refuses a tampered index and caches nothing', async () => {
    // x86_64's signature member in front of aarch64's (well-formed) index member.
    const path = join(server.root, 'x86_64', 'APKINDEX.tar.gz');
    const x86 = await readFile(path);
    const arm = await readFile(join(server.root, 'aarch64', 'APKINDEX.tar.gz'));
    await writeFile(path, Buffer.concat([x86.subarray(0, readGzipMember(x86, 0, 0)!.end), arm.subarray(readGzipMember(arm, 0, 0)!.end)]));
    const error = await rejection(client().loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(error.code).toBe('APK_SIGNATURE_INVALID');
    expect(error.message).toContain(`${server.url}/x86_64/APKINDEX.tar.gz`);
    expect(await listFiles(join(cacheRoot, 'apk', 'indexes'))).toEqual([]);
  });

  it('refuses a corrupted index and caches nothing', async () => {
    const path = join(server.root, 'x86_64', 'APKINDEX.tar.gz');
    const bytes = await readFile(path);
    bytes[bytes.length - 20]! ^= 0x01;
    await writeFile(path, bytes);
    const error = await rejection(client().loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(['APK_SIGNATURE_INVALID', 'APK_GZIP_INVALID', 'APK_TAR_INVALID']).toContain(error.code);
    expect(await listFiles(join(cacheRoot, 'apk', 'indexes'))).toEqual([]);
  });

  it('accepts an unsigned index only with allowUntrusted', async () => {
    const path = join(server.root, 'x86_64', 'APKINDEX.tar.gz');
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(readGzipMember(bytes, 0, 0)!.end)); // drop the signature member
    const refused = await rejection(client().loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(refused.code).toBe('APK_UNTRUSTED');
    expect(refused.message).toContain('not signed');
    const index = await client({ allowUntrusted: true, keyring: new Map() }).loadIndex(parseRepository(server.url, 'test'), 'x86_64');
    expect(index.signedBy).toBeUndefined();
    expect(index.records).toHaveLength(4);
  });

  it('accepts a key stored without the .rsa.pub suffix, as apko does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-keys-'));
    await cp(join(repoFixture, 'melange.rsa.pub'), join(dir, 'melange'));
    const index = await client({ keyring: await loadRepositoryKeyring([dir]) }).loadIndex(parseRepository(server.url, 'test'), 'x86_64');
    expect(index.signedBy).toBe('melange.rsa.pub');
    await rm(dir, { recursive: true });
  });

  it('loads the real Alpine 3.16 index with Alpine keys from a file:// mirror', async () => {
    const mirror = await mkdtemp(join(tmpdir(), 'kiln-alpine-'));
    await cp(join(fixtures, 'apko', 'alpine-316', 'APKINDEX.tar.gz'), join(mirror, 'x86_64', 'APKINDEX.tar.gz'));
    const index = await client({ keyring: await loadRepositoryKeyring([join(fixtures, 'keys')]) }).loadIndex(parseRepository(mirror, 'test'), 'x86_64');
    expect(index.signedBy).toBe('alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
    expect(index.description).toBe('v3.16.3-13-g4d933a1fa3');
    expect(index.records).toHaveLength(4929);
    await rm(mirror, { recursive: true });
  });

  it('requires a keyring unless untrusted indexes are allowed, and trusts keys added later', async () => {
    const empty = client({ keyring: new Map() });
    const error = await rejection(empty.loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(error.code).toBe('APK_REPO_KEYRING_EMPTY');
    expect(server.requests).toEqual([]);
    // a key trusted later (a recipe's own keyring) makes the same client verify the index
    const [name, key] = [...melange][0]!;
    empty.trustKey(name, key);
    expect((await empty.loadIndex(parseRepository(server.url, 'test'), 'x86_64')).signedBy).toBe(name);
  });

  it('reports 404 and 500 with the URL and status', async () => {
    const missing = await rejection(client().loadIndex(parseRepository(server.url, 'test'), 'riscv64'));
    expect(missing.code).toBe('APK_REPO_NOT_FOUND');
    expect(missing.message).toContain(`${server.url}/riscv64/APKINDEX.tar.gz`);
    expect(missing.message).toContain('404');
    server.faults.set('/x86_64/APKINDEX.tar.gz', { kind: 'status', status: 500 });
    const broken = await rejection(client().loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(broken.code).toBe('APK_REPO_HTTP_STATUS');
    expect(broken.message).toContain(`${server.url}/x86_64/APKINDEX.tar.gz`);
    expect(broken.message).toContain('HTTP 500');
    expect(broken.detail.status).toBe(500);
  });

  it('serves a fresh cached index without a request, and revalidates a stale one with a 304', async () => {
    const repository = parseRepository(server.url, 'test');
    let clock = 1_000_000;
    const now = (): number => clock;
    const first = await client({ now, indexMaxAgeMs: 60_000 }).loadIndex(repository, 'x86_64');
    expect(first.fromCache).toBe(false);
    clock += 30_000;
    const second = await client({ now, indexMaxAgeMs: 60_000 }).loadIndex(repository, 'x86_64');
    expect(second.fromCache).toBe(true);
    expect(server.requests).toHaveLength(1);
    clock += 60_000;
    const third = await client({ now, indexMaxAgeMs: 60_000 }).loadIndex(repository, 'x86_64');
    expect(third.fromCache).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(server.notModified).toEqual(['/x86_64/APKINDEX.tar.gz']);
    expect(third.records).toEqual(first.records);
  });

  it('falls back to the verified cached index when the server fails, but not on 404', async () => {
    const repository = parseRepository(server.url, 'test');
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (fields: Record<string, unknown>, message: string) => warnings.push(`${message} ${String(fields.url)}`) };
    await client().loadIndex(repository, 'x86_64');
    server.faults.set('/x86_64/APKINDEX.tar.gz', { kind: 'status', status: 503 });
    const stale = await client({ logger }).loadIndex(repository, 'x86_64');
    expect(stale.fromCache).toBe(true);
    expect(stale.records).toHaveLength(4);
    expect(warnings.filter((warning) => !warning.startsWith('download failed, retrying'))).toEqual([
      `repository unreachable, using the cached index ${server.url}/x86_64/APKINDEX.tar.gz`,
    ]);
    expect(warnings.filter((warning) => warning.startsWith('download failed, retrying'))).toHaveLength(2);
    await expect(client({ staleIfError: false }).loadIndex(repository, 'x86_64')).rejects.toMatchObject({ code: 'APK_REPO_HTTP_STATUS' });
    server.faults.set('/x86_64/APKINDEX.tar.gz', { kind: 'status', status: 404 });
    await expect(client().loadIndex(repository, 'x86_64')).rejects.toMatchObject({ code: 'APK_REPO_NOT_FOUND' });
  });

  it('downloads a changed index when the validator no longer matches', async () => {
    const repository = parseRepository(server.url, 'test');
    await client().loadIndex(repository, 'x86_64');
    await cp(join(repoFixture, 'aarch64', 'APKINDEX.tar.gz'), join(server.root, 'x86_64', 'APKINDEX.tar.gz'));
    const index = await client().loadIndex(repository, 'x86_64');
    expect(index.fromCache).toBe(false);
    expect(server.notModified).toEqual([]);
    expect(index.records.find((record) => record.name === 'replayout')?.identity).toBe('Q1u62watWiRSQgVtAIuVuYoDOaVO4=');
  });

  it('revalidates on every load but hands out one parse of unchanged bytes, and a new parse of changed ones', async () => {
    const repository = parseRepository(server.url, 'test');
    const repositoryClient = client();
    const first = await repositoryClient.loadIndex(repository, 'x86_64');
    const second = await repositoryClient.loadIndex(repository, 'x86_64');
    expect(server.notModified).toEqual(['/x86_64/APKINDEX.tar.gz']);
    expect(second.records).toBe(first.records);
    await cp(join(repoFixture, 'aarch64', 'APKINDEX.tar.gz'), join(server.root, 'x86_64', 'APKINDEX.tar.gz'));
    const changed = await repositoryClient.loadIndex(repository, 'x86_64');
    expect(changed.records).not.toBe(first.records);
    expect(changed.records.find((record) => record.name === 'replayout')?.identity).toBe('Q1u62watWiRSQgVtAIuVuYoDOaVO4=');
  });

  it('parses unchanged bytes again once the keyring has grown (who signed it may now be known)', async () => {
    const repository = parseRepository(server.url, 'test');
    const untrusted = client({ keyring: new Map(), allowUntrusted: true });
    expect((await untrusted.loadIndex(repository, 'x86_64')).signedBy).toBeUndefined();
    const [name, key] = [...melange][0]!;
    untrusted.trustKey(name, key);
    expect((await untrusted.loadIndex(repository, 'x86_64')).signedBy).toBe(name);
  });

  it('follows a redirect and gives up after too many', async () => {
    server.faults.set('/moved/x86_64/APKINDEX.tar.gz', { kind: 'redirect', location: '/x86_64/APKINDEX.tar.gz' });
    const index = await client().loadIndex(parseRepository(`${server.url}/moved`, 'test'), 'x86_64');
    expect(index.records).toHaveLength(4);
    server.faults.set('/loop/x86_64/APKINDEX.tar.gz', { kind: 'redirect', location: '/loop/x86_64/APKINDEX.tar.gz' });
    const error = await rejection(client().loadIndex(parseRepository(`${server.url}/loop`, 'test'), 'x86_64'));
    expect(error.code).toBe('APK_REPO_REDIRECTS');
    expect(server.requests.filter((path) => path.startsWith('/loop/'))).toHaveLength(6);
  });

  it('times out on a server that never answers', async () => {
    fetcher.close();
    fetcher = new SchemeFetcher({ timeoutMs: 200 });
    server.faults.set('/x86_64/APKINDEX.tar.gz', { kind: 'stall' });
    const error = await rejection(client().loadIndex(parseRepository(server.url, 'test'), 'x86_64'));
    expect(error.code).toBe('APK_REPO_TIMEOUT');
    expect(error.message).toContain(`${server.url}/x86_64/APKINDEX.tar.gz`);
  });

  it('loads file:// repositories and plain paths', async () => {
    const viaUrl = await client().loadIndex(parseRepository(pathToFileURL(server.root).href, 'test'), 'aarch64');
    const viaPath = await client().loadIndex(parseRepository(server.root, 'test'), 'aarch64');
    expect(viaUrl.signedBy).toBe('melange.rsa.pub');
    expect(viaPath.records).toEqual(viaUrl.records);
    expect(viaPath.fromCache).toBe(true);
    const missing = await rejection(client().loadIndex(parseRepository(server.root, 'test'), 's390x'));
    expect(missing.code).toBe('APK_REPO_NOT_FOUND');
    expect(server.requests).toEqual([]);
  });
});

describe('package downloads', () => {
  it('downloads, verifies and caches packages; a second fetch makes no request', async () => {
    const repositoryClient = client();
    const list = await sources(repositoryClient, 'x86_64');
    const progress: DownloadProgress[] = [];
    const fetched = await repositoryClient.fetchPackages(list, { onProgress: (event) => progress.push(event) });
    expect(fetched.map((item) => item.identity)).toEqual(list.map((source) => source.record.identity));
    expect(fetched.every((item) => !item.cached)).toBe(true);
    for (const item of fetched) expect((await readFile(item.path)).length).toBe(item.source.record.size);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ phase: 'download', done: 4, total: 4 });
    expect(last.bytes).toBe(list.reduce((sum, source) => sum + source.record.size!, 0));
    expect(last.totalBytes).toBe(last.bytes);
    const before = server.requests.length;
    const again = await client().fetchPackages(list);
    expect(again.every((item) => item.cached)).toBe(true);
    expect(server.requests.length).toBe(before);
    expect(await listFiles(join(cacheRoot, 'apk', 'tmp'))).toEqual([]);
  });

  it('refuses a corrupt package and leaves nothing in the cache', async () => {
    const repositoryClient = client();
    const source = (await sources(repositoryClient, 'x86_64')).find((item) => item.record.name === 'replayout')!;
    const path = join(server.root, 'x86_64', 'replayout-1.0.0-r0.apk');
    const bytes = await readFile(path);
    bytes[bytes.length - 30]! ^= 0xff; // inside the data member
    await writeFile(path, bytes);
    const error = await rejection(repositoryClient.fetchPackage(source));
    expect(error.code).toBe('APK_REPO_PACKAGE_DATAHASH_MISMATCH');
    expect(error.message).toContain(`${server.url}/x86_64/replayout-1.0.0-r0.apk`);
    expect(await listFiles(join(cacheRoot, 'apk', 'packages'))).toEqual([]);
    expect(await listFiles(join(cacheRoot, 'apk', 'tmp'))).toEqual([]);
  });

  it('refuses a package whose control member does not match the index identity', async () => {
    const repositoryClient = client();
    const list = await sources(repositoryClient, 'x86_64');
    // Serve the aarch64 build where the x86_64 one should be, cut to the expected size.
    const wanted = list.find((item) => item.record.name === 'custom-ca-certs-1')!;
    const other = await readFile(join(server.root, 'aarch64', 'custom-ca-certs-1-1.0.0-r0.apk'));
    await writeFile(join(server.root, 'x86_64', 'custom-ca-certs-1-1.0.0-r0.apk'), other.subarray(0, wanted.record.size));
    const error = await rejection(repositoryClient.fetchPackage(wanted));
    expect(error.code).toBe('APK_REPO_PACKAGE_IDENTITY_MISMATCH');
    expect(error.message).toContain(wanted.record.identity);
    expect(await listFiles(join(cacheRoot, 'apk', 'packages'))).toEqual([]);
  });

  it('refuses a truncated download and leaves nothing in the cache', async () => {
    const repositoryClient = client();
    const source = (await sources(repositoryClient, 'x86_64')).find((item) => item.record.name === 'pretend-baselayout')!;
    server.faults.set('/x86_64/pretend-baselayout-1.0.0-r0.apk', { kind: 'truncate', bytes: 1000 });
    const error = await rejection(repositoryClient.fetchPackage(source));
    expect(error.code).toBe('APK_REPO_NETWORK');
    expect(error.message).toContain('pretend-baselayout-1.0.0-r0.apk');
    expect(await listFiles(join(cacheRoot, 'apk', 'packages'))).toEqual([]);
    expect(await listFiles(join(cacheRoot, 'apk', 'tmp'))).toEqual([]);
  });

  it('retries a transient failure and succeeds, but not a verification failure', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message) };
    const repositoryClient = client({ logger });
    const list = await sources(repositoryClient, 'x86_64');
    const source = list.find((item) => item.record.name === 'pretend-baselayout')!;
    server.faults.set('/x86_64/pretend-baselayout-1.0.0-r0.apk', { kind: 'truncate', bytes: 100, times: 1 });
    const fetched = await repositoryClient.fetchPackage(source);
    expect(fetched.cached).toBe(false);
    expect(server.requests.filter((path) => path === '/x86_64/pretend-baselayout-1.0.0-r0.apk')).toHaveLength(2);
    expect(warnings).toEqual(['download failed, retrying']);
    const other = list.find((item) => item.record.name === 'replayout')!;
    const path = join(server.root, 'x86_64', 'replayout-1.0.0-r0.apk');
    const bytes = await readFile(path);
    bytes[bytes.length - 30]! ^= 0xff;
    await writeFile(path, bytes);
    await expect(repositoryClient.fetchPackage(other)).rejects.toMatchObject({ code: 'APK_REPO_PACKAGE_DATAHASH_MISMATCH' });
    expect(server.requests.filter((item) => item === '/x86_64/replayout-1.0.0-r0.apk')).toHaveLength(1);
  });

  it('refuses a package of the wrong size', async () => {
    const repositoryClient = client();
    const source = (await sources(repositoryClient, 'x86_64')).find((item) => item.record.name === 'pretend-baselayout')!;
    const path = join(server.root, 'x86_64', 'pretend-baselayout-1.0.0-r0.apk');
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(10)]));
    const error = await rejection(repositoryClient.fetchPackage(source));
    expect(error.code).toBe('APK_REPO_PACKAGE_SIZE_MISMATCH');
    expect(await listFiles(join(cacheRoot, 'apk', 'packages'))).toEqual([]);
  });

  it('reports a missing package with its URL', async () => {
    const repositoryClient = client();
    const source = (await sources(repositoryClient, 'x86_64'))[0]!;
    await rm(join(server.root, 'x86_64', `${source.record.name}-${source.record.version}.apk`));
    const error = await rejection(repositoryClient.fetchPackage(source));
    expect(error.code).toBe('APK_REPO_NOT_FOUND');
    expect(error.message).toContain(`${server.url}/x86_64/${source.record.name}-${source.record.version}.apk`);
  });

  it('re-verifies a cached package and replaces it when it was altered on disk', async () => {
    const repositoryClient = client();
    const source = (await sources(repositoryClient, 'x86_64'))[0]!;
    const first = await repositoryClient.fetchPackage(source);
    const bytes = await readFile(first.path);
    bytes[bytes.length - 30]! ^= 0xff;
    await writeFile(first.path, bytes);
    const requestsBefore = server.requests.length;
    const second = await repositoryClient.fetchPackage(source);
    expect(second.cached).toBe(false);
    expect(server.requests.length).toBe(requestsBefore + 1);
    expect(await readFile(second.path)).toEqual(await readFile(join(repoFixture, 'x86_64', `${source.record.name}-${source.record.version}.apk`)));
  });

  it('deduplicates concurrent fetches of the same package', async () => {
    const repositoryClient = client();
    const source = (await sources(repositoryClient, 'x86_64'))[0]!;
    const results = await Promise.all([repositoryClient.fetchPackage(source), repositoryClient.fetchPackage(source), repositoryClient.fetchPackage(source)]);
    expect(new Set(results.map((item) => item.path)).size).toBe(1);
    expect(server.requests.filter((path) => path.endsWith('.apk'))).toHaveLength(1);
  });

  it('keeps at most `concurrency` downloads in flight', async () => {
    const repositoryClient = client();
    const list = [...(await sources(repositoryClient, 'x86_64')), ...(await sources(repositoryClient, 'aarch64'))];
    server.gate = 3;
    const fetched = await repositoryClient.fetchPackages(list, { concurrency: 3 });
    expect(fetched).toHaveLength(8);
    expect(server.maxInFlight()).toBe(3);
  });

  it('bounds downloads across independent fetchPackage calls too', async () => {
    const repositoryClient = client({ concurrency: 2 });
    const list = [...(await sources(repositoryClient, 'x86_64')), ...(await sources(repositoryClient, 'aarch64'))];
    server.gate = 2;
    const fetched = await Promise.all(list.map((source) => repositoryClient.fetchPackage(source)));
    expect(fetched.every((item) => !item.cached)).toBe(true);
    expect(server.maxInFlight()).toBe(2);
  });

  it('opens a verified package stream for file:// repositories without touching the network', async () => {
    const repositoryClient = client();
    const list = await sources(repositoryClient, 'aarch64', pathToFileURL(server.root).href);
    const { package: fetched, stream } = await repositoryClient.openPackage(list[0]!);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(await readFile(join(repoFixture, 'aarch64', `${fetched.source.record.name}-${fetched.source.record.version}.apk`)));
    expect(fetched.url.startsWith('file://')).toBe(true);
    expect(server.requests).toEqual([]);
  });
});

