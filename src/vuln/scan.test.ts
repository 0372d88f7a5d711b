import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpTransport } from '../apk/index.ts';
import { silentLogger } from '../lib/index.ts';
import { loadFeedConfig } from './feed-config.ts';
import { updateFeeds } from './feed-update.ts';
import { formatScanSarif, formatScanTable } from './format/report.ts';
import type { CvssScore } from './format/model.ts';
import type { VulnIndex } from './port.ts';
import { stubVulnIndex } from './testing.ts';
import { findingsAtOrAbove, scanContents, severityInIndex } from './scan.ts';
import { readScanTarget } from './scan-target.ts';
import { SqliteVulnIndex } from './sqlite/sqlite-vuln-index.ts';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'vuln');
const alpineDb = join(root, 'test', 'fixtures', 'apk', 'apko', 'root-db', 'installed');
let work: string;
let index: SqliteVulnIndex;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-vuln-scan-'));
  index = new SqliteVulnIndex(join(work, 'vuln.sqlite'));
  const fetcher = await createHttpTransport();
  try {
    await updateFeeds({ feeds: await loadFeedConfig(join(fixtures, 'feeds.yaml')), index, fetcher, cacheDir: join(work, 'cache'), now: () => new Date('2099-01-10T00:00:00Z'), logger: silentLogger });
  } finally {
    fetcher.close();
  }
});

afterAll(async () => {
  index.close();
  await rm(work, { recursive: true, force: true });
});

// The Alpine 3.16 installed database (14 packages) against the written test feeds: what each
// finding must be, derived by hand from feeds.yaml's files (see test/fixtures/vuln/README.md).
const EXPECTED = [
  'zlib zlib CVE-2099-1006 CRITICAL - test-osv',
  'libcrypto1.1 openssl CVE-2099-1001 HIGH 1.1.1q-r1 alpine-3.16',
  'libssl1.1 openssl CVE-2099-1001 HIGH 1.1.1q-r1 alpine-3.16',
  'busybox busybox CVE-2099-1004 MEDIUM 1.35.0_p1-r0 alpine-3.16',
  'busybox busybox CVE-2099-1007 MEDIUM 1.36.0 nvd',
  'ssl_client busybox CVE-2099-1004 MEDIUM 1.35.0_p1-r0 alpine-3.16',
  'ssl_client busybox CVE-2099-1007 MEDIUM 1.36.0 nvd',
  'musl musl CVE-2099-1008 UNKNOWN - alpine-3.16',
  'musl-utils musl CVE-2099-1008 UNKNOWN - alpine-3.16',
].map((line) => line.replace(' - alpine-3.16', ' 1.2.3-r1 alpine-3.16'));

function lines(report: ReturnType<typeof scanContents>): string[] {
  return report.findings.map((finding) => `${finding.package} ${finding.origin} ${finding.id} ${finding.severity} ${finding.fixedVersion ?? '-'} ${finding.feeds.join(',')}`);
}

describe('scan of an apk installed database', () => {
  it('matches through origins with apk version rules; the distro feed decides, NVD only where it is silent', async () => {
    const contents = await readScanTarget(alpineDb, { ecosystem: 'alpine:3.16' });
    expect(contents.kind).toBe('installed-db');
    expect(contents.packages).toHaveLength(14);
    const report = scanContents(contents, index);
    expect(lines(report)).toEqual(EXPECTED);
    expect(report.suppressed.map((finding) => `${finding.package} ${finding.id} ${finding.suppressed}`)).toEqual(['busybox CVE-2099-1003 not affected', 'ssl_client CVE-2099-1003 not affected']);
    const openssl = report.findings.find((finding) => finding.package === 'libssl1.1')!;
    expect(openssl).toMatchObject({ kev: { dateAdded: '2099-01-04', dueDate: '2099-01-25' }, epss: { score: 0.51234, percentile: 0.97001 }, cvss: { version: '3.1', score: 7.5 }, summary: 'openssl test vulnerability, fixed in 1.1.1q-r1' });
    expect(report.warnings).toEqual([]);
  });

  it('--ignore-unfixed drops findings with no fix; findingsAtOrAbove counts for --fail-on', async () => {
    const report = scanContents(await readScanTarget(alpineDb, { ecosystem: 'alpine:3.16' }), index, { ignoreUnfixed: true });
    expect(lines(report)).toEqual(EXPECTED.filter((line) => !line.startsWith('zlib')));
    expect(findingsAtOrAbove(report, 'HIGH').map((finding) => finding.package)).toEqual(['libcrypto1.1', 'libssl1.1']);
    expect(findingsAtOrAbove(report, 'CRITICAL')).toEqual([]);
  });

  it('says so when no feed covers the release it names, instead of a silent clean result', async () => {
    const report = scanContents(await readScanTarget(alpineDb, { ecosystem: 'alpine:3.99' }), index);
    expect(report.warnings).toEqual([expect.stringMatching(/^no feed in the vulnerability index holds records for alpine:3\.99: its packages were matched against NVD's CPE ranges only/)]);
    expect(lines(report).every((line) => line.endsWith(' nvd'))).toBe(true);
  });

  it('without a distribution it says so and matches only upstream ranges', async () => {
    const contents = await readScanTarget(alpineDb);
    expect(contents.warnings).toEqual([expect.stringContaining('does not say which distribution')]);
    expect(lines(scanContents(contents, index))).toEqual(['busybox busybox CVE-2099-1003 CRITICAL 1.36.0 nvd', 'ssl_client busybox CVE-2099-1003 CRITICAL 1.36.0 nvd', 'busybox busybox CVE-2099-1007 MEDIUM 1.36.0 nvd', 'ssl_client busybox CVE-2099-1007 MEDIUM 1.36.0 nvd']);
  });
});

describe('scan of a Debian system against the tracker feed (test/fixtures/vuln/debian-cve-list)', () => {
  const debian = (ecosystem: string) =>
    scanContents({ target: 'debian', kind: 'installed-db', ecosystem, warnings: [], packages: [{ name: 'zlib1g', version: '1:1.2.13.dfsg-1', origin: 'zlib' }, { name: 'libssl3', version: '3.0.11-1', origin: 'openssl' }] }, index);
  const summary = (report: ReturnType<typeof scanContents>) => [
    ...report.findings.map((finding) => `${finding.package} ${finding.id} ${finding.fixedVersion ?? '-'}`),
    ...report.suppressed.map((finding) => `${finding.package} ${finding.id} suppressed`),
  ];

  it('a release with no line of its own (trixie) is compared with unstable, and is covered by it', () => {
    const report = debian('debian:13');
    expect(summary(report)).toEqual(['libssl3 CVE-2099-2003 -', 'zlib1g CVE-2099-2001 1:1.3.dfsg-2']);
    expect(report.findings.find((finding) => finding.id === 'CVE-2099-2001')!.notes).toContain("no debian:13 line in the Debian tracker: unstable's applies");
    expect(report.warnings).toEqual([]);
  });

  it('releases with their own lines keep them: fixed (bookworm), <no-dsa> (bullseye), <not-affected> (buster)', () => {
    expect(summary(debian('debian:12'))).toEqual(['libssl3 CVE-2099-2003 -', 'zlib1g CVE-2099-2001 1:1.2.13.dfsg-1+deb12u1']);
    expect(summary(debian('debian:11'))).toEqual(['libssl3 CVE-2099-2003 -', 'zlib1g CVE-2099-2001 -']);
    expect(summary(debian('debian:10'))).toEqual(['libssl3 CVE-2099-2003 -', 'zlib1g CVE-2099-2001 suppressed']);
  });
});

describe('stale feeds', () => {
  // The index was updated at 2099-01-10T00:00:00Z (beforeAll).
  const at = async (now: string, staleAfterHours?: number) => scanContents(await readScanTarget(alpineDb, { ecosystem: 'alpine:3.16' }), index, { now: new Date(now), ...(staleAfterHours === undefined ? {} : { staleAfterHours }) }).warnings;

  it('a scan warns about each feed not updated for more than 48 hours, naming it and its age', async () => {
    expect(await at('2099-01-12T00:00:00Z')).toEqual([]);
    const warnings = await at('2099-01-13T06:00:00Z');
    expect(warnings).toHaveLength(7);
    expect(warnings[0]).toBe('feed alpine-3.16 was last updated 3 days ago (2099-01-10T00:00:00.000Z): findings may miss vulnerabilities and fixes published since (run kiln vuln db update)');
    expect((await at('2099-01-12T01:00:00Z'))[0]).toMatch(/^feed alpine-3\.16 was last updated 49 hours ago /);
  });

  it('the threshold can be changed', async () => {
    expect(await at('2099-01-10T13:00:00Z', 12)).toHaveLength(7);
    expect(await at('2099-01-13T06:00:00Z', 24 * 7)).toEqual([]);
  });
});

describe('severity from CVSS versions', () => {
  const score = (version: CvssScore['version'], value: number, source = 'nvd@nist.gov'): CvssScore => ({ version, score: value, vector: `v${version}`, source });
  const indexWith = (cvss: CvssScore[]): VulnIndex =>
    stubVulnIndex({
      affected: () => [{ feed: 'f', ecosystem: 'alpine:3.16', package: 'zlib', vulnerability: 'CVE-2099-1301', aliases: [], status: 'affected', ranges: [{ fixed: '9-r0' }], versions: [] }],
      vulnerabilities: () => [{ id: 'CVE-2099-1301', aliases: [], cvss }],
    });
  const finding = (cvss: CvssScore[]) => {
    const [found] = scanContents({ target: 't', kind: 'installed-db', ecosystem: 'alpine:3.16', warnings: [], packages: [{ name: 'zlib', version: '1-r0' }] }, indexWith(cvss)).findings;
    return `${found!.severity} ${found!.cvss?.version ?? '-'} ${found!.cvss?.score ?? '-'}`;
  };

  it('prefers v3.1, then v4.0, then v3.0, then v2.0 (NVD\'s first in each); v2 is rated on its own table', () => {
    expect(finding([score('2.0', 10), score('4.0', 5.3), score('3.1', 7.5)])).toBe('HIGH 3.1 7.5');
    expect(finding([score('2.0', 10), score('4.0', 5.3, 'osv'), score('4.0', 9.3)])).toBe('CRITICAL 4.0 9.3');
    expect(finding([score('2.0', 4.3), score('3.0', 6.5)])).toBe('MEDIUM 3.0 6.5');
    expect(finding([score('2.0', 10)])).toBe('HIGH 2.0 10');
    expect(severityInIndex(indexWith([score('2.0', 2.1)]), ['CVE-2099-1301'])).toBe('LOW');
    expect(severityInIndex(indexWith([score('4.0', 9.3)]), ['CVE-2099-1301'])).toBe('CRITICAL');
  });
});

describe('scan targets', () => {
  it('a root filesystem: os-release gives the distribution', async () => {
    const rootfs = join(work, 'rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await mkdir(join(rootfs, 'lib', 'apk', 'db'), { recursive: true });
    await writeFile(join(rootfs, 'etc', 'os-release'), 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.2\n');
    await copyFile(alpineDb, join(rootfs, 'lib', 'apk', 'db', 'installed'));
    const contents = await readScanTarget(rootfs);
    expect([contents.kind, contents.ecosystem, contents.os?.VERSION_ID]).toEqual(['rootfs', 'alpine:3.16', '3.16.2']);
    expect(lines(scanContents(contents, index))).toEqual(EXPECTED);
  });

  it('an unknown distribution in os-release is reported, not guessed', async () => {
    const rootfs = join(work, 'rootfs-unknown');
    await mkdir(join(rootfs, 'usr', 'lib', 'apk', 'db'), { recursive: true });
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'etc', 'os-release'), 'ID=pretend\nVERSION_ID=1.0.0\n');
    await copyFile(alpineDb, join(rootfs, 'usr', 'lib', 'apk', 'db', 'installed'));
    const contents = await readScanTarget(rootfs);
    expect(contents.ecosystem).toBeUndefined();
    expect(contents.warnings).toEqual([expect.stringContaining('"pretend" "1.0.0" (os-release) is not one Kiln has distribution feeds for')]);
  });

  it('an SPDX SBOM with Syft-style upstream qualifiers and a CycloneDX SBOM with Kiln origins give the same findings', async () => {
    const text = await readFile(alpineDb, 'utf8');
    const packages = [...text.matchAll(/^P:(.+)\nV:(.+)\n(?:[^\n]+\n)*?o:(.+)$/gm)].map((match) => ({ name: match[1]!, version: match[2]!, origin: match[3]! }));
    expect(packages).toHaveLength(14);
    const purl = (pkg: { name: string; version: string; origin: string }, upstream: boolean) => `pkg:apk/alpine/${pkg.name}@${pkg.version}?arch=aarch64${upstream ? `&upstream=${pkg.origin}` : ''}&distro=alpine-3.16.2`;
    const spdx = { spdxVersion: 'SPDX-2.3', packages: packages.map((pkg, n) => ({ SPDXID: `SPDXRef-${n}`, name: pkg.name, externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(pkg, true) }] })) };
    const cdx = { bomFormat: 'CycloneDX', specVersion: '1.6', components: packages.map((pkg) => ({ type: 'library', name: pkg.name, purl: purl(pkg, false), properties: [{ name: 'kiln:apk:origin', value: pkg.origin }] })) };
    await writeFile(join(work, 'sbom.spdx.json'), JSON.stringify(spdx));
    await writeFile(join(work, 'sbom.cdx.json'), JSON.stringify(cdx));
    for (const name of ['sbom.spdx.json', 'sbom.cdx.json']) {
      const contents = await readScanTarget(join(work, name));
      expect([contents.kind, contents.ecosystem]).toEqual(['sbom', 'alpine:3.16']);
      expect(lines(scanContents(contents, index))).toEqual(EXPECTED);
    }
  });

  it('refuses targets with nothing to scan, naming them', async () => {
    await mkdir(join(work, 'empty'));
    await expect(readScanTarget(join(work, 'empty'))).rejects.toMatchObject({ code: 'VULN_NO_PACKAGES', message: expect.stringContaining('has no apk database') });
    await writeFile(join(work, 'blob.bin'), Buffer.from([0, 1, 2, 3, 255]));
    await expect(readScanTarget(join(work, 'blob.bin'))).rejects.toMatchObject({ code: 'VULN_TARGET_UNSUPPORTED' });
    await expect(readScanTarget(join(work, 'absent'))).rejects.toMatchObject({ code: 'VULN_TARGET_UNSUPPORTED', message: expect.stringContaining('no such file') });
    await writeFile(join(work, 'none.json'), JSON.stringify({ bomFormat: 'CycloneDX', components: [{ purl: 'pkg:npm/left-pad@1.0.0' }] }));
    await expect(readScanTarget(join(work, 'none.json'))).rejects.toMatchObject({ code: 'VULN_NO_PACKAGES' });
    await writeFile(join(work, 'other.json'), '{"hello": 1}');
    await expect(readScanTarget(join(work, 'other.json'))).rejects.toMatchObject({ code: 'SBOM_UNREADABLE' });
  });
});

describe('report formats', () => {
  it('table and SARIF carry every finding', async () => {
    const report = scanContents(await readScanTarget(alpineDb, { ecosystem: 'alpine:3.16' }), index);
    const table = formatScanTable(report, { showSuppressed: true }).split('\n');
    expect(table[0]).toBe(`${alpineDb}: 14 packages, alpine:3.16`);
    expect(table[1]).toMatch(/^PACKAGE +VERSION +VULNERABILITY +SEVERITY +FIXED IN +SOURCE +KEV$/);
    expect(table.filter((line) => line.includes('CVE-2099-'))).toHaveLength(11);
    expect(table.at(-2)).toBe('9 vulnerabilities (critical 1, high 2, medium 4, unknown 2), 2 suppressed');
    const sarif = formatScanSarif(report, { name: 'kiln', version: '0.0.0' }) as { runs: Array<{ results: Array<{ ruleId: string; level: string }>; tool: { driver: { rules: Array<{ id: string }> } } }> };
    expect(sarif.runs[0]!.results.map((result) => `${result.ruleId} ${result.level}`)).toEqual(report.findings.map((finding) => `${finding.id} ${['CRITICAL', 'HIGH'].includes(finding.severity) ? 'error' : 'warning'}`));
    expect(sarif.runs[0]!.tool.driver.rules.map((rule) => rule.id)).toEqual(['CVE-2099-1006', 'CVE-2099-1001', 'CVE-2099-1004', 'CVE-2099-1007', 'CVE-2099-1008']);
  });
});
