import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/apk/index.ts';
import { splitGzipMembers, tarEntries } from '../../src/package-builder/testing/apk-inspect.ts';
import { debianOrigTarball } from '../../src/package-builder/testing/debian-sources.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// Real software from real upstream tarballs (Debian bookworm's orig tarballs, fetched once with
// apt-get source and cached), built with the built-in autoconf pipelines in bubblewrap over the
// host root filesystem, then checked with openssl, GNU tar and readelf — not with Kiln's reader.

const recipes = join(import.meta.dirname, '..', 'fixtures', 'recipes');
const SDE = 1700000000;

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: String(SDE) }, cwd: process.cwd() });

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface Built {
  out: string;
  key: string;
  summary: { packages: { name: string; file: string; depends: string[]; provides: string[]; sha256: string }[]; index: string; provenance: string };
  log: string;
}

async function buildWithDebianSource(recipe: string, sourcePackage: string, extraVars: (tarball: string) => Record<string, string>): Promise<Built> {
  const tarball = await debianOrigTarball(sourcePackage);
  const work = mkdtempSync(join(tmpdir(), `kiln-e2e-${sourcePackage}-`));
  copyFileSync(join(recipes, recipe), join(work, recipe));
  const keys = await generateSigningKey(join(work, 'e2e'), 2048);
  const vars = { 'source-uri': `file://${tarball}`, ...extraVars(tarball) };
  writeFileSync(join(work, 'vars.yaml'), Object.entries(vars).map(([key, value]) => `${key}: "${value}"`).join('\n'));
  const out = join(work, 'packages');
  const result = await kiln(['pkg', 'build', join(work, recipe), '--bootstrap-host', '--runner', 'bubblewrap', '--signing-key', keys.privateKeyPath, '--out-dir', out, '--vars-file', join(work, 'vars.yaml'), '--empty-workspace', '--json']);
  expect(result.code, result.stderr.slice(-4000)).toBe(0);
  return { out, key: keys.publicKeyPath, summary: JSON.parse(result.stdout) as Built['summary'], log: result.stderr };
}

/** Verifies a package with openssl for the signature over the control member and a plain sha256
 *  for the datahash over the data member (not Kiln's verifier). Returns the control entries and the data entries. */
function verifyIndependently(file: string, publicKey: string): { pkginfo: string; data: Map<string, Buffer> } {
  const bytes = readFileSync(file);
  const [signature, control, data, ...rest] = splitGzipMembers(bytes);
  expect(rest).toHaveLength(0);
  const sigEntries = tarEntries(signature!.content);
  const keyName = join(publicKey).split('/').pop()!;
  expect([...sigEntries.keys()], `signature member of ${file}`).toEqual([`.SIGN.RSA256.${keyName}`]);
  const sig = sigEntries.get(`.SIGN.RSA256.${keyName}`);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-openssl-'));
  writeFileSync(join(dir, 'sig'), sig!);
  writeFileSync(join(dir, 'control'), control!.bytes);
  const verified = execFileSync('openssl', ['dgst', '-sha256', '-verify', publicKey, '-signature', join(dir, 'sig'), join(dir, 'control')], { encoding: 'utf8' });
  expect(verified.trim()).toBe('Verified OK');
  const pkginfo = tarEntries(control!.content).get('.PKGINFO')!.toString('utf8');
  expect(pkginfo).toContain(`datahash = ${sha256(data!.bytes)}`);
  return { pkginfo, data: tarEntries(data!.content) };
}

function pkginfoValues(pkginfo: string, key: string): string[] {
  return pkginfo.split('\n').filter((line) => line.startsWith(`${key} = `)).map((line) => line.slice(key.length + 3));
}

/** so: dependencies readelf reports for an ELF file extracted from a package (NEEDED + interpreter). */
function readelfSoDependencies(elf: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-readelf-'));
  const path = join(dir, 'elf');
  writeFileSync(path, elf);
  const dynamic = execFileSync('readelf', ['-dW', path], { encoding: 'utf8' });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((match) => `so:${match[1]}`);
  const interp = /\[Requesting program interpreter: (.+?)\]/.exec(execFileSync('readelf', ['-lW', path], { encoding: 'utf8' }))?.[1];
  return [...needed, ...(interp ? [`so:${interp.split('/').pop()}`] : [])].sort();
}

describe('kiln pkg build: GNU hello from its upstream tarball', () => {
  let built: Built;
  beforeAll(async () => {
    built = await buildWithDebianSource('hello.yaml', 'hello', () => ({}));
  });

  it('writes one signed package per package and subpackage in the melange layout, plus index and provenance', () => {
    const dir = join(built.out, 'x86_64');
    expect(built.summary.packages.map((pkg) => pkg.file)).toEqual([join(dir, 'hello-2.10-r0.apk'), join(dir, 'hello-doc-2.10-r0.apk')]);
    expect(existsSync(join(dir, 'APKINDEX.tar.gz'))).toBe(true);
    // the step name prefixes streamed log lines
    expect(built.log).toMatch(/\[autoconf\/make > make\] /);
  });

  it('verifies with openssl, carries full .PKGINFO and an SPDX SBOM, and hello runs', () => {
    const { pkginfo, data } = verifyIndependently(join(built.out, 'x86_64', 'hello-2.10-r0.apk'), built.key);
    expect(pkginfoValues(pkginfo, 'pkgname')).toEqual(['hello']);
    expect(pkginfoValues(pkginfo, 'pkgver')).toEqual(['2.10-r0']);
    expect(pkginfoValues(pkginfo, 'origin')).toEqual(['hello']);
    expect(pkginfoValues(pkginfo, 'license')).toEqual(['GPL-3.0-or-later']);
    expect(pkginfoValues(pkginfo, 'builddate')).toEqual([String(SDE)]);
    expect(pkginfoValues(pkginfo, 'commit')).toHaveLength(1);
    expect(pkginfoValues(pkginfo, 'provides')).toContain('cmd:hello=2.10-r0');
    expect([...data.keys()]).toContain('usr/bin/hello');
    expect([...data.keys()].some((path) => path.startsWith('usr/share/man'))).toBe(false);
    const sbom = JSON.parse(data.get('var/lib/db/sbom/hello-2.10-r0.spdx.json')!.toString('utf8')) as { spdxVersion: string; packages: { name: string; checksums?: { checksumValue: string }[] }[] };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    expect(sbom.packages.find((pkg) => pkg.checksums)?.checksums?.[0]?.checksumValue).toBe('31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b');
    const binary = join(mkdtempSync(join(tmpdir(), 'kiln-hello-')), 'hello');
    writeFileSync(binary, data.get('usr/bin/hello')!, { mode: 0o755 });
    expect(execFileSync(binary, { encoding: 'utf8' })).toBe('Hello, world!\n');
  });

  it('detects exactly the so: dependencies readelf -d reports', () => {
    const { pkginfo, data } = verifyIndependently(join(built.out, 'x86_64', 'hello-2.10-r0.apk'), built.key);
    const detected = pkginfoValues(pkginfo, 'depend').filter((dep) => dep.startsWith('so:')).sort();
    expect(detected).toEqual(readelfSoDependencies(data.get('usr/bin/hello')!));
    expect(detected.length).toBeGreaterThan(0);
  });

  it('splits documentation into hello-doc and lists both packages in the signed index', () => {
    const { pkginfo, data } = verifyIndependently(join(built.out, 'x86_64', 'hello-doc-2.10-r0.apk'), built.key);
    expect([...data.keys()].some((path) => path.startsWith('usr/share/man/man1/hello.1'))).toBe(true);
    expect([...data.keys()].some((path) => path.startsWith('usr/share/info/hello.info'))).toBe(true);
    expect(pkginfoValues(pkginfo, 'depend')).toEqual(['man-db', 'texinfo']);
    const [signature, index] = splitGzipMembers(readFileSync(join(built.out, 'x86_64', 'APKINDEX.tar.gz')));
    const dir = mkdtempSync(join(tmpdir(), 'kiln-index-'));
    writeFileSync(join(dir, 'sig'), [...tarEntries(signature!.content).values()][0]!);
    writeFileSync(join(dir, 'index'), index!.bytes);
    expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', built.key, '-signature', join(dir, 'sig'), join(dir, 'index')], { encoding: 'utf8' }).trim()).toBe('Verified OK');
    const text = tarEntries(index!.content).get('APKINDEX')!.toString('utf8');
    expect(text).toMatch(/^P:hello$/m);
    expect(text).toMatch(/^P:hello-doc$/m);
  });

  it('passes its own test pipeline with kiln pkg test', async () => {
    const result = await kiln(['pkg', 'test', join(built.out, '..', 'hello.yaml'), '--bootstrap-host', '--out-dir', built.out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('hello (GNU Hello) 2.10');
    expect(JSON.parse(result.stdout)).toEqual({ tested: [{ package: 'hello', steps: 1 }] });
  });

  it('assembles an image from the built packages that runs hello under runc', async () => {
    // Packages built over the host root link against Debian's glibc: package that runtime too.
    // Building it into the same output directory also updates (not rewrites) the signed index.
    const work = join(built.out, '..');
    copyFileSync(join(recipes, 'host-glibc.yaml'), join(work, 'host-glibc.yaml'));
    const privateKey = built.key.replace(/\.pub$/, '');
    const glibc = await kiln(['pkg', 'build', join(work, 'host-glibc.yaml'), '--bootstrap-host', '--signing-key', privateKey, '--out-dir', built.out, '--empty-workspace', '--json']);
    expect(glibc.code, glibc.stderr).toBe(0);
    const [, index] = splitGzipMembers(readFileSync(join(built.out, 'x86_64', 'APKINDEX.tar.gz')));
    expect([...tarEntries(index!.content).get('APKINDEX')!.toString('utf8').matchAll(/^P:(.*)$/gm)].map((m) => m[1])).toEqual(['hello', 'hello-doc', 'host-glibc']);

    writeFileSync(
      join(work, 'image.yaml'),
      `contents:\n  repositories:\n    - ${built.out}\n  keyring:\n    - ${built.key}\n  packages:\n    - hello\naccounts:\n  groups:\n    - groupname: nonroot\n      gid: 65532\n  users:\n    - username: nonroot\n      uid: 65532\n      gid: 65532\n  run-as: 65532\nentrypoint:\n  command: /usr/bin/hello\narchs:\n  - x86_64\n`,
    );
    const image = await kiln(['image', 'build', join(work, 'image.yaml'), 'kiln.test/hello:1', '--oci-layout', join(work, 'layout'), '--cache-dir', join(work, 'image-cache'), '--json']);
    expect(image.code, image.stderr).toBe(0);
    const bundle = join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${join(work, 'layout')}:1`, bundle]);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: { terminal: boolean } };
    config.process.terminal = false;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    const output = execFileSync('runc', ['run', '--bundle', bundle, `kiln-pkg-e2e-${process.pid}`], { encoding: 'utf8', timeout: 60_000 });
    expect(output).toBe('Hello, world!\n');
    // the image's package database lists the package built here, with its SBOM in place
    expect(readFileSync(join(bundle, 'rootfs', 'lib', 'apk', 'db', 'installed'), 'utf8')).toMatch(/^P:hello\nV:2\.10-r0$/m);
    expect(existsSync(join(bundle, 'rootfs', 'var', 'lib', 'db', 'sbom', 'hello-2.10-r0.spdx.json'))).toBe(true);
  });

  it('records provenance: recipe digest, source checksum, builder and environment packages', () => {
    const statement = JSON.parse(readFileSync(built.summary.provenance, 'utf8')) as {
      subject: { name: string; digest: { sha256: string } }[];
      predicate: { buildDefinition: { externalParameters: { recipe: { digest: { sha256: string } } }; internalParameters: { environment: { kind: string } }; resolvedDependencies: { uri: string; digest?: { sha256?: string } }[] }; runDetails: { builder: { id: string } } };
    };
    expect(statement.subject.map((subject) => subject.digest.sha256)).toEqual(built.summary.packages.map((pkg) => sha256(readFileSync(pkg.file))));
    expect(statement.predicate.buildDefinition.externalParameters.recipe.digest.sha256).toBe(sha256(readFileSync(join(recipes, 'hello.yaml'))));
    expect(statement.predicate.buildDefinition.internalParameters.environment.kind).toBe('bootstrap-host');
    expect(statement.predicate.buildDefinition.resolvedDependencies[0]!.digest?.sha256).toBe('31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b');
    expect(statement.predicate.buildDefinition.resolvedDependencies.some((dep) => /^pkg:deb\/[a-z0-9.-]+\/gcc@/.test(dep.uri))).toBe(true);
    expect(statement.predicate.runDetails.builder.id).toContain('bubblewrap');
  });
});

describe('kiln pkg build: zlib from its upstream tarball', () => {
  let built: Built;
  beforeAll(async () => {
    built = await buildWithDebianSource('zlib.yaml', 'zlib', (tarball) => ({ 'source-sha256': sha256(readFileSync(tarball)) }));
  });

  it('provides the shared library by SONAME and splits -dev and -static', () => {
    const dir = join(built.out, 'x86_64');
    const main = verifyIndependently(join(dir, 'zlib-1.2.13-r1.apk'), built.key);
    const libraries = [...main.data.keys()].filter((path) => /^usr\/lib\/libz\.so\.1\.2\.13$/.test(path));
    expect(libraries).toHaveLength(1);
    expect(pkginfoValues(main.pkginfo, 'provides')).toEqual(expect.arrayContaining(['so:libz.so.1=1', 'so-ver:libz.so.1=1.2.13-r1']));
    expect(pkginfoValues(main.pkginfo, 'provider_priority')).toEqual(['10']);
    const soDeps = pkginfoValues(main.pkginfo, 'depend').filter((dep) => dep.startsWith('so:')).sort();
    expect(soDeps).toEqual(readelfSoDependencies(main.data.get(libraries[0]!)!));
    expect([...main.data.keys()].some((path) => path.endsWith('.a') || path.endsWith('.h'))).toBe(false);

    const dev = verifyIndependently(join(dir, 'zlib-dev-1.2.13-r1.apk'), built.key);
    expect([...dev.data.keys()]).toEqual(expect.arrayContaining(['usr/include/zlib.h', 'usr/lib/pkgconfig/zlib.pc', 'usr/lib/libz.so']));
    expect(pkginfoValues(dev.pkginfo, 'provides')).toContain('pc:zlib=1.2.13-r1');
    // the .so symlink resolves to the library in the main package: a so: dependency on it
    expect(pkginfoValues(dev.pkginfo, 'depend')).toEqual(expect.arrayContaining(['so:libz.so.1', 'zlib']));

    const stat = verifyIndependently(join(dir, 'zlib-static-1.2.13-r1.apk'), built.key);
    expect([...stat.data.keys()]).toContain('usr/lib/libz.a');
  });

  it('rebuilds bit-for-bit identical packages (SOURCE_DATE_EPOCH)', async () => {
    const first = built.summary.packages.map((pkg) => pkg.sha256);
    const again = await buildWithDebianSource('zlib.yaml', 'zlib', (tarball) => ({ 'source-sha256': sha256(readFileSync(tarball)) }));
    // different keys sign differently, so compare the unsigned parts: control + data members
    const unsigned = (file: string) => sha256(Buffer.concat(splitGzipMembers(readFileSync(file)).slice(1).map((member) => member.bytes)));
    expect(again.summary.packages.map((pkg) => unsigned(pkg.file))).toEqual(built.summary.packages.map((pkg) => unsigned(pkg.file)));
    expect(first).toHaveLength(3);
  });
});
