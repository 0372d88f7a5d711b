import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../lib/index.ts';
import { ApkCache } from './cache.ts';
import { RepositoryClient } from './client.ts';
import { loadRepositoryKeyring } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { planInstall, planInstallWith } from './plan.ts';
import { KEPT_UNIVERSE_IMAGES, openPreparedResolver, withPreparedResolver } from './prepared-universe.ts';
import { parseRepository } from './repositories.ts';
import { startRepoServer } from './test-server.ts';
import type { RepoServer } from './test-server.ts';
import { SchemeFetcher } from './transports.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const alpineIndex = join(fixtures, 'apko', 'alpine-317', 'APKINDEX.tar.gz');
const signedRepo = join(fixtures, 'apko-cli-packages');

let work: string;
let fetcher: SchemeFetcher;
let melange: Keyring;
let warnings: string[];

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  error: () => undefined,
  warn: (fields, message) => warnings.push(`${message}: ${String(fields.reason ?? '')}`),
};

beforeAll(async () => {
  melange = await loadRepositoryKeyring([join(signedRepo, 'melange.rsa.pub')]);
});
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-prepared-'));
  fetcher = new SchemeFetcher({ timeoutMs: 5000 });
  warnings = [];
  await mkdir(join(work, 'repo', 'aarch64'), { recursive: true });
  await copyFile(alpineIndex, join(work, 'repo', 'aarch64', 'APKINDEX.tar.gz'));
});
afterEach(async () => {
  fetcher.close();
  await rm(work, { recursive: true, force: true });
});

function client(options: { keyring?: Keyring; allowUntrusted?: boolean } = {}): { client: RepositoryClient; cache: ApkCache } {
  const cache = new ApkCache(join(work, 'cache'));
  return { client: new RepositoryClient({ fetcher, cache, keyring: options.keyring ?? new Map(), allowUntrusted: options.allowUntrusted ?? true }), cache };
}

const alpine = (): ReturnType<typeof parseRepository> => parseRepository(join(work, 'repo'), 'test');

async function images(): Promise<string[]> {
  try {
    return (await readdir(join(work, 'cache', 'apk', 'universes'))).filter((name) => name.endsWith('.img'));
  } catch {
    return [];
  }
}

async function prepare(options: { keyring?: Keyring; allowUntrusted?: boolean; storeOnFirstUse?: boolean; code?: string } = {}, repository = alpine(), arch = 'aarch64') {
  const { client: repositoryClient, cache } = client(options);
  const indexes = await repositoryClient.verifyIndexes([repository], arch);
  const prepared = await openPreparedResolver(indexes, arch, { cache, logger, storeOnFirstUse: options.storeOnFirstUse ?? true, ...(options.code ? { code: options.code } : {}) });
  return { prepared, indexes, repositoryClient };
}

describe('prepared universes', () => {
  it('stores the universe the second time the same indexes are seen, and opens it from then on', async () => {
    const markers = async (): Promise<string[]> => (await readdir(join(work, 'cache', 'apk', 'universes'))).filter((name) => name.endsWith('.seen'));
    const once = await prepare({ storeOnFirstUse: false });
    expect(once.prepared).toMatchObject({ fromImage: false, stored: false });
    expect(await images()).toEqual([]);
    expect(await markers()).toHaveLength(1);
    const twice = await prepare({ storeOnFirstUse: false });
    expect(twice.prepared).toMatchObject({ fromImage: false, stored: true, path: once.prepared.path });
    expect(await images()).toHaveLength(1);
    expect(await markers()).toEqual([]);
    expect((await prepare({ storeOnFirstUse: false })).prepared).toMatchObject({ fromImage: true, stored: false });
    const world = ['python3', 'gcc'];
    expect(planInstallWith(once.prepared.resolver, once.indexes, world).text).toBe(planInstallWith(twice.prepared.resolver, twice.indexes, world).text);
  });

  it('stores the universe on the first run and opens it on the next, with the same plan as the records give', async () => {
    const first = await prepare();
    expect(first.prepared.fromImage).toBe(false);
    expect((await stat(first.prepared.path)).mode & 0o777).toBe(0o600);
    const second = await prepare();
    expect(second.prepared.fromImage).toBe(true);
    expect(second.prepared.path).toBe(first.prepared.path);
    expect(await images()).toHaveLength(1);

    const world = ['python3', 'gcc'];
    const fromRecords = planInstall(await second.repositoryClient.loadIndexes([alpine()], 'aarch64'), world, 'aarch64');
    const fromImage = planInstallWith(second.prepared.resolver, second.indexes, world);
    expect(fromImage.text).toBe(fromRecords.text);
    expect(fromImage.install).toEqual(fromRecords.install);
    expect(fromImage.install[0]!.repository.url).toBe(alpine().url);
    expect(warnings).toEqual([]);
  });

  it('keys images by the index bytes, the signer and the architecture', async () => {
    const first = await prepare();
    // The same bytes for another architecture are another universe.
    await mkdir(join(work, 'repo', 'x86_64'));
    await copyFile(alpineIndex, join(work, 'repo', 'x86_64', 'APKINDEX.tar.gz'));
    const otherArch = await prepare({}, alpine(), 'x86_64');
    expect(otherArch.prepared.fromImage).toBe(false);
    expect(otherArch.prepared.path).not.toBe(first.prepared.path);
    // Other bytes at the same URL are another universe too.
    await copyFile(join(signedRepo, 'aarch64', 'APKINDEX.tar.gz'), join(work, 'repo', 'aarch64', 'APKINDEX.tar.gz'));
    const otherBytes = await prepare();
    expect(otherBytes.prepared.fromImage).toBe(false);
    expect(otherBytes.prepared.path).not.toBe(first.prepared.path);
    expect(planInstallWith(otherBytes.prepared.resolver, otherBytes.indexes, ['replayout']).install.map((source) => source.record.name)).toEqual(['pretend-baselayout', 'replayout']);
    expect(await images()).toHaveLength(3);
    // Another build of Kiln neither reads nor replaces this build's image.
    const otherBuild = await prepare({ code: 'another build' });
    expect(otherBuild.prepared.fromImage).toBe(false);
    expect(otherBuild.prepared.path).not.toBe(otherBytes.prepared.path);
    expect((await prepare()).prepared.fromImage).toBe(true);

    // The same signed bytes, trusted through a key or accepted untrusted, are two universes.
    const server: RepoServer = await startRepoServer(signedRepo);
    try {
      const repository = parseRepository(server.url, 'test');
      const trusted = await prepare({ keyring: melange, allowUntrusted: false }, repository, 'x86_64');
      const untrusted = await prepare({ allowUntrusted: true }, repository, 'x86_64');
      expect(trusted.indexes[0]!.signedBy).toBe('melange.rsa.pub');
      expect(untrusted.indexes[0]!.signedBy).toBeUndefined();
      expect(untrusted.prepared.path).not.toBe(trusted.prepared.path);
      expect(untrusted.prepared.fromImage).toBe(false);
      expect((await prepare({ keyring: melange, allowUntrusted: false }, repository, 'x86_64')).prepared.fromImage).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('rebuilds and replaces an image whose body is damaged, with a warning', async () => {
    const { prepared } = await prepare();
    const bytes = await readFile(prepared.path);
    // A byte of the body (the tables before the records).
    bytes[bytes.readUInt32LE(12) - 1000]! ^= 0xff;
    await writeFile(prepared.path, bytes, { mode: 0o600 });
    const again = await prepare();
    expect(again.prepared.fromImage).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^prepared universe unusable, rebuilding it: .*\.img: digest does not match its content$/)]);
    expect((await prepare()).prepared.fromImage).toBe(true);
  });

  it('answers from the records when a record read for a resolve is damaged, and replaces the image', async () => {
    const { prepared, indexes } = await prepare();
    const expected = planInstallWith(prepared.resolver, indexes, ['alpine-base']);
    prepared.close();
    const bytes = await readFile(prepared.path);
    const at = bytes.indexOf('"name":"busybox"', bytes.readUInt32LE(12));
    expect(at).toBeGreaterThan(0);
    bytes.write('X', at + '"name":"b'.length, 'latin1');
    await writeFile(prepared.path, bytes, { mode: 0o600 });
    const opened = await prepare();
    // The body is sound: the image opens, and the damage shows only when busybox's record is read.
    expect(opened.prepared.fromImage).toBe(true);
    opened.prepared.close();
    const used: boolean[] = [];
    const plan = await withPreparedResolver(indexes, 'aarch64', { cache: new ApkCache(join(work, 'cache')), logger }, (resolver) => {
      used.push(true);
      return planInstallWith(resolver, indexes, ['alpine-base']);
    });
    expect(used.length).toBe(2);
    expect(plan.text).toBe(expected.text);
    expect(plan.install).toEqual(expected.install);
    expect(warnings).toEqual([expect.stringMatching(/^prepared universe unusable, rebuilding it: .*\.img: record of package \d+ does not match its digest$/)]);
    // Replaced at once: the next resolve reads every record cleanly.
    const next = await prepare();
    expect(next.prepared.fromImage).toBe(true);
    expect(planInstallWith(next.prepared.resolver, indexes, ['alpine-base']).text).toBe(expected.text);
    next.prepared.close();
    expect(warnings.length).toBe(1);
  });

  it('reads no record once closed', async () => {
    await prepare();
    const { prepared, indexes } = await prepare();
    expect(prepared.fromImage).toBe(true);
    prepared.close();
    prepared.close();
    expect(() => planInstallWith(prepared.resolver, indexes, ['alpine-base'])).toThrow(/the prepared universe was closed/);
  });

  it('does not trust an image others can write, and replaces it with a private one', async () => {
    const { prepared } = await prepare();
    await chmod(prepared.path, 0o666);
    const again = await prepare();
    expect(again.prepared.fromImage).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('not a private file of this user (owner')]);
    expect((await stat(prepared.path)).mode & 0o777).toBe(0o600);
  });

  it('keeps the most recently used images and removes the others', async () => {
    // One small index under more architectures than are kept: one image each.
    const arches = Array.from({ length: KEPT_UNIVERSE_IMAGES + 1 }, (_, i) => `arch${i}`);
    for (const arch of arches) {
      await mkdir(join(work, 'small', arch), { recursive: true });
      await copyFile(join(signedRepo, 'x86_64', 'APKINDEX.tar.gz'), join(work, 'small', arch, 'APKINDEX.tar.gz'));
    }
    const small = parseRepository(join(work, 'small'), 'test');
    const paths: string[] = [];
    for (const arch of arches.slice(0, KEPT_UNIVERSE_IMAGES)) paths.push((await prepare({}, small, arch)).prepared.path);
    expect(await images()).toHaveLength(KEPT_UNIVERSE_IMAGES);
    // The first two were used long ago; opening the second again makes it recent.
    for (const path of paths.slice(0, 2)) await utimes(path, new Date(2000, 0, 1), new Date(2000, 0, 1));
    expect((await prepare({}, small, arches[1])).prepared.fromImage).toBe(true);
    const last = await prepare({}, small, arches.at(-1));
    expect(last.prepared.fromImage).toBe(false);
    const kept = (await images()).map((name) => join(work, 'cache', 'apk', 'universes', name)).sort();
    expect(kept).toEqual([...paths.slice(1), last.prepared.path].sort());
  });

  it('still resolves when the image cannot be stored', async () => {
    await mkdir(join(work, 'cache', 'apk'), { recursive: true });
    await writeFile(join(work, 'cache', 'apk', 'universes'), 'a file where the directory belongs');
    const { prepared, indexes } = await prepare();
    expect(prepared.fromImage).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^could not store the prepared universe: /)]);
    expect(planInstallWith(prepared.resolver, indexes, ['alpine-base']).install.map((source) => source.record.name)).toContain('alpine-baselayout');
  });
});
