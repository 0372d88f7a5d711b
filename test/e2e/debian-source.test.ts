import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';

// The debian/source pipeline and the host-side fetcher: a source package made here (an upstream
// tarball, a Debian tarball with a changelog and a patch series, a .dsc listing both) is served
// from the verified cache exactly as one apt-get fetched; the last case asks the real mirror.

const run = promisify(execFile);
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

let work: string;
let cache: string;

interface Source {
  dsc: string;
  orig: string;
  debian: string;
}

/** Writes a 3.0 (quilt) source package into the cache under its hashes; `patches` are applied in order. */
async function makeSource(name: string, patches: Record<string, string>): Promise<Source> {
  const dir = await mkdtemp(join(work, `${name}-`));
  await mkdir(join(dir, 'up', `demo-1.0`), { recursive: true });
  await writeFile(join(dir, 'up', 'demo-1.0', 'hello.txt'), 'hello\nfrom upstream\n');
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-czf', join(dir, 'orig.tar.gz'), '-C', join(dir, 'up'), 'demo-1.0']);
  await mkdir(join(dir, 'deb', 'debian', 'patches'), { recursive: true });
  await mkdir(join(dir, 'deb', 'debian', 'source'), { recursive: true });
  await writeFile(join(dir, 'deb', 'debian', 'source', 'format'), '3.0 (quilt)\n');
  await writeFile(join(dir, 'deb', 'debian', 'changelog'), 'demo (1.0-1) unstable; urgency=medium\n\n  * Fix CVE-2026-0001.\n\n -- Kiln Test <test@kiln.invalid>  Tue, 01 Dec 2026 10:00:00 +0000\n');
  await writeFile(join(dir, 'deb', 'debian', 'patches', 'series'), `${Object.keys(patches).join('\n')}\n`);
  for (const [patch, text] of Object.entries(patches)) await writeFile(join(dir, 'deb', 'debian', 'patches', patch), text);
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-cJf', join(dir, 'debian.tar.xz'), '-C', join(dir, 'deb'), 'debian']);
  const orig = await readFile(join(dir, 'orig.tar.gz'));
  const debian = await readFile(join(dir, 'debian.tar.xz'));
  const dsc = `Format: 3.0 (quilt)\nSource: demo\nVersion: 1.0-1\nChecksums-Sha256:\n ${sha256(orig)} ${orig.length} demo_1.0.orig.tar.gz\n ${sha256(debian)} ${debian.length} demo_1.0-1.debian.tar.xz\n`;
  for (const bytes of [orig, debian, Buffer.from(dsc)]) await writeFile(join(cache, `sha256:${sha256(bytes)}`), bytes);
  return { dsc: sha256(dsc), orig: sha256(orig), debian: sha256(debian) };
}

const GREET = `--- a/hello.txt\n+++ b/hello.txt\n@@ -1,2 +1,2 @@\n-hello\n+hello, patched by Debian\n from upstream\n`;
const BAD = `--- a/hello.txt\n+++ b/hello.txt\n@@ -1,2 +1,2 @@\n-goodbye\n+never\n from upstream\n`;

async function recipe(file: string, source: Source, pins: Partial<Source> = {}, extra = ''): Promise<string> {
  const pinned = { ...source, ...pins };
  const path = join(work, file);
  await writeFile(path, `package:
  name: demo
  version: "1.0"
  epoch: 0
  description: demo
  copyright:
    - license: MIT
pipeline:
  - uses: debian/source
    with:
      package: demo
      version: 1.0-1
      dsc-sha256: ${pinned.dsc}
      orig-sha256: ${pinned.orig}
      debian-sha256: ${pinned.debian}${extra}
  - runs: install -Dm644 hello.txt "\${{targets.destdir}}/usr/share/demo/hello.txt"
`);
  return path;
}

const build = (file: string, out: string) => runKiln(['pkg', 'build', file, '--bootstrap-host', '--debian-source-cache', cache, '--out-dir', out, '--empty-workspace', '--json'], { cwd: work, env: { ...process.env } });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-debian-source-'));
  cache = join(work, 'cache');
  await mkdir(cache);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('debian/source', () => {
  it('unpacks the upstream tarball, applies the series in order, and records every file and patch', async () => {
    const source = await makeSource('good', { '01-greet.patch': GREET });
    const out = join(work, 'out');
    const result = await build(await recipe('good.yaml', source), out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('applied debian/patches/01-greet.patch');
    const dir = await mkdtemp(join(work, 'apk-'));
    await run('tar', ['-xzf', join(out, 'x86_64', 'demo-1.0-r0.apk'), '-C', dir]);
    expect(await readFile(join(dir, 'usr', 'share', 'demo', 'hello.txt'), 'utf8')).toBe('hello, patched by Debian\nfrom upstream\n');
    const provenance = JSON.parse(await readFile(join(out, 'x86_64', 'demo-1.0-r0.provenance.json'), 'utf8')) as { predicate: { buildDefinition: { resolvedDependencies: { name?: string; digest?: { sha256?: string }; annotations?: { kind?: string; role?: string } }[]; internalParameters: { sourceDateEpoch: number } } } };
    const deps = provenance.predicate.buildDefinition.resolvedDependencies.filter((dep) => dep.annotations?.kind?.startsWith('debian-'));
    expect(deps.map((dep) => [dep.name, dep.annotations?.role ?? 'patch', dep.digest?.sha256])).toEqual([
      ['demo_1.0-1.dsc', 'dsc', source.dsc],
      ['demo_1.0.orig.tar.gz', 'orig', source.orig],
      ['demo_1.0-1.debian.tar.xz', 'debian', source.debian],
      ['debian/patches/01-greet.patch', 'patch', sha256(GREET)],
    ]);
    // SOURCE_DATE_EPOCH is the newest changelog entry's date.
    expect(provenance.predicate.buildDefinition.internalParameters.sourceDateEpoch).toBe(Date.parse('2026-12-01T10:00:00Z') / 1000);
    const sbom = JSON.parse(await readFile(join(dir, 'var', 'lib', 'db', 'sbom', 'demo-1.0-r0.spdx.json'), 'utf8')) as { packages: { name: string; primaryPackagePurpose?: string; externalRefs?: { referenceLocator: string }[] }[] };
    expect(sbom.packages.find((pkg) => pkg.primaryPackagePurpose === 'SOURCE')?.externalRefs?.[0]?.referenceLocator).toBe('pkg:deb/debian/demo@1.0-1?arch=source');
  });

  it('names the patch and the failed hunk when a patch does not apply, and leaves the repository as it was', async () => {
    const out = join(work, 'out');
    const indexBefore = await readFile(join(out, 'x86_64', 'APKINDEX.tar.gz'));
    const packageBefore = await readFile(join(out, 'x86_64', 'demo-1.0-r0.apk'));
    const source = await makeSource('bad', { '01-greet.patch': GREET, '02-bad.patch': BAD });
    const result = await build(await recipe('bad.yaml', source), out);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('debian/source: demo 1.0-1: debian/patches/02-bad.patch does not apply:');
    expect(result.stderr).toMatch(/Hunk #1 FAILED at 1/);
    expect(await readFile(join(out, 'x86_64', 'APKINDEX.tar.gz'))).toEqual(indexBefore);
    expect(await readFile(join(out, 'x86_64', 'demo-1.0-r0.apk'))).toEqual(packageBefore);
  });

  it('leaves out the patches exclude-patches names, and lists only the applied ones in provenance', async () => {
    const source = await makeSource('excluded', { '01-greet.patch': GREET, '02-bad.patch': BAD });
    const out = join(work, 'out-excluded');
    const result = await build(await recipe('excluded.yaml', source, {}, '\n      exclude-patches: 02-bad.patch'), out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('skipped debian/patches/02-bad.patch (exclude-patches)');
    const provenance = JSON.parse(await readFile(join(out, 'x86_64', 'demo-1.0-r0.provenance.json'), 'utf8')) as { predicate: { buildDefinition: { resolvedDependencies: { name?: string; annotations?: { kind?: string } }[] } } };
    expect(provenance.predicate.buildDefinition.resolvedDependencies.filter((dep) => dep.annotations?.kind === 'debian-patch').map((dep) => dep.name)).toEqual(['debian/patches/01-greet.patch']);
    const unknown = await build(await recipe('unknown.yaml', source, {}, '\n      exclude-patches: 03-missing.patch'), join(work, 'out-unknown'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('exclude-patches names 03-missing.patch, which debian/patches/series does not list');
  });

  it('refuses a pin that does not match the .dsc before any step runs', async () => {
    const source = await makeSource('pin', { '01-greet.patch': GREET });
    const result = await build(await recipe('pin.yaml', source, { orig: 'ab'.repeat(32) }), join(work, 'out-pin'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`debian source demo 1.0-1: orig-sha256 ${'ab'.repeat(32)} does not match its .dsc, which lists demo_1.0.orig.tar.gz sha256 ${source.orig}`);
    expect(result.stderr).not.toContain('applied');
  });

  it('refuses a cached tarball whose bytes changed, naming it, before unpacking', async () => {
    const source = await makeSource('tampered', { '01-greet.patch': GREET });
    await writeFile(join(cache, `sha256:${source.orig}`), 'not the tarball');
    const result = await build(await recipe('tampered.yaml', source), join(work, 'out-tampered'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`debian/source: demo 1.0-1: upstream tarball: expected sha256 ${source.orig}, got ${sha256('not the tarball')}`);
  });

  it('says which versions exist when the requested one is not available (the real mirror)', async () => {
    const mirrorCache = join(process.env.KILN_TEST_CACHE_DIR ?? join(tmpdir(), 'kiln-test-cache'), 'debian-sources');
    const file = join(work, 'missing.yaml');
    await writeFile(file, `package:
  name: zlib
  version: 9.9
  epoch: 0
  copyright:
    - license: Zlib
pipeline:
  - uses: debian/source
    with:
      package: zlib
      version: 1:9.9-1
      dsc-sha256: ${'cd'.repeat(32)}
`);
    const result = await runKiln(['pkg', 'build', file, '--bootstrap-host', '--debian-source-cache', mirrorCache, '--out-dir', join(work, 'out-missing'), '--empty-workspace'], { cwd: work, env: { ...process.env } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/debian source zlib 1:9\.9-1 is not available: the mirror does not list it; available: .*1:1\.2\.13\.dfsg-1\b/);
  }, 120_000);
});
