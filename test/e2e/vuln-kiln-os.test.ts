import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { ensureKilnOs, KILN_OS_BUILD_TIMEOUT, kilnOsCache } from './kiln-os-support.ts';

// Whole-system test of scanning the Kiln OS catalog images (the cached `kiln os build`, read only)
// against a real local index: NVD records written for the test (test/fixtures/vuln/kiln-os/) whose
// upstream ranges cover the built openssl and curl, then the `fixed` events `kiln advisory derive`
// takes from the Debian changelogs of the sources the recipes build. A CVE Debian's patches fix
// (named in the changelog) stops being reported; one no patch fixes stays.

const root = join(import.meta.dirname, '..', '..');
const nvd = join(root, 'test', 'fixtures', 'vuln', 'kiln-os', 'nvd.json');
let work: string;
let images: string;

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, KILN_VULN_DB_DIR: join(work, 'vulndb') }, cwd: work });

interface JsonReport {
  kind: string;
  ecosystem?: string;
  packages: number;
  findings: Array<{ package: string; version: string; id: string; severity: string; fixedVersion?: string; feeds: string[] }>;
  suppressed: Array<{ package: string; id: string; suppressed: string }>;
  warnings: string[];
}

const summary = (report: JsonReport) => report.findings.map((finding) => `${finding.package} ${finding.version} ${finding.id} ${finding.severity}`).sort();
const OPENSSL_LIBS = (id: string, severity: string) => [`libcrypto3 3.0.20-r0 ${id} ${severity}`, `libssl3 3.0.20-r0 ${id} ${severity}`];

// Before the changelog-derived advisories: every upstream range that covers the built versions.
const BEFORE: Record<string, string[]> = {
  busybox: [],
  curl: [...OPENSSL_LIBS('CVE-2026-45447', 'CRITICAL'), ...OPENSSL_LIBS('CVE-2099-5001', 'HIGH'), 'curl 7.88.1-r0 CVE-2026-7168 HIGH', 'curl 7.88.1-r0 CVE-2099-5002 CRITICAL', 'libcurl-openssl4 7.88.1-r0 CVE-2026-7168 HIGH', 'libcurl-openssl4 7.88.1-r0 CVE-2099-5002 CRITICAL'],
  jq: [],
  nginx: [...OPENSSL_LIBS('CVE-2026-45447', 'CRITICAL'), ...OPENSSL_LIBS('CVE-2099-5001', 'HIGH')],
  openssl: [...OPENSSL_LIBS('CVE-2026-45447', 'CRITICAL'), ...OPENSSL_LIBS('CVE-2099-5001', 'HIGH'), 'openssl 3.0.20-r0 CVE-2026-45447 CRITICAL', 'openssl 3.0.20-r0 CVE-2099-5001 HIGH'],
  static: [],
};
// After: CVE-2026-45447 (openssl 3.0.20-1~deb12u2) and CVE-2026-7168 (curl 7.88.1-10+deb12u15) are
// named in the Debian changelogs, so only the invented CVE-2099-* remain.
const without = (list: string[], id: string) => list.filter((line) => !line.includes(` ${id} `));
const AFTER = Object.fromEntries(Object.entries(BEFORE).map(([name, list]) => [name, without(without(list, 'CVE-2026-45447'), 'CVE-2026-7168')]));

async function scan(target: string, extra: string[] = []): Promise<JsonReport> {
  const run = await kiln(['scan', target, '--json', ...extra]);
  expect([run.code, run.stderr]).toEqual([0, '']);
  return JSON.parse(run.stdout) as JsonReport;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-vuln-os-e2e-'));
  images = join((await ensureKilnOs()).out, 'images');
  await writeFile(join(work, 'nvd-only.yaml'), `feeds:\n  - {name: nvd, type: nvd, path: ${nvd}}\n`);
  await writeFile(join(work, 'feeds.yaml'), `feeds:\n  - {name: nvd, type: nvd, path: ${nvd}}\n  - {name: kiln-os, type: advisories, path: advisories, ecosystem: kiln}\n`);
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('scanning the Kiln OS images', () => {
  it('recognizes Kiln OS (ecosystem kiln) and matches the upstream ranges of every image', async () => {
    expect((await kiln(['vuln', 'db', 'update', '--config', 'nvd-only.yaml'])).code).toBe(0);
    const names = readdirSync(images).filter((name) => !name.includes('.') && !name.endsWith('-dev')).sort();
    expect(names).toEqual(Object.keys(BEFORE));
    for (const name of names) {
      const report = await scan(join(images, name));
      expect([name, report.kind, report.ecosystem, report.warnings]).toEqual([name, 'oci-layout', 'kiln', []]);
      expect([name, summary(report)]).toEqual([name, [...BEFORE[name]!].sort()]);
    }
  });

  it('kiln advisory derive turns the CVEs of the Debian changelogs into fixed events, once', async () => {
    const derive = ['advisory', 'derive', 'advisories', '--os-dir', join(root, 'os'), '--debian-source-cache', join(kilnOsCache, 'debian-sources'), '--json'];
    const first = await kiln(derive);
    expect([first.code, first.stderr]).toEqual([0, '']);
    const results = JSON.parse(first.stdout) as Array<{ package: string; version: string; debianVersion: string; cves: number; added: string[] }>;
    const openssl = results.find((result) => result.package === 'openssl')!;
    expect([openssl.version, openssl.debianVersion]).toEqual(['3.0.20-r0', '3.0.20-1~deb12u2']);
    expect(openssl.added).toContain('CVE-2026-45447');
    expect(results.find((result) => result.package === 'curl')!.added).toContain('CVE-2026-7168');
    for (const result of results) expect(result.added.length).toBe(result.cves);
    const file = parse(readFileSync(join(work, 'advisories', 'openssl.yaml'), 'utf8')) as { package: string; advisories: Array<{ id: string; events: unknown[] }> };
    expect(file.advisories.find((advisory) => advisory.id === 'CVE-2026-45447')!.events).toEqual([
      { timestamp: '2026-06-06T19:56:20Z', type: 'fixed', data: { version: '3.0.20-r0', evidence: 'debian/changelog openssl 3.0.20-1~deb12u2: * CVE-2026-45447 ("Heap Use-After-Free in OpenSSL PKCS7_verify()")' } },
    ]);
    const again = await kiln(derive);
    expect((JSON.parse(again.stdout) as Array<{ added: string[] }>).flatMap((result) => result.added)).toEqual([]);
    const validate = await kiln(['advisory', 'validate', 'advisories']);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
  });

  it('with the derived advisories, a scan no longer reports what the Debian patches fix (images and their SBOMs)', async () => {
    const update = await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml']);
    expect([update.code, update.stderr]).toEqual([0, '']);
    for (const name of Object.keys(AFTER)) {
      const report = await scan(join(images, name));
      expect([name, summary(report)]).toEqual([name, [...AFTER[name]!].sort()]);
      const sbom = await scan(join(images, `${name}.sbom`, 'sbom-x86_64.spdx.json'), ['--distro', 'kiln']);
      expect([name, summary(sbom)]).toEqual([name, summary(report)]);
    }
  });

  it('kiln advisory create and update record events by hand: not affected suppresses, bad edits are refused', async () => {
    const created = await kiln(['advisory', 'create', 'openssl', 'CVE-2099-5001', '--type', 'detected', '--scanner', 'kiln', '--timestamp', '2099-01-01T00:00:00Z', '--dir', 'advisories']);
    expect([created.code, created.stderr, created.stdout]).toEqual([0, '', `${join(work, 'advisories', 'openssl.yaml')}: CVE-2099-5001 detected\n`]);
    const twice = await kiln(['advisory', 'create', 'openssl', 'CVE-2099-5001', '--type', 'affected', '--dir', 'advisories']);
    expect([twice.code, twice.stderr]).toEqual([1, `kiln: ${join(work, 'advisories', 'openssl.yaml')}: CVE-2099-5001 already has an advisory (use kiln advisory update)\n`]);
    const earlier = await kiln(['advisory', 'update', 'openssl', 'CVE-2099-5001', '--type', 'affected', '--timestamp', '2098-01-01T00:00:00Z', '--dir', 'advisories']);
    expect(earlier.code).toBe(1);
    expect(earlier.stderr).toMatch(/openssl\.yaml: advisories\[\d+\]\.events\[1\]\.timestamp: earlier than the event before it \(2099-01-01T00:00:00Z\); events are oldest first\n$/);
    const unknown = await kiln(['advisory', 'update', 'openssl', 'CVE-2099-5999', '--type', 'affected', '--dir', 'advisories']);
    expect(unknown.stderr).toBe(`kiln: ${join(work, 'advisories', 'openssl.yaml')}: openssl has no advisory for CVE-2099-5999 (use kiln advisory create)\n`);
    const noJustification = await kiln(['advisory', 'update', 'openssl', 'CVE-2099-5001', '--type', 'not-affected', '--dir', 'advisories']);
    expect(noJustification.code).toBe(2);
    const vex = await kiln(['advisory', 'update', 'openssl', 'CVE-2099-5001', '--type', 'not-affected', '--justification', 'vulnerable_code_not_in_execute_path', '--impact', 'Kiln builds without the affected module', '--timestamp', '2099-01-02T00:00:00Z', '--dir', 'advisories', '--json']);
    expect([vex.code, vex.stderr]).toEqual([0, '']);
    expect((JSON.parse(vex.stdout) as { advisories: Array<{ id: string; events: Array<{ type: string }> }> }).advisories.find((advisory) => advisory.id === 'CVE-2099-5001')!.events.map((event) => event.type)).toEqual(['detected', 'not-affected']);
    expect((await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml'])).code).toBe(0);
    const report = await scan(join(images, 'openssl'));
    expect(summary(report)).toEqual([]);
    expect(report.suppressed.map((item) => `${item.package} ${item.id} ${item.suppressed}`).sort()).toEqual(
      ['libcrypto3', 'libssl3', 'openssl'].map((pkg) => `${pkg} CVE-2099-5001 vulnerable_code_not_in_execute_path: Kiln builds without the affected module`),
    );
  });

  it('kiln advisory derive --debian-tracker adds what the tracker proves (once), and advisory publish writes OSV records the scanner reads as it reads the advisories', async () => {
    // The real 2023-04 DSA list (no bookworm lines, so it proves nothing for Kiln OS) and tracker
    // lines written here for bookworm: a fix below the openssl built, one above it, and a
    // <not-affected> with a stated reason for the invented curl CVE the NVD fixture ranges over.
    await writeFile(
      join(work, 'CVE-list'),
      'CVE-2099-5003 (openssl test vulnerability)\n\t- openssl 3.1.0-1\n\t[bookworm] - openssl 3.0.20-1~deb12u1\nCVE-2099-5004 (openssl test vulnerability)\n\t- openssl 3.1.0-1\n\t[bookworm] - openssl 3.0.20-1~deb12u3\nCVE-2099-5002 (curl test vulnerability)\n\t[bookworm] - curl <not-affected> (vulnerable code not present)\n',
    );
    const derive = ['advisory', 'derive', 'advisories', '--os-dir', join(root, 'os'), '--debian-source-cache', join(kilnOsCache, 'debian-sources'), '--debian-tracker', join(root, 'test', 'fixtures', 'vuln', 'debian-tracker', 'DSA-list-excerpt'), '--debian-tracker', 'CVE-list', '--json'];
    const first = await kiln(derive);
    expect([first.code, first.stderr]).toEqual([0, '']);
    type Derived = Array<{ package: string; added: string[]; tracker: { debianPackage: string; added: Array<{ id: string; type: string }>; skipped: Array<{ id: string; reason: string }> } }>;
    const results = JSON.parse(first.stdout) as Derived;
    expect(results.flatMap((result) => result.added)).toEqual([]);
    expect(results.filter((result) => result.tracker.added.length > 0).map((result) => [result.package, result.tracker.added])).toEqual([
      ['curl', [{ id: 'CVE-2099-5002', type: 'not-affected' }]],
      ['openssl', [{ id: 'CVE-2099-5003', type: 'fixed' }]],
    ]);
    expect(results.find((result) => result.package === 'openssl')!.tracker.skipped).toEqual([{ id: 'CVE-2099-5004', reason: 'fixed in Debian 3.0.20-1~deb12u3, above the 3.0.20-1~deb12u2 built' }]);
    expect(results.find((result) => result.package === 'oniguruma')!.tracker.debianPackage).toBe('libonig');
    const openssl = parse(readFileSync(join(work, 'advisories', 'openssl.yaml'), 'utf8')) as { advisories: Array<{ id: string; events: Array<{ type: string; data: Record<string, string> }> }> };
    expect(openssl.advisories.find((advisory) => advisory.id === 'CVE-2099-5003')!.events.map((event) => [event.type, event.data])).toEqual([['fixed', { version: '3.0.20-r0', evidence: 'Debian security tracker CVE-list:3: [bookworm] - openssl 3.0.20-1~deb12u1' }]]);
    const before = readdirSync(join(work, 'advisories')).map((name) => readFileSync(join(work, 'advisories', name), 'utf8'));
    const again = await kiln(derive);
    expect((JSON.parse(again.stdout) as Derived).flatMap((result) => result.tracker.added)).toEqual([]);
    expect(readdirSync(join(work, 'advisories')).map((name) => readFileSync(join(work, 'advisories', name), 'utf8'))).toEqual(before);

    expect((await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml'])).code).toBe(0);
    const fromAdvisories = await scan(join(images, 'curl'));
    expect(summary(fromAdvisories)).toEqual([]);
    expect(fromAdvisories.suppressed.map((item) => `${item.package} ${item.id} ${item.suppressed}`)).toContain('curl CVE-2099-5002 vulnerable_code_not_present: Debian security tracker CVE-list:8: [bookworm] - curl <not-affected> (vulnerable code not present)');

    const published = await kiln(['advisory', 'publish', 'advisories', '--output-dir', 'published', '--urlprefix', 'https://packages.example/kiln', '--json']);
    expect([published.code, published.stderr]).toEqual([0, '']);
    const written = JSON.parse(published.stdout) as { osvRecords: number; osvZip: string; sla: { json: string; entries: number } };
    expect(written.osvRecords).toBe(readdirSync(join(work, 'advisories')).reduce((sum, name) => sum + (parse(readFileSync(join(work, 'advisories', name), 'utf8')) as { advisories: unknown[] }).advisories.length, 0));
    expect((JSON.parse(readFileSync(written.sla.json, 'utf8')) as { entries: Array<{ id: string; severity: string }> }).entries.find((entry) => entry.id === 'CVE-2026-45447')).toMatchObject({ severity: 'CRITICAL' });
    await writeFile(join(work, 'osv-feeds.yaml'), `feeds:\n  - {name: nvd, type: nvd, path: ${nvd}}\n  - {name: kiln-os-osv, type: osv, path: ${written.osvZip}}\n`);
    const osvUpdate = await kiln(['vuln', 'db', 'update', '--config', 'osv-feeds.yaml']);
    expect([osvUpdate.code, osvUpdate.stderr]).toEqual([0, '']);
    for (const name of ['curl', 'openssl', 'nginx']) {
      const fromOsv = await scan(join(images, name));
      expect((await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml'])).code).toBe(0);
      const direct = await scan(join(images, name));
      expect((await kiln(['vuln', 'db', 'update', '--config', 'osv-feeds.yaml'])).code).toBe(0);
      const strip = (report: JsonReport) => ({ findings: summary(report), suppressed: report.suppressed.map((item) => `${item.package} ${item.id} ${item.suppressed}`).sort() });
      expect([name, strip(fromOsv)]).toEqual([name, strip(direct)]);
    }
  });
});
