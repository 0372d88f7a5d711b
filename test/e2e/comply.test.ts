import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApkBuffer, buildIndex, generateSigningKey, loadSigningKey } from '../../src/apk/index.ts';
import type { ApkWriteEntry, PackageRecord, PkgInfoInput, SigningKey } from '../../src/apk/index.ts';
import type { CheckStatus, ImageCheckReport } from '../../src/compliance/index.ts';
import { oscalValidators, schemaErrors } from '../../src/compliance/testing.ts';
import type { Digest } from '../../src/lib/index.ts';
import type { ImageManifest } from '../../src/oci/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { cosignTag } from '../../src/sign/index.ts';
import { SqliteVulnIndex } from '../../src/vuln/index.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { recordOfPackage } from './package-support.ts';
import { startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

// Whole-system tests of `kiln comply`: images built with `kiln image build` from the signed fixture
// repository (test/fixtures/apk/apko-cli-packages: os-release) plus a repository of packages written
// here, each planting one thing a hardening check must catch; the checks run through the CLI on the
// OCI layouts and docker archives the build wrote.

const root = join(import.meta.dirname, '..', '..');
const fixtureRepo = join(root, 'test', 'fixtures', 'apk', 'apko-cli-packages');
const ARCHS = ['x86_64', 'aarch64'];

let work: string;
let key: SigningKey;
let publicKey: string;

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', COSIGN_PASSWORD: 'comply-e2e' }, cwd: work });

const PEM_CERT = `-----BEGIN CERTIFICATE-----\n${'MIIBszCCAVmgAwIBAgIUZ'.repeat(3)}\n-----END CERTIFICATE-----\n`;
const TZIF = Buffer.concat([Buffer.from('TZif2'), Buffer.alloc(39)]);

async function addPackage(records: Map<string, PackageRecord[]>, pkginfo: PkgInfoInput, entries: ApkWriteEntry[]): Promise<void> {
  for (const arch of ARCHS) {
    const { bytes } = await buildApkBuffer({ pkginfo: { arch, buildDate: 1_690_000_000, license: 'MIT', origin: pkginfo.name, description: pkginfo.name, ...pkginfo }, entries, mtime: 1_690_000_000, signer: key });
    await mkdir(join(work, 'repo', arch), { recursive: true });
    await writeFile(join(work, 'repo', arch, `${pkginfo.name}-${pkginfo.version}.apk`), bytes);
    records.set(arch, [...(records.get(arch) ?? []), await recordOfPackage(bytes)]);
  }
}

function config(packages: string[], options: { runAs?: boolean } = {}): string {
  return `contents:
  repositories: [./fixture-repo, ./repo]
  keyring: [./fixture-repo/melange.rsa.pub, ${publicKey}]
  packages: [${['replayout', 'compliance-base', ...packages].join(', ')}]
accounts:
  groups: [{groupname: nonroot, gid: 65532}]
  users: [{username: nonroot, uid: 65532}]
${options.runAs === false ? '' : '  run-as: nonroot\n'}archs: [x86_64, aarch64]
`;
}

/** Builds an image with `kiln image build` (both arches): docker archive NAME.tar, layout NAME-layout, SBOMs in NAME-sbom. */
async function build(name: string, packages: string[], options: { runAs?: boolean } = {}): Promise<void> {
  await writeFile(join(work, `${name}.yaml`), config(packages, options));
  const result = await kiln(['image', 'build', `${name}.yaml`, `example.com/${name}:1`, `${name}.tar`, '--oci-layout', `${name}-layout`, '--sbom-path', `${name}-sbom`, '--sbom-formats', 'spdx,cyclonedx', '--cache-dir', 'cache']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

async function check(args: string[]): Promise<{ run: CliRun; reports: ImageCheckReport[] }> {
  const run = await kiln(['comply', 'check', ...args, '--json']);
  return { run, reports: run.stdout ? (JSON.parse(run.stdout) as ImageCheckReport[]) : [] };
}

const statuses = (report: ImageCheckReport): Record<string, CheckStatus> => Object.fromEntries(report.checks.map((item) => [item.id, item.status]));
const failed = (report: ImageCheckReport): string[] => report.checks.filter((item) => item.status === 'fail').map((item) => item.id);
const result = (report: ImageCheckReport, id: string) => report.checks.find((item) => item.id === id)!;

/** What a clean image built here gives: every check that can run on a local image passes. */
const CLEAN: Record<string, CheckStatus> = {
  'non-root-user': 'pass', 'no-shell': 'pass', 'no-package-manager': 'pass', 'no-compiler': 'pass', 'no-setuid-setgid': 'pass', 'no-world-writable': 'pass',
  'no-private-keys': 'pass', 'no-password-hashes': 'pass', 'no-empty-passwords': 'pass', 'login-shells': 'pass', 'os-release': 'pass', 'ca-bundle': 'pass',
  'timezone-data': 'pass', 'sbom-packages': 'pass', 'packages-signed': 'not-run', 'signature-attached': 'not-run', 'sbom-attached': 'not-run',
  'provenance-attached': 'not-run', reproducible: 'not-run', 'vulnerabilities-within-sla': 'not-run', 'fips-configured': 'not-applicable',
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-comply-e2e-'));
  await cp(fixtureRepo, join(work, 'fixture-repo'), { recursive: true });
  const generated = await generateSigningKey(join(work, 'comply-test'), 2048);
  key = await loadSigningKey(generated.privateKeyPath);
  publicKey = generated.publicKeyPath;
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const records = new Map<string, PackageRecord[]>();
  await addPackage(records, { name: 'compliance-base', version: '1.0-r0' }, [
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/sbin/nologin\n' },
    { path: 'etc/group', type: 'file', content: 'root:x:0:\n' },
    { path: 'etc/ssl/certs/ca-certificates.crt', type: 'file', content: PEM_CERT },
    { path: 'usr/share/zoneinfo/UTC', type: 'file', content: TZIF },
    { path: 'tmp', type: 'directory', mode: 0o1777 },
  ]);
  await addPackage(records, { name: 'planted-setuid', version: '1.0-r0' }, [{ path: 'usr/bin/escalate', type: 'file', mode: 0o4755, content: '#!/nothing\n' }]);
  await addPackage(records, { name: 'planted-world-writable', version: '1.0-r0' }, [{ path: 'var/drop', type: 'directory', mode: 0o777 }]);
  await addPackage(records, { name: 'planted-key', version: '1.0-r0' }, [{ path: 'etc/app/server.key', type: 'file', mode: 0o600, content: privateKey }]);
  await addPackage(records, { name: 'planted-empty-password', version: '1.0-r0' }, [{ path: 'etc/shadow', type: 'file', mode: 0o640, content: 'root::19000:0:99999:7:::\n' }]);
  await addPackage(records, { name: 'planted-shell', version: '1.0-r0' }, [{ path: 'bin/sh', type: 'file', mode: 0o755, content: '#!/nothing\n' }]);
  for (const arch of ARCHS) await writeFile(join(work, 'repo', arch, 'APKINDEX.tar.gz'), buildIndex(records.get(arch)!, { signer: key }));
  await build('clean', []);
  for (const name of ['setuid', 'world-writable', 'key', 'empty-password', 'shell']) await build(`planted-${name}`, [`planted-${name}`]);
  await build('rootful', [], { runAs: false });
}, 240_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kiln comply check (e2e)', () => {
  it('passes every applicable check on a clean image, for both architectures, with the SBOMs kiln wrote', async () => {
    const { run, reports } = await check(['clean-layout', '--sbom', 'clean-sbom/sbom-x86_64.spdx.json', '--sbom', 'clean-sbom/sbom-aarch64.cdx.json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(reports.map((report) => [report.image.name, report.image.platform])).toEqual([['clean-layout:1', 'linux/amd64'], ['clean-layout:1', 'linux/arm64']]);
    for (const report of reports) {
      expect(statuses(report)).toEqual(CLEAN);
      expect(report.isBlocking).toBe(false);
      expect(report.image.variant).toEqual({ kind: 'runtime' });
      expect(report.image.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(reports[0]!.image.sbom).toMatchObject({ path: join(work, 'clean-sbom', 'sbom-x86_64.spdx.json'), format: 'spdx' });
    expect(reports[1]!.image.sbom).toMatchObject({ path: join(work, 'clean-sbom', 'sbom-aarch64.cdx.json'), format: 'cyclonedx' });
    expect(result(reports[0]!, 'sbom-packages').summary).toBe('all 3 installed package(s) are in the SBOM, which lists no others');
    expect(result(reports[0]!, 'os-release').evidence[0]).toMatchObject({ path: 'etc/os-release', detail: 'ID=replaces VERSION_ID=1.0.0' });
  });

  it('reads the docker archive the same way as the layout', async () => {
    const { run, reports } = await check(['clean.tar', '--platform', 'arm64']);
    expect(run.code).toBe(0);
    expect(reports.map((report) => [report.image.platform, report.image.ref])).toEqual([['linux/arm64', 'example.com/clean:1-arm64']]);
    expect(statuses(reports[0]!)).toEqual({ ...CLEAN, 'sbom-packages': 'not-run' });
  });

  it('fails no-setuid-setgid on a planted setuid file (exit 1)', async () => {
    const { run, reports } = await check(['planted-setuid.tar', '--platform', 'linux/amd64']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`kiln: planted-setuid.tar: high or critical checks failed: no-setuid-setgid (linux/amd64)\n`);
    expect(failed(reports[0]!)).toEqual(['no-setuid-setgid']);
    expect(result(reports[0]!, 'no-setuid-setgid').evidence).toEqual([expect.objectContaining({ path: 'usr/bin/escalate', detail: 'setuid, mode 4755, owner 0:0' })]);
  });

  it('fails no-world-writable on a planted world-writable directory, allowing sticky /tmp', async () => {
    const { run, reports } = await check(['planted-world-writable-layout', '--platform', 'amd64']);
    expect(run.code).toBe(1);
    expect(failed(reports[0]!)).toEqual(['no-world-writable']);
    expect(result(reports[0]!, 'no-world-writable').evidence.map((item) => `${item.path}: ${item.detail}`)).toEqual(['var/drop: directory, mode 0777', 'tmp: directory, mode 1777 (sticky scratch directory, allowed)']);
  });

  it('fails no-private-keys on a planted private key', async () => {
    const { run, reports } = await check(['planted-key.tar', '--platform', 'amd64']);
    expect(run.code).toBe(1);
    expect(failed(reports[0]!)).toEqual(['no-private-keys']);
    expect(result(reports[0]!, 'no-private-keys').evidence).toEqual([expect.objectContaining({ path: 'etc/app/server.key', detail: 'PEM PRIVATE KEY', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) })]);
  });

  it('fails no-empty-passwords on an empty password in /etc/shadow', async () => {
    const { run, reports } = await check(['planted-empty-password.tar', '--platform', 'amd64']);
    expect(run.code).toBe(1);
    expect(failed(reports[0]!)).toEqual(['no-empty-passwords']);
    expect(result(reports[0]!, 'no-empty-passwords').evidence.map((item) => item.detail)).toEqual(['line 1: account root has an empty password']);
  });

  it('fails no-shell (and login-shells) on a shell in a runtime image, and allows both in a -dev variant', async () => {
    const runtime = await check(['planted-shell.tar', '--platform', 'amd64']);
    expect(runtime.run.code).toBe(1);
    expect(failed(runtime.reports[0]!)).toEqual(['no-shell', 'login-shells']);
    expect(result(runtime.reports[0]!, 'no-shell').summary).toBe('runtime image ships a shell: /bin/sh');
    const dev = await check(['planted-shell.tar', '--platform', 'amd64', '--name', 'example.com/planted-shell-dev:1']);
    expect(dev.run.code).toBe(0);
    expect(dev.reports[0]!.image.variant).toEqual({ kind: 'dev', reason: 'name example.com/planted-shell-dev:1' });
    expect(failed(dev.reports[0]!)).toEqual([]);
    expect([result(dev.reports[0]!, 'no-shell').status, result(dev.reports[0]!, 'login-shells').status]).toEqual(['allowed', 'allowed']);
  });

  it('fails non-root-user when the image has no run-as user', async () => {
    const { run, reports } = await check(['rootful.tar', '--platform', 'amd64']);
    expect(run.code).toBe(1);
    expect(failed(reports[0]!)).toEqual(['non-root-user']);
  });

  it('fails sbom-packages when the SBOM is of another image', async () => {
    const { run, reports } = await check(['planted-setuid-layout', '--platform', 'amd64', '--sbom', 'clean-sbom/sbom-x86_64.spdx.json']);
    expect(run.code).toBe(1);
    expect(failed(reports[0]!)).toEqual(['no-setuid-setgid', 'sbom-packages']);
    expect(result(reports[0]!, 'sbom-packages').summary).toBe('installed but not in the SBOM: planted-setuid@1.0-r0');
  });

  it('prints one line per check without --json', async () => {
    const run = await kiln(['comply', 'check', 'planted-key.tar', '--platform', 'amd64']);
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('example.com/planted-key:1-amd64 linux/amd64 (runtime): 12 pass, 1 fail, 7 not-run, 1 not-applicable');
    expect(lines).toHaveLength(22);
    expect(lines.find((line) => line.includes('no-private-keys'))).toMatch(/^ {2}fail {11}no-private-keys +\[critical\] 1 secret\(s\) found: \/etc\/app\/server\.key \(PEM PRIVATE KEY\)$/);
  });

  it('names what is wrong with bad input', async () => {
    const missing = await kiln(['comply', 'check', 'nothing-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`kiln: ${join(work, 'nothing-here')}: no such file or directory\n`);
    await writeFile(join(work, 'not-an-image.txt'), 'hello\n');
    const notTar = await kiln(['comply', 'check', 'not-an-image.txt']);
    expect(notTar.code).toBe(1);
    expect(notTar.stderr).toMatch(/^kiln: .*not-an-image\.txt: not a tar archive \(and not an OCI layout directory\)\n/);
    const platform = await kiln(['comply', 'check', 'clean-layout', '--platform', 'linux/s390x']);
    expect(platform.code).toBe(1);
    expect(platform.stderr).toBe(`kiln: ${join(work, 'clean-layout')}: no image for platform linux/s390x (it has linux/amd64, linux/arm64)\n`);
    const sbom = await kiln(['comply', 'check', 'clean-layout', '--platform', 'amd64', '--sbom', 'clean-sbom/sbom-aarch64.spdx.json']);
    expect(sbom.code).toBe(1);
    expect(sbom.stderr).toBe(`kiln: ${join(work, 'clean-sbom', 'sbom-aarch64.spdx.json')}: lists no apk package of the architecture of linux/amd64\n`);
  });
});

describe('kiln comply check with outside evidence (e2e)', () => {
  it('packages-signed: traces every installed package to the signed indexes, and fails with a keyring that signed none', async () => {
    const { run, reports } = await check(['clean-layout', '--platform', 'amd64', '-X', 'fixture-repo', '-X', 'repo', '-k', 'fixture-repo/melange.rsa.pub', '-k', publicKey, '--cache-dir', 'cache']);
    expect(run.code).toBe(0);
    expect(result(reports[0]!, 'packages-signed')).toMatchObject({ status: 'pass', summary: expect.stringMatching(/^all 3 installed package\(s\) have the identity their signed index records/) });
    const other = await generateSigningKey(join(work, 'other-key'), 2048);
    const wrong = await check(['clean-layout', '--platform', 'amd64', '-X', 'repo', '-k', other.publicKeyPath, '--cache-dir', 'cache-other']);
    expect(wrong.run.code).toBe(1);
    expect(result(wrong.reports[0]!, 'packages-signed')).toMatchObject({ status: 'fail', summary: 'none of the 1 index(es) verified with the keyring' });
    const usage = await kiln(['comply', 'check', 'clean-layout', '-X', 'repo']);
    expect(usage).toMatchObject({ code: 2, stderr: 'kiln: --repository needs --keyring: packages are traced to indexes signed by a trusted key\n' });
  });

  it('vulnerabilities-within-sla: scans against a local index and fails on a critical CVE open past its SLA', async () => {
    await mkdir(join(work, 'vuln'), { recursive: true });
    const index = new SqliteVulnIndex(join(work, 'vuln', 'vuln.sqlite'));
    try {
      index.replaceFeed(
        { name: 'test-nvd', type: 'nvd', location: 'test', updatedAt: '2099-01-01T00:00:00Z', checkedAt: '2099-01-01T00:00:00Z', records: 2, warnings: 0, sha256: '0'.repeat(64) },
        { affected: [], cpes: [{ cve: 'CVE-2099-9001', vendor: 'kiln', product: 'compliance-base', endExcluding: '2.0' }], vulnerabilities: [{ id: 'CVE-2099-9001', aliases: [], published: '2000-01-01T00:00:00Z', cvss: [{ version: '3.1', score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'nvd@nist.gov' }] }], kev: [], epss: [], warnings: [] },
      );
    } finally {
      index.close();
    }
    const { run, reports } = await check(['clean-layout', '--platform', 'amd64', '--vuln-db', 'vuln']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`kiln: clean-layout: high or critical checks failed: vulnerabilities-within-sla (linux/amd64)\n`);
    const vuln = result(reports[0]!, 'vulnerabilities-within-sla');
    expect(vuln.summary).toMatch(/^1 critical or high vulnerability is past the SLA: CVE-2099-9001 in compliance-base \(\d+ > 7 days\)$/);
    expect(vuln.evidence[0]).toEqual({ path: join(work, 'vuln', 'vuln.sqlite'), detail: 'vulnerability index; feeds: test-nvd (updated 2099-01-01T00:00:00Z)' });
    expect(vuln.evidence[1]!.detail).toMatch(/^CVE-2099-9001 in compliance-base 1\.0-r0 \(critical\): open \d+ day\(s\) since 2000-01-01T00:00:00Z \(published \(vulnerability index\)\), SLA 7 day\(s\): breached; fixed in 2\.0$/);
    const missing = await kiln(['comply', 'check', 'clean-layout', '--vuln-db', 'no-such-db.sqlite']);
    expect(missing).toMatchObject({ code: 1, stderr: `kiln: ${join(work, 'no-such-db.sqlite')}: no vulnerability index (run kiln vuln db update --config FILE)\n` });
  });

  it('reproducible: compares digests with a rebuild', async () => {
    const same = await check(['clean-layout', '--platform', 'amd64', '--rebuilt', 'clean-layout']);
    expect(result(same.reports[0]!, 'reproducible')).toMatchObject({ status: 'pass', summary: `the rebuild in ${join(work, 'clean-layout')} has the same manifest and config digest` });
    const other = await check(['clean-layout', '--platform', 'amd64', '--rebuilt', 'rootful.tar']);
    expect(result(other.reports[0]!, 'reproducible')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^the rebuild's config sha256:[0-9a-f]{64} differs from sha256:[0-9a-f]{64}$/) });
  });

  it('--policy: require all, or named checks and controls; exit 1 naming what is unmet', async () => {
    await writeFile(join(work, 'policy-all.yaml'), 'require: all\n');
    const all = await kiln(['comply', 'check', 'clean-layout', '--platform', 'amd64', '--policy', 'policy-all.yaml']);
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/^kiln: clean-layout: the policy policy-all\.yaml is not met: check:sbom-packages \(linux\/amd64\): not-run: no SBOM was given/);
    await writeFile(join(work, 'policy-some.yaml'), 'checks: [non-root-user, no-shell]\ncontrols: [ac-6]\n');
    expect((await kiln(['comply', 'check', 'clean-layout', '--policy', 'policy-some.yaml'])).code).toBe(0);
    const shell = await kiln(['comply', 'check', 'planted-shell.tar', '--platform', 'amd64', '--policy', 'policy-some.yaml']);
    expect(shell.code).toBe(1);
    expect(shell.stderr).toBe('kiln: planted-shell.tar: the policy policy-some.yaml is not met: check:no-shell (linux/amd64): fail: runtime image ships a shell: /bin/sh; control:ac-6 (linux/amd64): login-shells fail\n');
    await writeFile(join(work, 'policy-bad.yaml'), 'checks: [no-such-check]\n');
    const bad = await kiln(['comply', 'check', 'clean-layout', '--policy', 'policy-bad.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^kiln: .*policy-bad\.yaml: checks\[0\]: no-such-check is not a check id/);
  });
});

describe('kiln comply report (e2e)', () => {
  it('writes OSCAL documents that validate against NIST\'s schemas, a POA&M for the failures and a Markdown summary', async () => {
    const run = await kiln(['comply', 'report', 'planted-setuid-layout', '--sbom', 'planted-setuid-sbom/sbom-x86_64.spdx.json', '--sbom', 'planted-setuid-sbom/sbom-aarch64.spdx.json', '--out', 'report-setuid', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await readdir(join(work, 'report-setuid'))).sort()).toEqual(['assessment-results.json', 'component-definition.json', 'coverage.json', 'coverage.md', 'poam.json', 'responsibility.csv', 'responsibility.json', 'responsibility.md', 'summary.html', 'summary.md']);
    const validate = oscalValidators();
    const read = async (name: string) => JSON.parse(await readFile(join(work, 'report-setuid', name), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const cd = await read('component-definition.json');
    const ar = await read('assessment-results.json');
    const poam = await read('poam.json');
    expect(validate.componentDefinition(cd), schemaErrors(validate.componentDefinition)).toBe(true);
    expect(validate.assessmentResults(ar), schemaErrors(validate.assessmentResults)).toBe(true);
    expect(validate.poam(poam), schemaErrors(validate.poam)).toBe(true);
    expect(cd['component-definition'].components.map((component: { title: string }) => component.title)).toEqual(['Container image planted-setuid-layout:1 (linux/amd64)', 'Container image planted-setuid-layout:1 (linux/arm64)']);
    const items = poam['plan-of-action-and-milestones']['poam-items'] as Array<{ title: string }>;
    expect(items.map((item) => item.title)).toEqual(['No setuid or setgid files: failed on planted-setuid-layout:1 (linux/amd64)', 'No setuid or setgid files: failed on planted-setuid-layout:1 (linux/arm64)']);
    const states = (ar['assessment-results'].results[0].findings as Array<{ target: { 'target-id': string; status: { state: string; reason: string } } }>).map((finding) => `${finding.target['target-id']}=${finding.target.status.state}/${finding.target.status.reason}`);
    expect(states).toContain('ac-6_obj=not-satisfied/fail');
    expect(states).toContain('ia-5_obj=satisfied/pass');
    // os-release and sbom-packages passed, but sbom-attached cannot run on a local file: partial evidence
    expect(states).toContain('cm-8_obj=not-satisfied/other');
    expect(states.some((state) => state.startsWith('ra-5_obj'))).toBe(false);
    const summary = await readFile(join(work, 'report-setuid', 'summary.md'), 'utf8');
    expect(summary).toContain('| no-setuid-setgid | **FAIL** | high | AC-6, CM-6 | 1 setuid/setgid file(s): /usr/bin/escalate |');
    const coverage = await readFile(join(work, 'report-setuid', 'coverage.md'), 'utf8');
    expect(coverage).toContain('| AC-6 | gap | non-root-user: pass (linux/amd64); no-setuid-setgid: fail (linux/amd64);');
  });

  it('writes no POA&M for a clean image', async () => {
    const run = await kiln(['comply', 'report', 'clean.tar', '--name', 'example.com/clean:1', '--out', 'report-clean', '--format', 'html']);
    expect(run.code).toBe(0);
    expect((await readdir(join(work, 'report-clean'))).sort()).toEqual(['assessment-results.json', 'component-definition.json', 'coverage.json', 'coverage.md', 'responsibility.csv', 'responsibility.json', 'responsibility.md', 'summary.html']);
    const html = await readFile(join(work, 'report-clean', 'summary.html'), 'utf8');
    expect(html).toContain('<h2 id="image-1">example.com/clean:1 (linux/amd64)</h2>');
    expect(html).toContain('<tr><th scope="row"><code>non-root-user</code><br>Runs as a non-root user</th><td class="pass">pass</td>');
    const matrix = JSON.parse(await readFile(join(work, 'report-clean', 'responsibility.json'), 'utf8')) as Array<{ control: string; responsibility: string }>;
    expect(matrix.find((row) => row.control === 'ac-6')?.responsibility).toBe('kiln-image');
    expect(matrix.find((row) => row.control === 'si-2')?.responsibility).toBe('shared');
    expect(matrix.find((row) => row.control === 'ac-2')?.responsibility).toBe('customer');
    expect((await readFile(join(work, 'report-clean', 'responsibility.csv'), 'utf8')).split('\r\n')[0]).toBe('control,title,fedramp-moderate,fedramp-high,responsibility,coverage,checks,note');
    const badFormat = await kiln(['comply', 'report', 'clean.tar', '--out', 'report-bad', '--format', 'pdf']);
    expect(badFormat).toMatchObject({ code: 2, stderr: 'kiln: --format pdf: use markdown, html or markdown,html\n' });
    const coverage = JSON.parse(await readFile(join(work, 'report-clean', 'coverage.json'), 'utf8')) as Array<{ baseline: string; counts: Record<string, number> }>;
    expect(coverage.map((item) => item.baseline)).toEqual(['fedramp-moderate', 'fedramp-high']);
    expect(coverage[0]!.counts.gap).toBe(0);
    expect(run.stdout).toContain('example.com/clean:1 linux/amd64: 13 pass, 7 not-run, 1 not-applicable\n');
    const ar = JSON.parse(await readFile(join(work, 'report-clean', 'assessment-results.json'), 'utf8')) as { 'assessment-results': { results: Array<{ findings: Array<{ target: { 'target-id': string; status: { state: string; reason: string } } }> }> } };
    // nothing failed: each control is satisfied, or not established because a check of it did not run
    const states = ar['assessment-results'].results[0]!.findings.map((finding) => `${finding.target['target-id']}=${finding.target.status.state}/${finding.target.status.reason}`);
    expect(states.filter((state) => !state.endsWith('=satisfied/pass') && !state.endsWith('=not-satisfied/other'))).toEqual([]);
    expect(states).toContain('ac-6_obj=satisfied/pass');
    expect(states).toContain('si-7_obj=not-satisfied/other');
    expect(oscalValidators().assessmentResults(ar)).toBe(true);
  });
});

describe('kiln comply check on a registry reference (e2e)', () => {
  let server: ServerProcess;
  let host: string;

  beforeAll(async () => {
    server = await startKiln(join(work, 'registry-data'));
    host = server.url.replace('http://', '');
    expect((await kiln(['generate-key-pair'])).code).toBe(0);
    const signed = await kiln(['image', 'publish', 'clean.yaml', `${host}/team/clean:1`, '--key', 'cosign.key', '--cache-dir', 'cache']);
    expect(signed.code, signed.stderr).toBe(0);
    const unsigned = await kiln(['image', 'publish', 'planted-setuid.yaml', `${host}/team/setuid:1`, '--cache-dir', 'cache']);
    expect(unsigned.code, unsigned.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('pulls the image and finds the signature, SBOM and provenance attached by kiln image publish --key', async () => {
    const { run, reports } = await check([`${host}/team/clean:1`]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(reports.map((report) => [report.image.name, report.image.platform])).toEqual([[`${host}/team/clean:1`, 'linux/amd64'], [`${host}/team/clean:1`, 'linux/arm64']]);
    for (const report of reports) {
      // a signature or attestation that is only found is not evidence of who attached it
      expect(statuses(report)).toEqual({ ...CLEAN, 'sbom-packages': 'not-run', 'signature-attached': 'not-run', 'sbom-attached': 'not-run', 'provenance-attached': 'not-run' });
      for (const id of ['signature-attached', 'sbom-attached', 'provenance-attached']) {
        expect(result(report, id).summary, id).toMatch(/attached to sha256:[0-9a-f]{64}, sha256:[0-9a-f]{64}: found, not verified \(give --key cosign\.pub, or --certificate-identity and --certificate-oidc-issuer, to verify them\)$/);
      }
    }
    // verified with the key that published: every platform image passes, on attestations that name it
    const verified = await check([`${host}/team/clean:1`, '--key', 'cosign.pub']);
    expect([verified.run.code, verified.run.stderr]).toEqual([0, '']);
    for (const report of verified.reports) {
      expect(statuses(report)).toEqual({ ...CLEAN, 'sbom-packages': 'not-run', 'signature-attached': 'pass', 'sbom-attached': 'pass', 'provenance-attached': 'pass' });
      expect(result(report, 'signature-attached').summary).toMatch(/^\d+ signature\(s\) verified on sha256:[0-9a-f]{64}, sha256:[0-9a-f]{64}$/);
      expect(result(report, 'sbom-attached').summary).toMatch(/^\d+ SBOM attestation\(s\) verified on sha256:[0-9a-f]{64}, sha256:[0-9a-f]{64}$/);
      // publish attests an SBOM to the index and to each platform image, by .att tag and bundle
      const verifiedSboms = result(report, 'sbom-attached').evidence.filter((item) => item.detail.includes(' verified by key '));
      for (const item of verifiedSboms) {
        expect(item).toMatchObject({ digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), detail: expect.stringMatching(/^https:\/\/(spdx\.dev\/Document|cyclonedx\.org\/bom) attestation in (the \.att tag|a bundle referrer) verified by key \S+ for subject sha256:[0-9a-f]{64}$/) });
      }
      const forImage = verifiedSboms.filter((item) => item.detail.endsWith(`for subject ${report.image.manifestDigest}`)).map((item) => item.detail.replace(/ verified by .*/, ''));
      expect(forImage.sort()).toEqual([
        'https://cyclonedx.org/bom attestation in a bundle referrer', 'https://cyclonedx.org/bom attestation in the .att tag',
        'https://spdx.dev/Document attestation in a bundle referrer', 'https://spdx.dev/Document attestation in the .att tag',
      ]);
      expect(result(report, 'provenance-attached').evidence[0]!.detail).toMatch(/^https:\/\/slsa\.dev\/provenance\/v1 attestation in (the \.att tag|a bundle referrer) verified by key \S+ for subject sha256:[0-9a-f]{64}$/);
    }
    expect((await kiln(['generate-key-pair', '--output-key-prefix', 'stranger'])).code).toBe(0);
    const stranger = await check([`${host}/team/clean:1`, '--key', 'stranger.pub', '--platform', 'amd64']);
    expect(stranger.run.code).toBe(1);
    expect(result(stranger.reports[0]!, 'signature-attached')).toMatchObject({ status: 'fail', summary: expect.stringContaining('verified: ') });
    for (const id of ['sbom-attached', 'provenance-attached']) {
      expect(result(stranger.reports[0]!, id), id).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^none of the \d+ (SBOM|provenance) attestation\(s\) attached to .* verified: .*no envelope signature verifies with the given key/) });
    }
    const report = await kiln(['comply', 'report', `${host}/team/clean:1`, '--key', 'cosign.pub', '--platform', 'amd64', '--out', 'report-signed', '--json']);
    expect(report.code, report.stderr).toBe(0);
  });

  it('fails signature-attached (exit 1) and the attestation checks on an unsigned image', async () => {
    const { run, reports } = await check([`${host}/team/setuid:1`, '--platform', 'amd64']);
    expect(run.code).toBe(1);
    expect(failed(reports[0]!)).toEqual(['no-setuid-setgid', 'signature-attached', 'sbom-attached', 'provenance-attached']);
    expect(run.stderr).toBe(`kiln: ${host}/team/setuid:1: high or critical checks failed: no-setuid-setgid (linux/amd64), signature-attached (linux/amd64)\n`);
  });

  it('passes sbom-attached only on an SBOM attestation signed by the trusted key for the image', async () => {
    const published = await kiln(['image', 'publish', 'clean.yaml', `${host}/team/forged:1`, '--cache-dir', 'cache', '--json']);
    expect(published.code, published.stderr).toBe(0);
    const plain = await check([`${host}/team/forged:1`, '--platform', 'amd64']);
    // the subjects looked up: the index the tag names, then the platform image's manifest
    const [index, manifest] = result(plain.reports[0]!, 'sbom-attached').evidence.map((item) => item.digest!) as [string, string];
    expect(manifest).toBe(plain.reports[0]!.image.manifestDigest);
    // someone with push access but not the release key attaches an "SBOM" to the image
    expect((await kiln(['generate-key-pair', '--output-key-prefix', 'forger'])).code).toBe(0);
    const forged = await kiln(['attest', '--key', 'forger.key', '--type', 'spdxjson', '--predicate', 'clean-sbom/sbom-x86_64.spdx.json', '--tlog-upload=false', `${host}/team/forged@${manifest}`]);
    expect(forged.code, forged.stderr).toBe(0);

    const unverified = await check([`${host}/team/forged:1`, '--platform', 'amd64']);
    expect(result(unverified.reports[0]!, 'sbom-attached')).toMatchObject({ status: 'not-run', summary: `2 SBOM attestation(s) attached to ${index}, ${manifest}: found, not verified (give --key cosign.pub, or --certificate-identity and --certificate-oidc-issuer, to verify them)` });

    const rejected = await check([`${host}/team/forged:1`, '--platform', 'amd64', '--key', 'cosign.pub']);
    expect(result(rejected.reports[0]!, 'sbom-attached')).toMatchObject({ status: 'fail', summary: expect.stringMatching(new RegExp(`^none of the \\d+ SBOM attestation\\(s\\) attached to ${index}, ${manifest} verified: https://spdx\\.dev/Document attestation for subject ${manifest} rejected: team/forged:${manifest.replace(':', '-')}\\.att layer 0: no envelope signature verifies with the given key; https://spdx\\.dev/Document attestation for subject ${manifest} rejected: bundle referrer sha256:[0-9a-f]{64}: bundle is signed by key \\S+, which is not among the keys given$`)) });
    expect(result(rejected.reports[0]!, 'provenance-attached')).toMatchObject({ status: 'fail', summary: `no provenance attestation(s) attached to ${index}, ${manifest}` });

    // the same attestation passes for whoever trusts the forger's key: the key decides, not the tag
    const theirs = await check([`${host}/team/forged:1`, '--platform', 'amd64', '--key', 'forger.pub']);
    // one statement, stored twice: in the .att tag and as a bundle referrer
    expect(result(theirs.reports[0]!, 'sbom-attached')).toMatchObject({ status: 'pass', summary: `2 SBOM attestation(s) verified on ${index}, ${manifest}` });
    expect(result(theirs.reports[0]!, 'sbom-attached').evidence.slice(0, 2).map((item) => item.detail.replace(/ by key \S+ /, ' by key K '))).toEqual([
      `https://spdx.dev/Document attestation in the .att tag verified by key K for subject ${manifest}`,
      `https://spdx.dev/Document attestation in a bundle referrer verified by key K for subject ${manifest}`,
    ]);

    // an attestation the trusted key made for another image, copied onto this one's index: its
    // signature verifies, but its statement names the other image
    const client = new RegistryClient();
    const clean = await check([`${host}/team/clean:1`, '--platform', 'amd64']);
    const from = { registry: host, repository: 'team/clean' };
    const to = { registry: host, repository: 'team/forged' };
    const att = await client.getManifest({ ...from, tag: cosignTag(clean.reports[0]!.image.manifestDigest! as Digest, 'att') });
    const copied = att.manifest as ImageManifest;
    for (const blob of [copied.config, ...copied.layers]) expect(await client.mountBlob(to, blob.digest, from.repository)).toBe(true);
    await client.putManifest({ ...to, tag: cosignTag(index as Digest, 'att') }, att.bytes, att.mediaType);
    const replayed = await check([`${host}/team/forged:1`, '--platform', 'amd64', '--key', 'cosign.pub']);
    const sbom = result(replayed.reports[0]!, 'sbom-attached');
    expect(sbom.status).toBe('fail');
    expect(sbom.summary).toContain(`https://spdx.dev/Document attestation for subject ${index} rejected: team/forged:${index.replace(':', '-')}.att layer 0: statement subject does not name ${index}`);
    expect(sbom.summary).toContain(`https://cyclonedx.org/bom attestation for subject ${index} rejected: team/forged:${index.replace(':', '-')}.att layer 1: statement subject does not name ${index}`);
    expect(sbom.summary).toContain(`https://spdx.dev/Document attestation for subject ${manifest} rejected: team/forged:${manifest.replace(':', '-')}.att layer 0: no envelope signature verifies with the given key`);
    // the copied provenance too: found on the index, rejected for it
    expect(result(replayed.reports[0]!, 'provenance-attached')).toMatchObject({ status: 'fail', summary: expect.stringContaining(`statement subject does not name ${index}`) });
  });

  it('reports an attached attestation that is not a DSSE envelope as found and malformed, not as an error', async () => {
    const published = await kiln(['image', 'publish', 'clean.yaml', `${host}/team/junk:1`, '--cache-dir', 'cache', '--json']);
    expect(published.code, published.stderr).toBe(0);
    const plain = await check([`${host}/team/junk:1`, '--platform', 'amd64']);
    const manifest = plain.reports[0]!.image.manifestDigest! as Digest;
    const client = new RegistryClient();
    const repo = { registry: host, repository: 'team/junk' };
    const config = await client.pushBlob(repo, Buffer.from('{}'), { mediaType: 'application/vnd.oci.image.config.v1+json' });
    const junk = await client.pushBlob(repo, Buffer.from('this is not an envelope'), { mediaType: 'application/vnd.dsse.envelope.v1+json' });
    await client.putManifestJson({ ...repo, tag: cosignTag(manifest, 'att') }, {
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: [{ ...junk, mediaType: 'application/vnd.dsse.envelope.v1+json', annotations: { predicateType: 'https://spdx.dev/Document' } }],
    });
    const unverified = await check([`${host}/team/junk:1`, '--platform', 'amd64']);
    expect(unverified.run.stderr).not.toContain('internal error');
    const found = result(unverified.reports[0]!, 'sbom-attached');
    expect(found.status).toBe('not-run');
    expect(found.evidence).toContainEqual({ digest: junk.digest, detail: expect.stringMatching(new RegExp(`^https://spdx\\.dev/Document attestation in the \\.att tag \\(subject ${manifest}\\) is malformed: \\.att layer ${junk.digest}: not valid JSON`)) });
    const verified = await check([`${host}/team/junk:1`, '--platform', 'amd64', '--key', 'cosign.pub']);
    const sbom = result(verified.reports[0]!, 'sbom-attached');
    expect(sbom.status).toBe('fail');
    expect(sbom.summary).toContain(`attestation in the .att tag (subject ${manifest}) is malformed: .att layer ${junk.digest}: not valid JSON`);
  });

  it('attaches the results as signed attestations that kiln verify-attestation verifies', async () => {
    const run = await kiln(['comply', 'check', `${host}/team/clean:1`, '--attest', '--key', 'cosign.key', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const reports = JSON.parse(run.stdout) as ImageCheckReport[];
    expect(run.stderr.trimEnd().split('\n')).toEqual(reports.flatMap((report) => [
      `Attested https://kiln.dev/attestations/hardening-checks/v1 to ${report.image.manifestDigest}`,
      `Attested https://kiln.dev/attestations/oscal-assessment-results/v1 to ${report.image.manifestDigest}`,
    ]));
    const amd64 = reports[0]!;
    const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'https://kiln.dev/attestations/hardening-checks/v1', `${host}/team/clean@${amd64.image.manifestDigest}`]);
    expect(verified.code, verified.stderr).toBe(0);
    const envelope = JSON.parse(verified.stdout.trim().split('\n')[0]!) as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { predicateType: string; subject: Array<{ digest: { sha256: string } }>; predicate: ImageCheckReport };
    expect(statement.predicateType).toBe('https://kiln.dev/attestations/hardening-checks/v1');
    expect(statement.subject[0]!.digest.sha256).toBe(amd64.image.manifestDigest!.slice('sha256:'.length));
    expect(statement.predicate.checks.map((item) => item.id)).toEqual(amd64.checks.map((item) => item.id));
    const oscal = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'https://kiln.dev/attestations/oscal-assessment-results/v1', `${host}/team/clean@${amd64.image.manifestDigest}`]);
    expect(oscal.code, oscal.stderr).toBe(0);
    const results = (JSON.parse(Buffer.from((JSON.parse(oscal.stdout.trim().split('\n')[0]!) as { payload: string }).payload, 'base64').toString('utf8')) as { predicate: Record<string, unknown> }).predicate;
    expect(oscalValidators().assessmentResults(results)).toBe(true);
  });

  it('refuses to attest results of a local file', async () => {
    const run = await kiln(['comply', 'check', 'clean.tar', '--platform', 'amd64', '--attest', '--key', 'cosign.key']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('kiln: example.com/clean:1-amd64: results can only be attested to an image read from a registry (give a registry reference, not a file)\n');
  });

  it('names a reference the registry does not have', async () => {
    const run = await kiln(['comply', 'check', `${host}/team/nothing:1`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^kiln: ${host}/team/nothing:1: .*team/nothing`));
  });
});
