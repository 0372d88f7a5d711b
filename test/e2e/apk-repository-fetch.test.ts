// `kiln apk fetch` end to end, in-process, against a loopback repository server.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { startRepoServer } from '../../src/apk/repository/test-server.ts';
import type { RepoServer } from '../../src/apk/repository/test-server.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'apk', 'apko-cli-packages');
const key = join(fixtures, 'melange.rsa.pub');

let server: RepoServer;
let work: string;

beforeEach(async () => {
  server = await startRepoServer(fixtures);
  work = await mkdtemp(join(tmpdir(), 'kiln-fetch-e2e-'));
});
afterEach(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { HOME: join(work, 'home'), XDG_CACHE_HOME: join(work, 'xdg') }, cwd: work });

describe('kiln apk fetch', () => {
  it('downloads verified packages into --output, caching them under XDG_CACHE_HOME', async () => {
    const args = ['apk', 'fetch', '--repository', server.url, '--keyring', key, '--arch', 'x86_64', '--output', 'out', '--json', 'replayout', 'pretend-baselayout'];
    const first = await kiln(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as { fetched: Array<{ name: string; file: string; identity: string; cached: boolean; url: string }> };
    expect(result.fetched.map((item) => item.name)).toEqual(['replayout', 'pretend-baselayout']);
    expect(result.fetched.map((item) => item.url)).toEqual([`${server.url}/x86_64/replayout-1.0.0-r0.apk`, `${server.url}/x86_64/pretend-baselayout-1.0.0-r0.apk`]);
    for (const item of result.fetched) {
      expect(item.cached).toBe(false);
      expect(await readFile(item.file)).toEqual(await readFile(join(fixtures, 'x86_64', `${item.name}-1.0.0-r0.apk`)));
    }
    expect((await readdir(join(work, 'out'))).sort()).toEqual(['pretend-baselayout-1.0.0-r0.apk', 'replayout-1.0.0-r0.apk']);
    const cached = await readdir(join(work, 'xdg', 'kiln', 'apk', 'packages'), { recursive: true });
    expect(cached.filter((name) => name.endsWith('.apk'))).toHaveLength(2);
    await expect(readdir(join(work, 'home'))).rejects.toThrow();

    const packageRequests = server.requests.filter((path) => path.endsWith('.apk')).length;
    const second = await kiln(args);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as typeof result).fetched.every((item) => item.cached)).toBe(true);
    expect(server.requests.filter((path) => path.endsWith('.apk')).length).toBe(packageRequests);
    expect(server.notModified).toEqual(['/x86_64/APKINDEX.tar.gz']);
  });

  it('exits 1 naming the index when the key does not match', async () => {
    const other = join(import.meta.dirname, '..', 'fixtures', 'apk', 'keys');
    const run = await kiln(['apk', 'fetch', '-X', server.url, '-k', other, '--arch', 'x86_64', '-o', 'out', 'replayout']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${server.url}/x86_64/APKINDEX.tar.gz`);
    expect(run.stderr).toContain('signed by melange.rsa.pub, none of which is in the keyring');
    await expect(readdir(join(work, 'out'))).rejects.toThrow();
  });

  it('exits 1 with URL and status when the server fails, writing nothing', async () => {
    server.faults.set('/x86_64/replayout-1.0.0-r0.apk', { kind: 'status', status: 500 });
    const run = await kiln(['apk', 'fetch', '-X', server.url, '-k', key, '--arch', 'x86_64', '-o', 'out', 'replayout']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`GET ${server.url}/x86_64/replayout-1.0.0-r0.apk: HTTP 500`);
    expect(await readdir(join(work, 'out')).catch(() => [])).toEqual([]);
  });

  it('exits 2 without repositories or keys', async () => {
    expect((await kiln(['apk', 'fetch', '-k', key, 'replayout'])).code).toBe(2);
    expect((await kiln(['apk', 'fetch', '-X', server.url, 'replayout'])).code).toBe(2);
  });

  it('reads tagged repositories from --repositories-file and fetches from file:// too', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(work, 'repositories'), `# local mirror\n@mirror ${server.url}\n`);
    const tagged = await kiln(['apk', 'fetch', '--repositories-file', 'repositories', '-k', key, '--arch', 'aarch64', '-o', 'out', '--json', 'replayout@mirror']);
    expect(tagged.code).toBe(0);
    expect(JSON.parse(tagged.stdout)).toMatchObject({ fetched: [{ name: 'replayout', tag: 'mirror', identity: 'Q1u62watWiRSQgVtAIuVuYoDOaVO4=' }] });
    const local = await kiln(['apk', 'fetch', '-X', `file://${server.root}`, '-k', key, '--arch', 'aarch64', '-o', 'local', '--cache-dir', 'c', 'custom-ca-certs-2']);
    expect(local.code).toBe(0);
    expect(local.stdout).toContain('custom-ca-certs-2-1.0.0-r0');
    expect(await readFile(join(work, 'local', 'custom-ca-certs-2-1.0.0-r0.apk'))).toEqual(await readFile(join(fixtures, 'aarch64', 'custom-ca-certs-2-1.0.0-r0.apk')));
  });

  it('fetches the resolved dependency closure with --recursive, with bounded concurrency', async () => {
    server.gate = 2;
    const run = await kiln(['apk', 'fetch', '-X', server.url, '-k', key, '--arch', 'aarch64', '-o', 'out', '--recursive', '--concurrency', '2', '--json', 'replayout', 'custom-ca-certs-1']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const names = (JSON.parse(run.stdout) as { fetched: Array<{ name: string }> }).fetched.map((item) => item.name);
    expect([...names].sort()).toEqual(['custom-ca-certs-1', 'pretend-baselayout', 'replayout']);
    expect(names.indexOf('pretend-baselayout')).toBeLessThan(names.indexOf('replayout'));
    expect((await readdir(join(work, 'out'))).sort()).toEqual(['custom-ca-certs-1-1.0.0-r0.apk', 'pretend-baselayout-1.0.0-r0.apk', 'replayout-1.0.0-r0.apk']);
    expect(server.maxInFlight()).toBe(2);
  });

  it('rejects a bad --concurrency as usage', async () => {
    expect((await kiln(['apk', 'fetch', '-X', server.url, '-k', key, '--concurrency', '0', 'replayout'])).code).toBe(2);
  });
});
