import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

// Whole-system test of `kiln scan REGISTRY/REPO:TAG`: a two-architecture image published by
// `kiln image publish` (from the bundled fixture packages) to Kiln's own registry on loopback, scanned
// by tag and by digest, every platform of the index or one, against the feeds vuln-scan.test.ts uses.

const root = join(import.meta.dirname, '..', '..');
const fixtureRepo = join(root, 'test', 'fixtures', 'apk', 'apko-cli-packages');
const vulnFixtures = join(root, 'test', 'fixtures', 'vuln');
let work: string;
let server: ServerProcess;
let host: string;

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', KILN_VULN_DB_DIR: join(work, 'vulndb'), DOCKER_CONFIG: join(work, 'docker') }, cwd: work });

const NVD = {
  vulnerabilities: [
    { cve: { id: 'CVE-2099-3001', descriptions: [{ lang: 'en', value: 'baselayout test vulnerability' }], metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8 } }] } } },
    { cve: { id: 'CVE-2099-3004', descriptions: [{ lang: 'en', value: 'replayout test vulnerability' }], metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N', baseScore: 5.4 } }] } } },
  ],
};
// The same findings as the OCI layout scan of vuln-scan.test.ts, on each architecture.
const EXPECTED = ['pretend-baselayout 1.0.0-r0 CVE-2099-3001 CRITICAL 1.0.0-r1', 'replayout 1.0.0-r0 CVE-2099-3004 MEDIUM 1.0.1_rc1-r0'];

interface JsonReport {
  target: string;
  kind: string;
  platform?: string;
  digest?: string;
  ecosystem?: string;
  findings: Array<{ package: string; version: string; id: string; severity: string; fixedVersion?: string }>;
  warnings: string[];
}

const summary = (report: JsonReport) => report.findings.map((finding) => `${finding.package} ${finding.version} ${finding.id} ${finding.severity} ${finding.fixedVersion ?? '-'}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-vuln-registry-e2e-'));
  server = await startKiln(join(work, 'registry-data'));
  host = server.url.replace('http://', '');
  await writeFile(
    join(work, 'image.yaml'),
    `contents:\n  repositories: [${fixtureRepo}]\n  keyring: [${join(fixtureRepo, 'melange.rsa.pub')}]\n  packages: [replayout, custom-ca-certs-1]\nentrypoint: {command: /bin/sh}\narchs: [x86_64, aarch64]\n`,
  );
  const published = await kiln(['image', 'publish', 'image.yaml', `${host}/team/scan-me:1`, '--cache-dir', 'cache']);
  expect(published.code, published.stderr).toBe(0);
  await writeFile(join(work, 'nvd.json'), JSON.stringify(NVD));
  await writeFile(join(work, 'feeds.yaml'), `feeds:\n  - {name: wolfi-test, type: secdb, path: ${join(vulnFixtures, 'wolfi-style-secdb.json')}, ecosystem: wolfi}\n  - {name: nvd-test, type: nvd, path: nvd.json}\n`);
  expect((await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml'])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('kiln scan of a registry reference', () => {
  it('scans every platform of the index by tag, and the same by digest', async () => {
    const run = await kiln(['scan', `${host}/team/scan-me:1`, '--distro', 'wolfi', '--json']);
    expect([run.code, run.stderr]).toEqual([0, '']);
    const reports = JSON.parse(run.stdout) as JsonReport[];
    expect(reports.map((report) => [report.target, report.kind, report.platform, report.ecosystem])).toEqual([
      [`${host}/team/scan-me:1`, 'registry', 'linux/amd64', 'wolfi'],
      [`${host}/team/scan-me:1`, 'registry', 'linux/arm64', 'wolfi'],
    ]);
    for (const report of reports) {
      expect(report.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(summary(report)).toEqual(EXPECTED);
    }
    expect(reports[0]!.digest).not.toBe(reports[1]!.digest);

    const arm = await kiln(['scan', `${host}/team/scan-me@${reports[1]!.digest!}`, '--distro', 'wolfi', '--json']);
    expect([arm.code, arm.stderr]).toEqual([0, '']);
    const byDigest = JSON.parse(arm.stdout) as JsonReport[];
    expect(byDigest.map((report) => [report.platform, report.digest, summary(report)])).toEqual([['linux/arm64', reports[1]!.digest, EXPECTED]]);
  });

  it('--platform picks one image of the index; the table names each platform; --fail-on counts every platform', async () => {
    const one = await kiln(['scan', `${host}/team/scan-me:1`, '--distro', 'wolfi', '--platform', 'arm64', '--json']);
    expect((JSON.parse(one.stdout) as JsonReport[]).map((report) => report.platform)).toEqual(['linux/arm64']);
    const table = await kiln(['scan', `${host}/team/scan-me:1`, '--distro', 'wolfi']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n').filter((line) => line.startsWith(host))).toEqual([
      `${host}/team/scan-me:1 (linux/amd64): 3 packages, wolfi`,
      `${host}/team/scan-me:1 (linux/arm64): 3 packages, wolfi`,
    ]);
    const failing = await kiln(['scan', `${host}/team/scan-me:1`, '--distro', 'wolfi', '--fail-on', 'medium']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toBe(`kiln: ${host}/team/scan-me:1: 4 vulnerabilities at or above medium (worst: CVE-2099-3001 in pretend-baselayout, critical)\n`);
    const vex = await kiln(['scan', `${host}/team/scan-me:1`, '--distro', 'wolfi', '--format', 'openvex']);
    const statements = (JSON.parse(vex.stdout) as { statements: Array<{ vulnerability: { name: string }; status: string }> }).statements;
    expect(statements.map((statement) => `${statement.vulnerability.name} ${statement.status}`)).toEqual(['CVE-2099-3001 affected', 'CVE-2099-3004 affected', 'CVE-2099-3002 not_affected']);
  });

  it('--format cosign-vuln is attached with kiln attest --type vuln, and kiln policy verify checks CVE bounds against it', async () => {
    const env = { ...process.env, COSIGN_PASSWORD: 'vuln-attest-pw', KILN_VULN_DB_DIR: join(work, 'vulndb'), DOCKER_CONFIG: join(work, 'docker') };
    expect((await runKiln(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
    const scanned = await kiln(['scan', `${host}/team/scan-me:1`, '--distro', 'wolfi', '--format', 'cosign-vuln']);
    expect([scanned.code, scanned.stderr]).toEqual([0, '']);
    const predicate = JSON.parse(scanned.stdout) as { scanner: { version: string; db: { version: string }; result: JsonReport[] }; metadata: { scanStartedOn: string; scanFinishedOn: string } };
    expect(predicate.scanner.result.map(summary)).toEqual([EXPECTED, EXPECTED]);
    expect(predicate.scanner.db.version).toMatch(/^nvd-test@\S+,wolfi-test@\S+$/);
    expect(Date.parse(predicate.metadata.scanFinishedOn)).toBeGreaterThanOrEqual(Date.parse(predicate.metadata.scanStartedOn));
    await writeFile(join(work, 'vuln.json'), scanned.stdout);
    const attested = await runKiln(['attest', '--key', 'cosign.key', '--type', 'vuln', '--predicate', 'vuln.json', `${host}/team/scan-me:1`], { cwd: work, env });
    expect(attested.code, attested.stderr).toBe(0);
    const verify = async (bounds: string) => {
      await writeFile(join(work, 'policy.yaml'), `authorities:\n  release: { key: cosign.pub }\nvulnerabilities: ${bounds}\n`);
      return kiln(['policy', 'verify', '--policy', 'policy.yaml', '--json', `${host}/team/scan-me:1`]);
    };
    const lenient = await verify('{ maxCritical: 1, maxHigh: 0, maxScanAge: 1d }');
    expect(lenient.code, lenient.stderr).toBe(0);
    const passed = JSON.parse(lenient.stdout) as { reports: Array<{ checks: Array<{ requirement: string; passed: boolean; detail: string }> }> };
    expect(passed.reports[0]!.checks).toEqual([
      { requirement: 'vulnerabilities critical <= 1, high <= 0, scanned within 1d by release', passed: true, detail: `release: 2 vulnerabilities (1 critical, 0 high, 1 medium, 0 low), scanned ${predicate.metadata.scanFinishedOn}` },
    ]);
    const strict = await verify('{ maxTotal: 0 }');
    expect(strict.code).toBe(1);
    expect((JSON.parse(strict.stdout) as typeof passed).reports[0]!.checks).toEqual([{ requirement: 'vulnerabilities total <= 0 by release', passed: false, detail: 'release: 2 in all (at most 0)' }]);
  });

  it('names a reference the registry does not have, and a platform the index lacks', async () => {
    const missing = await kiln(['scan', `${host}/team/scan-me:2`, '--distro', 'wolfi']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`^kiln: ${host}/team/scan-me:2: .*\\n$`));
    const platform = await kiln(['scan', `${host}/team/scan-me:1`, '--platform', 'linux/s390x']);
    expect([platform.code, platform.stderr]).toEqual([1, `kiln: ${host}/team/scan-me:1: no image for platform linux/s390x\n`]);
  });
});
