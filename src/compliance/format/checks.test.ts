import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeTar } from '../../oci/format/tar.ts';
import type { TarMember } from '../../oci/format/tar.ts';
import { sha256Hex } from '../../lib/index.ts';
import type { CheckedImage, CheckResult } from './check-model.ts';
import { imageVariant, runChecks } from './checks.ts';
import type { ImageUnderCheck } from './checks.ts';
import { mergeLayers, readLayerEntries, resolveImagePath } from './image-fs.ts';
import type { ImageFile, LayerReadOptions } from './image-fs.ts';

/** A layer's bytes as the stream a source delivers, in uneven chunks. */
async function* chunked(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += 70_000) yield bytes.subarray(at, at + 70_000);
}
const read = (bytes: Buffer, where: string, options: LayerReadOptions = {}) => readLayerEntries(chunked(bytes), where, options);

type Spec = Partial<Omit<ImageFile, 'content'>> & { content?: Buffer | string };

function files(specs: Record<string, Spec>): Map<string, ImageFile> {
  const out = new Map<string, ImageFile>();
  for (const [path, spec] of Object.entries(specs)) {
    const content = typeof spec.content === 'string' ? Buffer.from(spec.content) : spec.content;
    const type = spec.type ?? (content ? 'file' : 'directory');
    out.set(path, {
      path, type, mode: spec.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: spec.uid ?? 0, gid: spec.gid ?? 0, size: content?.length ?? 0,
      ...(spec.linkTarget ? { linkTarget: spec.linkTarget } : {}),
      ...(content ? { content, sha256: sha256Hex(content) } : {}),
    });
  }
  return out;
}

const TZIF = Buffer.concat([Buffer.from('TZif2'), Buffer.alloc(40)]);
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
/** openssl.cnf of an OpenSSL 3 FIPS setup (fips_config(5)): the FIPS module's configuration
 *  included, the provider activated, fips=yes the default property. */
const OPENSSL_FIPS_CNF = 'openssl_conf = openssl_init\n.include /etc/ssl/fipsmodule.cnf\n\n[openssl_init]\nproviders = provider_sect\nalg_section = algorithm_sect\n\n[provider_sect]\nfips = fips_sect\nbase = base_sect\n\n[base_sect]\nactivate = 1\n\n[algorithm_sect]\ndefault_properties = fips=yes\n';
const FIPS_MODULE_CNF = '[fips_sect]\nactivate = 1\ninstall-version = 1\nconditional-errors = 1\nsecurity-checks = 1\nmodule-mac = 00:11\n';
const INSTALLED = 'C:Q1m6wB0UFePGN8Drz82pC8y2uAiu8=\nP:base\nV:1.0-r0\nA:x86_64\nS:1\nI:1\nT:base\nU:\nL:MIT\no:base\nF:etc\nR:os-release\n\nC:Q11/HhSewwwOXgl0r0ffb0O0BRtYc=\nP:app\nV:2.0-r1\nA:x86_64\nS:1\nI:1\nT:app\nU:\nL:MIT\no:app\n\n';

/** A clean runtime image: every local check passes. */
function clean(): Record<string, Spec> {
  return {
    etc: {},
    'etc/os-release': { content: 'ID=kiln\nVERSION_ID="1.0"\n' },
    'etc/passwd': { content: 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/bin/sh\n' },
    'etc/shadow': { content: 'root:*:::::::\nnonroot:!:::::::\n', mode: 0o640 },
    'etc/ssl/certs/ca-certificates.crt': { content: CERT + CERT },
    'usr/share/zoneinfo/UTC': { content: TZIF },
    'usr/share/zoneinfo/Etc/UTC': { type: 'symlink', linkTarget: '../UTC' },
    tmp: { mode: 0o1777 },
    'lib/apk/db/installed': { content: INSTALLED },
    'usr/bin/app': { content: 'ELF', mode: 0o755 },
  };
}

const IMAGE: CheckedImage = { name: 'example.com/app:1', source: 'oci-layout', platform: 'linux/amd64', configDigest: `sha256:${'c'.repeat(64)}`, manifestDigest: `sha256:${'a'.repeat(64)}`, variant: { kind: 'runtime' } };

function run(specs: Record<string, Spec>, extra: Partial<ImageUnderCheck> = {}, annotations: Record<string, string> = {}) {
  return runChecks({ image: IMAGE, user: '65532', files: files(specs), ...extra }, annotations);
}

function check(results: { checks: CheckResult[] }, id: string): CheckResult {
  const found = results.checks.find((item) => item.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}

const statuses = (report: { checks: CheckResult[] }) => Object.fromEntries(report.checks.map((item) => [item.id, item.status]));

describe('runChecks', () => {
  it('passes every local check on a clean runtime image and runs nothing it lacks data for', () => {
    const report = run(clean(), { sbomPackages: [{ name: 'base', version: '1.0-r0', namespace: 'kiln', purl: 'pkg:apk/kiln/base@1.0-r0', arch: 'x86_64' }, { name: 'app', version: '2.0-r1', namespace: 'kiln', purl: 'pkg:apk/kiln/app@2.0-r1', arch: 'x86_64' }], image: { ...IMAGE, sbom: { path: 'sbom.json', digest: `sha256:${'d'.repeat(64)}`, format: 'spdx' } } });
    expect(statuses(report)).toEqual({
      'non-root-user': 'pass', 'no-shell': 'pass', 'no-package-manager': 'pass', 'no-compiler': 'pass', 'no-setuid-setgid': 'pass', 'no-world-writable': 'pass',
      'no-private-keys': 'pass', 'no-password-hashes': 'pass', 'no-empty-passwords': 'pass', 'login-shells': 'pass', 'os-release': 'pass', 'ca-bundle': 'pass',
      'timezone-data': 'pass', 'sbom-packages': 'pass', 'packages-signed': 'not-run', 'signature-attached': 'not-run', 'sbom-attached': 'not-run',
      'provenance-attached': 'not-run', reproducible: 'not-run', 'vulnerabilities-within-sla': 'not-run', 'fips-configured': 'not-applicable',
    });
    expect(report.counts).toEqual({ pass: 14, fail: 0, allowed: 0, 'not-run': 6, 'not-applicable': 1 });
    expect(report.isBlocking).toBe(false);
    expect(check(report, 'ca-bundle').summary).toBe('/etc/ssl/certs/ca-certificates.crt holds 2 certificate(s)');
    expect(check(report, 'login-shells').summary).toContain('nonroot (/bin/sh)');
    expect(check(report, 'no-world-writable').evidence).toEqual([{ path: 'tmp', detail: 'directory, mode 1777 (sticky scratch directory, allowed)' }]);
  });

  it('fails non-root-user for an empty User, uid 0, a name with uid 0 and an unknown name', () => {
    expect(check(run(clean(), { user: '' }), 'non-root-user')).toMatchObject({ status: 'fail', summary: 'the image config names no user, so containers run as root (uid 0)' });
    expect(check(run(clean(), { user: '0:0' }), 'non-root-user').status).toBe('fail');
    expect(check(run(clean(), { user: 'root' }), 'non-root-user')).toMatchObject({ status: 'fail', summary: 'the image runs as root, which has uid 0' });
    expect(check(run(clean(), { user: 'ghost' }), 'non-root-user').status).toBe('fail');
    const named = check(run(clean(), { user: 'nonroot' }), 'non-root-user');
    expect(named).toMatchObject({ status: 'pass', summary: 'the image runs as nonroot (uid 65532)' });
    expect(named.evidence[1]).toMatchObject({ path: 'etc/passwd', detail: 'line 2: nonroot has uid 65532' });
    expect(run(clean(), { user: '' }).isBlocking).toBe(true);
  });

  it('finds shells, package managers and compilers in runtime images and allows them in dev variants', () => {
    const tools = { ...clean(), 'bin/busybox': { content: 'x', mode: 0o755 }, 'bin/sh': { type: 'symlink' as const, linkTarget: '/bin/busybox' }, 'sbin/apk': { content: 'x', mode: 0o755 }, 'usr/bin/x86_64-linux-gnu-gcc-12': { content: 'x', mode: 0o755 }, 'usr/bin/shasum': { content: 'x', mode: 0o755 }, 'usr/share/doc/sh': { content: 'not a bin dir' } };
    const runtime = run(tools);
    expect(check(runtime, 'no-shell')).toMatchObject({ status: 'fail', summary: 'runtime image ships a shell: /bin/busybox, /bin/sh' });
    expect(check(runtime, 'no-package-manager')).toMatchObject({ status: 'fail', summary: 'runtime image ships a package manager: /sbin/apk' });
    expect(check(runtime, 'no-compiler')).toMatchObject({ status: 'fail', summary: 'runtime image ships a compiler: /usr/bin/x86_64-linux-gnu-gcc-12' });
    expect(check(runtime, 'login-shells').status).toBe('fail');
    expect(check(runtime, 'no-shell').evidence.map((item) => item.path)).toEqual(['bin/busybox', 'bin/sh']);
    const dev = runChecks({ image: { ...IMAGE, variant: { kind: 'dev', reason: 'name example.com/app-dev:1' } }, user: '65532', files: files(tools) });
    expect([check(dev, 'no-shell').status, check(dev, 'no-package-manager').status, check(dev, 'no-compiler').status, check(dev, 'login-shells').status]).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
    expect(check(dev, 'no-shell').summary).toBe('dev variant (name example.com/app-dev:1): a shell allowed: /bin/busybox, /bin/sh');
    expect(dev.isBlocking).toBe(false);
  });

  it('finds setuid and setgid files, not setgid directories', () => {
    const report = run({ ...clean(), 'usr/bin/su': { content: 'x', mode: 0o4755 }, 'usr/bin/wall': { content: 'x', mode: 0o2755, gid: 5 }, 'var/mail': { mode: 0o2775 } });
    const result = check(report, 'no-setuid-setgid');
    expect(result.status).toBe('fail');
    expect(result.evidence.map((item) => `${item.path}: ${item.detail}`)).toEqual(['usr/bin/su: setuid, mode 4755, owner 0:0', 'usr/bin/wall: setgid, mode 2755, owner 0:5']);
    expect(result.evidence[0]!.digest).toBe(`sha256:${sha256Hex(Buffer.from('x'))}`);
  });

  it('finds world-writable entries but allows sticky /tmp and /var/tmp, symlinks and devices', () => {
    const report = run({ ...clean(), 'var/tmp': { mode: 0o1777 }, 'srv/drop': { mode: 0o777 }, 'etc/app.conf': { content: 'x', mode: 0o666 }, 'opt/tmp': { mode: 0o1777 }, 'bin/link': { type: 'symlink', linkTarget: 'x', mode: 0o777 }, 'dev/null': { type: 'chardev', mode: 0o666 } });
    const result = check(report, 'no-world-writable');
    expect(result.status).toBe('fail');
    expect(result.evidence.map((item) => item.path)).toEqual(['etc/app.conf', 'opt/tmp', 'srv/drop', 'tmp', 'var/tmp']);
    expect(result.summary).toBe('3 world-writable entries: /etc/app.conf, /opt/tmp, /srv/drop');
  });

  it('finds PEM private keys and tokens, not the PEM marker strings a library carries', () => {
    const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW'}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const report = run({ ...clean(), 'root/.ssh/id_ed25519': { content: key, mode: 0o600 }, 'usr/lib/libcrypto.so.3': { content: 'x\0-----BEGIN RSA PRIVATE KEY-----\0y', mode: 0o755 }, 'app/.env': { content: 'KEY=AKIAIOSFODNN7EXAMPLE\n' } });
    const result = check(report, 'no-private-keys');
    expect(result.status).toBe('fail');
    expect(result.evidence.map((item) => `${item.path}: ${item.detail}`)).toEqual(['app/.env: looks like an AWS access key id', 'root/.ssh/id_ed25519: PEM OPENSSH PRIVATE KEY']);
    expect(report.isBlocking).toBe(true);
  });

  it('does not pass no-private-keys when a file was not scanned', () => {
    const tree = files(clean());
    const { content: _content, ...large } = tree.get('usr/bin/app')!;
    tree.set('usr/bin/app', large);
    const result = check(runChecks({ image: IMAGE, user: '1', files: tree }), 'no-private-keys');
    expect(result).toMatchObject({ status: 'not-run', summary: 'no private key or token in the 6 regular file(s) scanned; 1 file(s) were not scanned (their content was not read)' });
    expect(result.evidence).toEqual([{ path: 'usr/bin/app', digest: `sha256:${sha256Hex(Buffer.from('ELF'))}`, detail: 'not scanned (content not read)' }]);
  });

  it('scans files larger than the content kept as they are read, across window boundaries', async () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${'A'.repeat(64)}\n-----END RSA PRIVATE KEY-----\n`;
    // the key straddles the first 1 MiB window's end
    const big = Buffer.concat([Buffer.alloc(1024 * 1024 - 20), Buffer.from(key), Buffer.alloc(3 * 1024 * 1024)]);
    const layer = Buffer.from(encodeTar([{ header: { name: 'opt/blob.bin', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: big }]));
    const read = await readLayerEntries(chunked(layer), 'layer');
    expect(read.files[0]).toMatchObject({ path: 'opt/blob.bin', secretsFound: ['PEM RSA PRIVATE KEY'] });
    expect(read.files[0]!.content).toBeUndefined();
    const tree = files(clean());
    tree.set('opt/blob.bin', read.files[0]!);
    expect(check(runChecks({ image: IMAGE, user: '1', files: tree }), 'no-private-keys')).toMatchObject({ status: 'fail', summary: '1 secret(s) found: /opt/blob.bin (PEM RSA PRIVATE KEY)' });
  });

  it('finds password hashes (even locked ones) and empty passwords in shadow and passwd', () => {
    const report = run({
      ...clean(),
      'etc/passwd': { content: 'root:x:0:0:root:/root:/sbin/nologin\nold:$1$salt$hash:10:10::/:/sbin/nologin\nopen::11:11::/:/sbin/nologin\nsvc:x:12:12::/:/sbin/nologin\nlocked:x:13:13::/:/sbin/nologin\n' },
      'etc/shadow': { content: 'root:*:::::::\nsvc::::::::\nlocked:!$6$abc$def:::::::\n' },
    });
    expect(check(report, 'no-password-hashes').evidence.map((item) => item.detail)).toEqual([
      'line 3: account locked has a password hash (locked, scheme $6$)',
      'line 2: account old has a password hash in /etc/passwd',
    ]);
    expect(check(report, 'no-empty-passwords').evidence.map((item) => item.detail)).toEqual([
      'line 2: account svc has an empty password',
      'line 3: account open has an empty password field and no shadow entry',
    ]);
    expect(check(report, 'no-empty-passwords').status).toBe('fail');
  });

  it('fails the file presence checks when os-release, the CA bundle and zoneinfo are missing or wrong', () => {
    const specs = clean();
    delete specs['etc/ssl/certs/ca-certificates.crt'];
    specs['etc/os-release'] = { content: 'NAME=nothing\n' };
    specs['usr/share/zoneinfo/UTC'] = { content: 'not tzif' };
    const report = run(specs);
    expect([check(report, 'os-release').status, check(report, 'ca-bundle').status, check(report, 'timezone-data').status]).toEqual(['fail', 'fail', 'fail']);
    expect(check(report, 'os-release').summary).toBe('/etc/os-release has no ID field');
    expect(report.isBlocking).toBe(false);
  });

  it('follows os-release through a symlink to /usr/lib/os-release', () => {
    const specs = clean();
    specs['etc/os-release'] = { type: 'symlink', linkTarget: '../usr/lib/os-release' };
    specs['usr/lib/os-release'] = { content: 'ID=wolfi\n' };
    expect(check(run(specs), 'os-release')).toMatchObject({ status: 'pass', summary: '/usr/lib/os-release: ID=wolfi' });
  });

  it('compares installed packages with the SBOM both ways, and does not run without one', () => {
    const sbom = { path: 'sbom.json', digest: `sha256:${'d'.repeat(64)}`, format: 'cyclonedx' as const };
    const report = run(clean(), { image: { ...IMAGE, sbom }, sbomPackages: [{ name: 'base', version: '1.0-r0', namespace: 'kiln', purl: 'p1' }, { name: 'ghost', version: '1', namespace: 'kiln', purl: 'p2' }] });
    expect(check(report, 'sbom-packages')).toMatchObject({ status: 'fail', summary: 'installed but not in the SBOM: app@2.0-r1; in the SBOM but not installed: ghost@1' });
    expect(check(run(clean()), 'sbom-packages')).toMatchObject({ status: 'not-run', summary: 'no SBOM was given for this image (--sbom); 2 package(s) installed' });
    const noDb = clean();
    delete noDb['lib/apk/db/installed'];
    expect(check(run(noDb), 'sbom-packages').status).toBe('not-run');
  });

  it('checks FIPS configuration only on FIPS images and never calls it validated', () => {
    const fips = { ...clean(), 'usr/lib/ossl-modules/fips.so': { content: 'x', mode: 0o755 }, 'etc/ssl/openssl.cnf': { content: OPENSSL_FIPS_CNF }, 'etc/ssl/fipsmodule.cnf': { content: FIPS_MODULE_CNF } };
    const marked = run(fips, {}, { 'dev.kiln.fips': 'true' });
    expect(check(marked, 'fips-configured').status).toBe('pass');
    expect(check(marked, 'fips-configured').summary).toContain('not a validated module');
    const legacy = run({ ...fips, 'usr/lib/ossl-modules/legacy.so': { content: 'x', mode: 0o755 } }, {}, { 'dev.kiln.fips': 'true' });
    expect(check(legacy, 'fips-configured')).toMatchObject({ status: 'fail', summary: 'other providers are loadable: /usr/lib/ossl-modules/legacy.so' });
    expect(check(run(fips), 'fips-configured').status).toBe('not-applicable');
  });

  it('passes or fails the attachment checks only when the registry was asked', () => {
    const subjects = [`sha256:${'1'.repeat(64)}`];
    const found = run(clean(), { attached: { subjects, signatures: [{ digest: `sha256:${'2'.repeat(64)}`, detail: 'cosign signature' }], sboms: [], provenance: [{ digest: `sha256:${'3'.repeat(64)}`, detail: 'slsa' }] } });
    expect([check(found, 'signature-attached').status, check(found, 'sbom-attached').status, check(found, 'provenance-attached').status]).toEqual(['not-run', 'fail', 'not-run']);
    expect(check(found, 'signature-attached').summary).toBe(`1 signature(s) attached to ${subjects[0]}: found, not verified (give --key cosign.pub, or --certificate-identity and --certificate-oidc-issuer, to verify them)`);
    expect(check(found, 'sbom-attached')).toMatchObject({ summary: `no SBOM attestation(s) attached to ${subjects[0]}`, evidence: [{ digest: subjects[0], detail: 'looked up: cosign tags and OCI referrers' }] });
    const unsigned = run(clean(), { attached: { subjects, signatures: [], sboms: [], provenance: [] } });
    expect(unsigned.isBlocking).toBe(true);
    expect(check(run(clean()), 'signature-attached').status).toBe('not-run');
  });

  it('cites controls and CIS items for every check', () => {
    const report = run(clean());
    for (const item of report.checks) expect(item.controls.length, item.id).toBeGreaterThan(0);
    expect(check(report, 'non-root-user')).toMatchObject({ controls: ['ac-6', 'cm-6'], references: ['CIS-Docker-4.1'], severity: 'high' });
    expect(check(report, 'vulnerabilities-within-sla').controls).toEqual(['si-2', 'ra-5']);
  });
});

describe('imageVariant', () => {
  it('takes -dev repositories and tags, and the annotation, for dev variants', () => {
    expect(imageVariant(['cgr.dev/chainguard/nginx:latest-dev'], {})).toEqual({ kind: 'dev', reason: 'name cgr.dev/chainguard/nginx:latest-dev' });
    expect(imageVariant(['registry:5000/nginx-dev'], {}).kind).toBe('dev');
    expect(imageVariant(['registry:5000/nginx:dev@sha256:abc'], {}).kind).toBe('dev');
    expect(imageVariant(['registry:5000/developer:1'], {}).kind).toBe('runtime');
    expect(imageVariant(['registry:5000/nginx-dev-tools:1'], {}).kind).toBe('runtime');
    expect(imageVariant(['x'], { 'dev.kiln.variant': 'dev' })).toEqual({ kind: 'dev', reason: 'annotation dev.kiln.variant=dev' });
  });
});

describe('resolveImagePath', () => {
  it('follows absolute and relative links in any component, and stops on loops', () => {
    const tree = files({ 'usr/lib/os-release': { content: 'ID=x\n' }, etc: { type: 'symlink', linkTarget: 'usr/etc' }, 'usr/etc/os-release': { type: 'symlink', linkTarget: '/usr/lib/os-release' }, a: { type: 'symlink', linkTarget: 'b' }, b: { type: 'symlink', linkTarget: 'a' } });
    expect(resolveImagePath(tree, 'etc/os-release')?.path).toBe('usr/lib/os-release');
    expect(resolveImagePath(tree, 'a')).toBeUndefined();
  });
});

describe('readLayerEntries and mergeLayers', () => {
  const entry = (name: string, type: TarMember['header']['type'], mode: number, content?: string, linkname?: string): TarMember => ({
    header: { name, type, mode, uid: 0, gid: 0, mtime: 0, ...(linkname ? { linkname } : {}) }, ...(content !== undefined ? { content: Buffer.from(content) } : {}),
  });

  it('reads modes and owners from gzip and plain tar layers and applies whiteouts and opaque directories', async () => {
    const lower = Buffer.from(gzipSync(encodeTar([entry('etc', 'dir', 0o755), entry('etc/a', 'file', 0o4755, 'A'), entry('etc/b', 'file', 0o644, 'B'), entry('opt', 'dir', 0o755), entry('opt/x', 'file', 0o644, 'X'), entry('etc/hard', 'hardlink', 0o644, undefined, 'etc/a')])));
    const upper = Buffer.from(encodeTar([entry('etc/.wh.b', 'file', 0o644, ''), entry('opt/.wh..wh..opq', 'file', 0o644, ''), entry('opt/y', 'file', 0o600, 'Y')]));
    const merged = mergeLayers([await read(lower, 'lower'), await read(upper, 'upper')]);
    expect([...merged.keys()].sort()).toEqual(['etc', 'etc/a', 'etc/hard', 'opt', 'opt/y']);
    expect(merged.get('etc/a')).toMatchObject({ type: 'file', mode: 0o4755, sha256: sha256Hex(Buffer.from('A')), content: Buffer.from('A') });
    expect(merged.get('etc/hard')).toMatchObject({ type: 'file', content: Buffer.from('A') });
    expect(merged.get('opt/y')!.mode).toBe(0o600);
  });

  it('computes the diff id of the uncompressed tar, across gzip members, and refuses a layer that is not a tar', async () => {
    const tar = Buffer.from(encodeTar([entry('etc', 'dir', 0o755), entry('etc/a', 'file', 0o644, 'A'.repeat(3000))]));
    const layered = Buffer.concat([gzipSync(tar.subarray(0, 1000)), gzipSync(tar.subarray(1000))]);
    expect((await read(layered, 'layer')).diffId).toBe(`sha256:${sha256Hex(tar)}`);
    await expect(read(Buffer.from('not a layer, only text '.repeat(40)), 'layer sha256:junk')).rejects.toMatchObject({ code: 'OCI_ARCHIVE_INVALID', message: expect.stringContaining('layer sha256:junk') });
  });

  it('keeps content only up to the limit but always hashes', async () => {
    const layer = Buffer.from(encodeTar([entry('big', 'file', 0o644, 'x'.repeat(100))]));
    const [file] = (await read(layer, 'layer', { keepContentUpTo: 10 })).files;
    expect(file!.content).toBeUndefined();
    expect(file!.sha256).toBe(sha256Hex(Buffer.from('x'.repeat(100))));
  });
});

const member = (name: string, type: TarMember['header']['type'], mode: number, content?: string | Buffer, linkname?: string): TarMember => ({
  header: { name, type, mode, uid: 0, gid: 0, mtime: 0, ...(linkname ? { linkname } : {}) }, ...(content !== undefined ? { content: Buffer.from(content) } : {}),
});
const layerOf = (members: TarMember[]) => read(Buffer.from(encodeTar(members)), 'layer');
const imageOf = async (...layers: TarMember[][]) => mergeLayers(await Promise.all(layers.map(layerOf)));

describe('the filesystem a container sees', () => {
  it('cleans entry names as runtimes unpack them, so later layers override and whiteouts apply', async () => {
    const base = [member('etc', 'dir', 0o755), member('etc/os-release', 'file', 0o644, 'ID=kiln\n'), member('etc/passwd', 'file', 0o644, 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000::/:/sbin/nologin\n')];
    const upper = [member('usr//bin/bash', 'file', 0o755, 'ELF'), member('./etc/./passwd', 'file', 0o644, 'root:x:0:0:root:/root:/sbin/nologin\napp:x:0:0::/:/sbin/nologin\n'), member('usr/bin/../bin/apk', 'file', 0o755, 'ELF'), member('../../srv/escaped', 'file', 0o644, 'x')];
    const tree = await imageOf(base, upper);
    expect([...tree.keys()].sort()).toEqual(['etc', 'etc/os-release', 'etc/passwd', 'srv/escaped', 'usr/bin/apk', 'usr/bin/bash']);
    const report = runChecks({ image: IMAGE, user: 'app', files: tree });
    expect(check(report, 'non-root-user')).toMatchObject({ status: 'fail', summary: 'the image runs as app, which has uid 0' });
    expect(check(report, 'no-shell')).toMatchObject({ status: 'fail', summary: 'runtime image ships a shell: /usr/bin/bash' });
    expect(check(report, 'no-package-manager')).toMatchObject({ status: 'fail', summary: 'runtime image ships a package manager: /usr/bin/apk' });
    const whitedOut = await imageOf(base, upper, [member('usr//bin/./.wh.bash', 'file', 0o644, '')]);
    expect(whitedOut.has('usr/bin/bash')).toBe(false);
    expect(check(runChecks({ image: IMAGE, user: 'app', files: whitedOut }), 'no-shell').status).toBe('pass');
  });

  it('places entries where the links in their parent directories lead, and a non-directory replaces a directory with what was under it', async () => {
    const lower = [member('usr/local/bin', 'symlink', 0o777, undefined, '/opt/tools/bin'), member('opt/tools/bin', 'dir', 0o755), member('srv/data/x', 'file', 0o644, 'x')];
    const upper = [member('usr/local/bin/bash', 'file', 0o755, 'ELF'), member('srv/data', 'symlink', 0o777, undefined, '/nowhere')];
    const tree = await imageOf(lower, upper);
    expect(tree.get('opt/tools/bin/bash')?.type).toBe('file');
    expect(tree.has('usr/local/bin/bash')).toBe(false);
    expect(tree.has('srv/data/x')).toBe(false);
  });

  it('looks in bin directories that are links (merged /usr, /usr/local/bin elsewhere), bounded on loops', async () => {
    const tree = await imageOf([
      member('etc/passwd', 'file', 0o644, 'app:x:1000:1000::/:/sbin/nologin\n'),
      member('usr/local/bin', 'symlink', 0o777, undefined, '/opt/tools/bin'), member('opt/tools/bin/bash', 'file', 0o755, 'ELF'), member('opt/tools/bin/apk', 'file', 0o755, 'ELF'),
      member('bin', 'symlink', 0o777, undefined, 'usr/bin'), member('usr/bin/sh', 'file', 0o755, 'ELF'),
      member('usr/local/sbin', 'symlink', 0o777, undefined, 'sbin2'), member('usr/local/sbin2', 'symlink', 0o777, undefined, 'sbin'),
    ]);
    const report = runChecks({ image: IMAGE, user: '1000', files: tree });
    expect(check(report, 'no-shell')).toMatchObject({ status: 'fail', summary: 'runtime image ships a shell: /opt/tools/bin/bash, /usr/bin/sh' });
    expect(check(report, 'no-shell').evidence[0]!.detail).toBe('file, mode 0755 (reached as /usr/local/bin/bash: /usr/local/bin links to /opt/tools/bin)');
    expect(check(report, 'no-package-manager')).toMatchObject({ status: 'fail', summary: 'runtime image ships a package manager: /opt/tools/bin/apk' });
  });

  it('reads /etc/passwd through links inside the image only, and stops on loops', async () => {
    const escaping = await imageOf([member('srv/passwd.real', 'file', 0o644, 'app:x:0:0::/:/sbin/nologin\n'), member('etc/passwd', 'symlink', 0o777, undefined, '../../../../srv/passwd.real')]);
    expect(check(runChecks({ image: IMAGE, user: 'app', files: escaping }), 'non-root-user')).toMatchObject({ status: 'fail', summary: 'the image runs as app, which has uid 0' });
    const looping = await imageOf([member('etc/passwd', 'symlink', 0o777, undefined, 'passwd2'), member('etc/passwd2', 'symlink', 0o777, undefined, '/etc/passwd'), member('bin/true', 'file', 0o755, 'ELF')]);
    expect(resolveImagePath(looping, 'etc/passwd')).toBeUndefined();
    expect(check(runChecks({ image: IMAGE, user: 'app', files: looping }), 'non-root-user').status).toBe('fail');
  });

  it('takes an empty login shell field for /bin/sh (passwd(5))', () => {
    const report = run({ ...clean(), 'etc/passwd': { content: 'app:x:1000:1000::/home/app:\n' }, 'bin/sh': { content: 'ELF', mode: 0o755 } });
    expect(check(report, 'login-shells')).toMatchObject({ status: 'fail', summary: '1 account(s) have a usable interactive login shell: app has login shell /bin/sh, present in the image' });
  });

  it('does not run the account checks on a /etc/passwd or /etc/shadow larger than the content kept', () => {
    for (const path of ['etc/passwd', 'etc/shadow']) {
      const tree = files(clean());
      const { content: _content, ...large } = tree.get(path)!;
      tree.set(path, { ...large, size: 2 * 1024 * 1024 });
      const report = runChecks({ image: IMAGE, user: 'nonroot', files: tree });
      const expected = path === 'etc/passwd' ? { 'non-root-user': 'not-run', 'no-password-hashes': 'not-run', 'no-empty-passwords': 'not-run', 'login-shells': 'not-run' } : { 'non-root-user': 'pass', 'no-password-hashes': 'not-run', 'no-empty-passwords': 'not-run', 'login-shells': 'pass' };
      expect(Object.fromEntries(Object.keys(expected).map((id) => [id, check(report, id).status])), path).toEqual(expected);
      expect(check(report, 'no-password-hashes').summary).toBe(`the accounts are unknown: /${path} (2097152 bytes) is larger than the content limit, so it was not read`);
    }
  });

  it('runs no filesystem check on an image whose layers add no file', async () => {
    const report = runChecks({ image: IMAGE, user: '65532', files: await imageOf([member('etc', 'dir', 0o755)]) });
    expect(statuses(report)).toMatchObject({
      'non-root-user': 'pass', 'no-shell': 'not-run', 'no-package-manager': 'not-run', 'no-compiler': 'not-run', 'no-setuid-setgid': 'not-run', 'no-world-writable': 'not-run',
      'no-private-keys': 'not-run', 'no-password-hashes': 'not-run', 'no-empty-passwords': 'not-run', 'login-shells': 'not-run', 'os-release': 'fail', 'ca-bundle': 'fail', 'timezone-data': 'fail',
    });
    expect(report.counts.pass).toBe(1);
    expect(runChecks({ image: IMAGE, user: '65532', files: new Map() }).counts.pass).toBe(1);
  });
});

describe('fips-configured reads openssl.cnf as OpenSSL does', () => {
  const fips = (cnf: string, extra: Record<string, Spec> = {}) => check(run({ ...clean(), 'usr/lib/ossl-modules/fips.so': { content: 'x', mode: 0o755 }, 'etc/ssl/openssl.cnf': { content: cnf }, ...extra }, {}, { 'dev.kiln.fips': 'true' }), 'fips-configured');
  const module = { 'etc/ssl/fipsmodule.cnf': { content: FIPS_MODULE_CNF } };

  it('passes an active .include of a fipsmodule.cnf the image ships, in every form OpenSSL accepts', () => {
    expect(fips(OPENSSL_FIPS_CNF, module).status).toBe('pass');
    expect(fips(OPENSSL_FIPS_CNF.replace('.include /etc/ssl/fipsmodule.cnf', '.include = /etc/ssl/fipsmodule.cnf  # the module'), module).status).toBe('pass');
    expect(fips(OPENSSL_FIPS_CNF.replace('.include /etc/ssl/fipsmodule.cnf', '.include /etc/ssl/fips.d'), { 'etc/ssl/fips.d/fipsmodule.cnf': { content: FIPS_MODULE_CNF } }).status).toBe('pass');
    expect(fips(OPENSSL_FIPS_CNF, module).evidence.map((item) => `${item.path}: ${item.detail}`)).toEqual(['usr/lib/ossl-modules/fips.so: OpenSSL provider module', 'etc/ssl/openssl.cnf: OpenSSL configuration', 'etc/ssl/fipsmodule.cnf: FIPS module configuration, included at /etc/ssl/openssl.cnf:2']);
  });

  it('fails a commented-out .include, an included file the image lacks, a relative path and a provider not activated', () => {
    expect(fips(OPENSSL_FIPS_CNF.replace('.include', '# .include'), module)).toMatchObject({ status: 'fail', summary: 'openssl.cnf does not include fipsmodule.cnf (no active .include of it); [fips_sect] does not activate the fips provider (activate = 1)' });
    expect(fips(OPENSSL_FIPS_CNF)).toMatchObject({ status: 'fail', summary: expect.stringContaining('/etc/ssl/openssl.cnf:2: .include /etc/ssl/fipsmodule.cnf names no readable file in the image') });
    expect(fips(OPENSSL_FIPS_CNF.replace('.include /etc/ssl/fipsmodule.cnf', '.include fipsmodule.cnf'), module).summary).toContain('/etc/ssl/openssl.cnf:2: .include fipsmodule.cnf is relative');
    expect(fips(OPENSSL_FIPS_CNF, { 'etc/ssl/fipsmodule.cnf': { content: FIPS_MODULE_CNF.replace('activate = 1', '# activate = 1') } })).toMatchObject({ status: 'fail', summary: '[fips_sect] does not activate the fips provider (activate = 1)' });
    expect(fips(OPENSSL_FIPS_CNF.replace('default_properties = fips=yes', '# default_properties = fips=yes'), module)).toMatchObject({ status: 'fail', summary: 'openssl.cnf does not set default_properties = fips=yes in its algorithm section' });
  });
});

describe('signature-attached', () => {
  const subjects = [`sha256:${'1'.repeat(64)}`];
  const signatures = [{ digest: `sha256:${'2'.repeat(64)}`, detail: 'cosign signature' }];
  const none = { verified: [], failures: [] };

  it('passes only on a signature that verified against the key or identity given', () => {
    const verified = run(clean(), { attached: { subjects, signatures, sboms: [], provenance: [], verification: { signatures: { verified: [{ digest: subjects[0]!, detail: 'signature (tag) verified' }], failures: [] }, sboms: none, provenance: none } } });
    expect(check(verified, 'signature-attached')).toMatchObject({ status: 'pass', summary: `1 signature(s) verified on ${subjects[0]}` });
    const rejected = run(clean(), { attached: { subjects, signatures, sboms: [], provenance: [], verification: { signatures: { verified: [], failures: ['no valid signature among 1'] }, sboms: none, provenance: none } } });
    expect(check(rejected, 'signature-attached')).toMatchObject({ status: 'fail', summary: `none of the 1 signature(s) attached to ${subjects[0]} verified: no valid signature among 1` });
  });
});

describe('sbom-attached and provenance-attached', () => {
  // an index and its platform manifest: an attestation verified for either counts
  const subjects = [`sha256:${'1'.repeat(64)}`, `sha256:${'4'.repeat(64)}`];
  const on = subjects.join(', ');
  const sbom = { digest: `sha256:${'5'.repeat(64)}`, detail: `https://spdx.dev/Document attestation in the .att tag (subject ${subjects[1]})` };
  const forged = { digest: `sha256:${'6'.repeat(64)}`, detail: `https://spdx.dev/Document attestation in a bundle referrer (subject ${subjects[0]})` };
  const slsa = { digest: `sha256:${'7'.repeat(64)}`, detail: `https://slsa.dev/provenance/v1 attestation in the .att tag (subject ${subjects[1]})` };
  const none = { verified: [], failures: [] };
  const attached = (verification?: NonNullable<ImageUnderCheck['attached']>['verification']) => ({ attached: { subjects, signatures: [], sboms: [sbom, forged], provenance: [slsa], ...(verification ? { verification } : {}) } });
  const statuses = (report: ReturnType<typeof run>) => [check(report, 'sbom-attached').status, check(report, 'provenance-attached').status];

  it('does not run on attestations that are only found: anyone who can push can attach one', () => {
    const found = run(clean(), attached());
    expect(statuses(found)).toEqual(['not-run', 'not-run']);
    expect(check(found, 'sbom-attached')).toMatchObject({
      summary: `2 SBOM attestation(s) attached to ${on}: found, not verified (give --key cosign.pub, or --certificate-identity and --certificate-oidc-issuer, to verify them)`,
      evidence: [sbom, forged],
    });
    expect(check(found, 'provenance-attached').summary).toBe(`1 provenance attestation(s) attached to ${on}: found, not verified (give --key cosign.pub, or --certificate-identity and --certificate-oidc-issuer, to verify them)`);
  });

  it('passes on an attestation that verified for one of the subjects, naming it, its type and signer first', () => {
    const verifiedSbom = { digest: sbom.digest, detail: `https://spdx.dev/Document attestation in the .att tag verified by key abc= for subject ${subjects[1]}` };
    const verifiedSlsa = { digest: slsa.digest, detail: `https://slsa.dev/provenance/v1 attestation in the .att tag verified by key abc= for subject ${subjects[1]}` };
    const rejection = `https://spdx.dev/Document attestation for subject ${subjects[0]} rejected: bundle referrer ${forged.digest}: bundle is signed by key xyz=, which is not among the keys given`;
    const report = run(clean(), attached({ signatures: none, sboms: { verified: [verifiedSbom], failures: [rejection] }, provenance: { verified: [verifiedSlsa], failures: [] } }));
    expect(statuses(report)).toEqual(['pass', 'pass']);
    expect(check(report, 'sbom-attached')).toMatchObject({ summary: `1 SBOM attestation(s) verified on ${on}`, evidence: [verifiedSbom, forged, { detail: rejection }] });
    expect(check(report, 'provenance-attached')).toMatchObject({ summary: `1 provenance attestation(s) verified on ${on}`, evidence: [verifiedSlsa] });
  });

  it('fails when attestations are found but none verified, saying why each was rejected', () => {
    const reasons = [
      `https://spdx.dev/Document attestation for subject ${subjects[1]} rejected: app:${subjects[1]!.replace(':', '-')}.att layer 0: no envelope signature verifies with the given key`,
      `https://spdx.dev/Document attestation for subject ${subjects[0]} rejected: bundle referrer ${forged.digest}: statement subject does not name ${subjects[0]}`,
    ];
    const report = run(clean(), attached({ signatures: none, sboms: { verified: [], failures: reasons }, provenance: { verified: [], failures: [] } }));
    expect(statuses(report)).toEqual(['fail', 'fail']);
    expect(check(report, 'sbom-attached')).toMatchObject({ summary: `none of the 2 SBOM attestation(s) attached to ${on} verified: ${reasons.join('; ')}`, evidence: [sbom, forged, { detail: reasons[0] }, { detail: reasons[1] }] });
    expect(check(report, 'provenance-attached').summary).toBe(`none of the 1 provenance attestation(s) attached to ${on} verified: none verified for the image`);
  });

  it('fails when none is attached, with or without a trust policy', () => {
    for (const verification of [undefined, { signatures: none, sboms: none, provenance: none }]) {
      const report = run(clean(), { attached: { subjects, signatures: [], sboms: [], provenance: [], ...(verification ? { verification } : {}) } });
      expect(statuses(report)).toEqual(['fail', 'fail']);
      expect(check(report, 'sbom-attached')).toMatchObject({ summary: `no SBOM attestation(s) attached to ${on}`, evidence: subjects.map((digest) => ({ digest, detail: 'looked up: cosign tags and OCI referrers' })) });
      expect(check(report, 'provenance-attached').summary).toBe(`no provenance attestation(s) attached to ${on}`);
    }
  });
});
