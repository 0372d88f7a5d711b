// `kiln apk resolve` end to end, in-process, against a loopback repository server.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { readGzipMember } from '../../src/apk/index.ts';
import { startRepoServer } from '../../src/apk/repository/test-server.ts';
import type { RepoServer } from '../../src/apk/repository/test-server.ts';

const fixtureRoot = join(import.meta.dirname, '..', 'fixtures', 'apk');
const fixtures = join(fixtureRoot, 'apko-cli-packages');
const key = join(fixtures, 'melange.rsa.pub');
const manifest = JSON.parse(await readFile(join(fixtureRoot, 'manifest.json'), 'utf8')) as { items: Array<{ file: string; identity?: string; bytes: number }> };
const fromManifest = (file: string): { identity?: string; bytes: number } => manifest.items.find((item) => item.file === `apko-cli-packages/${file}`)!;

/** Length of the leading signature member. */
function signatureMemberLength(bytes: Buffer): number {
  return readGzipMember(bytes, 0, 0)!.end;
}

let server: RepoServer;
let work: string;

beforeEach(async () => {
  server = await startRepoServer(fixtures);
  work = await mkdtemp(join(tmpdir(), 'kiln-resolve-e2e-'));
});
afterEach(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { HOME: work, XDG_CACHE_HOME: join(work, 'cache') }, cwd: work });

interface PlanEntry {
  name: string;
  version: string;
  arch: string;
  identity: string;
  repository: string;
  url: string;
  size: number;
}

describe('kiln apk resolve', () => {
  it.each(['x86_64', 'aarch64'])('prints the %s install plan as JSON in install order', async (arch) => {
    const run = await kiln(['apk', 'resolve', '--repository', server.url, '--keyring', key, '--arch', arch, '--json', 'replayout']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as { install: PlanEntry[] };
    expect(Object.keys(plan)).toEqual(['install']);
    expect(plan.install.map((entry) => entry.name)).toEqual(['pretend-baselayout', 'replayout']);
    for (const entry of plan.install) {
      const file = `${arch}/${entry.name}-${entry.version}.apk`;
      expect(entry).toMatchObject({ version: '1.0.0-r0', arch, repository: server.url, url: `${server.url}/${file}` });
      expect(entry.identity).toBe(fromManifest(file).identity);
      expect(entry.size).toBe(fromManifest(file).bytes);
    }
    expect(server.requests).toEqual([`/${arch}/APKINDEX.tar.gz`]);
  });

  it('prints apk-style lines and revalidates the cached index on the next run', async () => {
    const args = ['apk', 'resolve', '-X', server.url, '-k', key, '--arch', 'x86_64', 'replayout', 'custom-ca-certs-2'];
    const first = await kiln(args);
    expect(first.code).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3).map((line) => line.replace(/^\(\d\/3\) Installing (\S+) .*$/, '$1')).sort()).toEqual(['custom-ca-certs-2', 'pretend-baselayout', 'replayout']);
    expect(lines[0]).toMatch(/^\(1\/3\) Installing \S+ \(1\.0\.0-r0\)$/);
    expect(lines.at(-1)).toMatch(/^OK: .* in 3 packages$/);
    const second = await kiln(args);
    expect(second.stdout).toBe(first.stdout);
    expect(server.notModified).toEqual(['/x86_64/APKINDEX.tar.gz']);
  });

  it('prepares the universe the second time it sees the index, answers later runs from it, and rebuilds a damaged one', async () => {
    const { readdir, writeFile } = await import('node:fs/promises');
    const args = ['apk', 'resolve', '-X', server.url, '-k', key, '--arch', 'aarch64', '--json', 'replayout', 'custom-ca-certs-1'];
    const first = await kiln(args);
    expect(first.code).toBe(0);
    const dir = join(work, 'cache', 'kiln', 'apk', 'universes');
    expect((await readdir(dir)).filter((name) => name.endsWith('.img'))).toEqual([]);
    expect(await kiln(args)).toMatchObject({ code: 0, stderr: '', stdout: first.stdout });
    const images = await readdir(dir);
    expect(images.filter((name) => name.endsWith('.img'))).toHaveLength(1);
    expect(images).toHaveLength(1);
    const second = await kiln(args);
    expect(second).toMatchObject({ code: 0, stderr: '', stdout: first.stdout });
    await writeFile(join(dir, images[0]!), 'not an image', { mode: 0o600 });
    const third = await kiln(args);
    expect(third.code).toBe(0);
    expect(third.stdout).toBe(first.stdout);
    expect(third.stderr).toBe(`WARNING: prepared universe unusable, rebuilding it: ${join(dir, images[0]!)} (${join(dir, images[0]!)}: not a universe image)\n`);
    expect((await readFile(join(dir, images[0]!))).subarray(0, 7).toString()).toBe('KILNUNV');
  });

  it('warns and uses the cached index when the server fails', async () => {
    const args = ['apk', 'resolve', '-X', server.url, '-k', key, '--arch', 'x86_64', 'replayout'];
    const first = await kiln(args);
    server.faults.set('/x86_64/APKINDEX.tar.gz', { kind: 'status', status: 502 });
    const second = await kiln(args);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const warnings = second.stderr.trimEnd().split('\n');
    expect(warnings.at(-1)).toBe(`WARNING: repository unreachable, using the cached index: ${server.url}/x86_64/APKINDEX.tar.gz (GET ${server.url}/x86_64/APKINDEX.tar.gz: HTTP 502 Bad Gateway)`);
    expect(warnings.slice(0, -1)).toEqual(Array(2).fill(`WARNING: download failed, retrying: ${server.url}/x86_64/APKINDEX.tar.gz (GET ${server.url}/x86_64/APKINDEX.tar.gz: HTTP 502 Bad Gateway)`));
  });

  it('explains an unsatisfiable world on stderr and exits 1', async () => {
    const run = await kiln(['apk', 'resolve', '-X', server.url, '-k', key, '--arch', 'x86_64', '--json', 'custom-ca-certificates', 'no-such-thing']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('unable to select packages');
    expect(run.stderr).toContain('no-such-thing (no such package)');
    expect(run.stderr).toContain('custom-ca-certificates (virtual)');
    expect(run.stderr).toMatch(/provided by: custom-ca-certs-1\s+custom-ca-certs-2/);
  });

  it('refuses a tampered index before resolving', async () => {
    const { writeFile } = await import('node:fs/promises');
    const path = join(server.root, 'x86_64', 'APKINDEX.tar.gz');
    // x86_64's signature member in front of aarch64's index member.
    const x86 = await readFile(path);
    const arm = await readFile(join(server.root, 'aarch64', 'APKINDEX.tar.gz'));
    await writeFile(path, Buffer.concat([x86.subarray(0, signatureMemberLength(x86)), arm.subarray(signatureMemberLength(arm))]));
    const run = await kiln(['apk', 'resolve', '-X', server.url, '-k', key, '--arch', 'x86_64', 'replayout']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${server.url}/x86_64/APKINDEX.tar.gz: signature .SIGN.RSA256.melange.rsa.pub does not verify`);
  });

  it('resolves against a file:// repository listed with a tag', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(work, 'repositories'), `@local file://${server.root}\n`);
    const run = await kiln(['apk', 'resolve', '--repositories-file', 'repositories', '-k', key, '--arch', 'aarch64', '--json', 'replayout@local']);
    expect(run.stderr).toBe('');
    const plan = JSON.parse(run.stdout) as { install: Array<PlanEntry & { tag?: string }> };
    expect(plan.install.map((entry) => [entry.name, entry.tag, entry.repository])).toEqual([
      ['pretend-baselayout', 'local', `file://${server.root}`],
      ['replayout', 'local', `file://${server.root}`],
    ]);
    expect(server.requests).toEqual([]);
  });
});
