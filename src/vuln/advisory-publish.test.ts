import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/index.ts';
import { loadAdvisoryDirectory } from './advisories.ts';
import { publishAdvisories } from './advisory-publish.ts';
import { updateFeeds } from './feed-update.ts';
import type { FeedConfig } from './feed-config.ts';
import { advisoryRecords, parseAdvisoryFile } from './format/advisory.ts';
import type { AdvisoryFile } from './format/advisory.ts';
import { advisoriesToOsv } from './format/advisory-osv.ts';
import { DEFAULT_SLA } from './format/sla.ts';
import { parseFeedParts } from './format/parse-feed.ts';
import { readZipEntries } from './format/zip.ts';
import { scanContents } from './scan.ts';
import type { TargetContents } from './scan-target.ts';
import { SqliteVulnIndex } from './sqlite/sqlite-vuln-index.ts';

// Kiln's advisories published as OSV records (each checked against the official OSV schema), read
// back by Kiln's own OSV reader, and the whole publish directory (secdb, OSV, SLA) written.

const root = join(import.meta.dirname, '..', '..');
const addFormats = addFormatsModule as unknown as (ajv: object) => void;
const osvSchema = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'vuln', 'schemas', 'osv', 'schema.json'), 'utf8')) as Record<string, unknown>;

function osvValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(osvSchema);
}

// Every event type, date-only timestamps, an alias, and a package with a `+` in its name.
const EDGE = `package: libfoo++
advisories:
  - id: CVE-2099-7001
    aliases: [GHSA-aaaa-bbbb-cccc]
    events:
      - { timestamp: 2099-01-01, type: detected, data: { scanner: kiln } }
      - { timestamp: 2099-01-05T10:00:00Z, type: fixed, data: { version: 1.2.3_p1-r2, evidence: "upstream 1.2.3p1" } }
  - id: CVE-2099-7002
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: not-affected, data: { justification: vulnerable_code_not_present, impact: "the TLS code is not built" } }
  - id: CVE-2099-7003
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: false-positive, data: { reason: "the CPE names another product" } }
  - id: CVE-2099-7004
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: pending-upstream }
  - id: CVE-2099-7005
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: fix-not-planned, data: { reason: "end of life" } }
  - id: CVE-2099-7006
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: affected }
`;

let work: string;
let real: Array<{ file: AdvisoryFile }>;
const edge = { file: parseAdvisoryFile(EDGE, 'libfoo++.yaml', 'libfoo++') };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-advisory-publish-'));
  const loaded = await loadAdvisoryDirectory(join(root, 'os', 'advisories'));
  expect(loaded.errors).toEqual([]);
  real = loaded.files;
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const withoutFeed = <T extends { feed: string }>(records: readonly T[]) => records.map(({ feed: _feed, ...rest }) => rest);

describe('advisoriesToOsv', () => {
  it('writes one schema-valid OSV record per package and vulnerability, for the project advisories and every event type', () => {
    const validate = osvValidator();
    const files = [...real, edge];
    const records = advisoriesToOsv(files);
    expect(records).toHaveLength(files.reduce((sum, { file }) => sum + file.advisories.length, 0));
    expect(records.length).toBeGreaterThan(100);
    for (const { record } of records) {
      const valid = validate(record);
      expect(valid ? [] : validate.errors, String(record.id)).toEqual([]);
    }
    expect(new Set(records.map((record) => record.id)).size).toBe(records.length);
    const fixed = records.find((record) => record.id === 'x_KILN-CVE-2099-7001-libfoo++')!.record;
    expect(fixed).toMatchObject({
      published: '2099-01-01T00:00:00Z',
      modified: '2099-01-05T10:00:00Z',
      aliases: ['CVE-2099-7001', 'GHSA-aaaa-bbbb-cccc'],
      affected: [{ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2.3_p1-r2' }] }], database_specific: { ecosystem: 'Kiln', name: 'libfoo++', purl: 'pkg:apk/kiln/libfoo++', status: 'affected', note: 'upstream 1.2.3p1' } }],
    });
    const notAffected = records.find((record) => record.id === 'x_KILN-CVE-2099-7002-libfoo++')!.record as { affected: Array<Record<string, unknown>> };
    expect(notAffected.affected).toEqual([{ database_specific: { ecosystem: 'Kiln', name: 'libfoo++', purl: 'pkg:apk/kiln/libfoo++', status: 'not-affected', note: 'vulnerable_code_not_present: the TLS code is not built' } }]);
  });

  it('a record with a registered-looking ecosystem would be read as that distribution, so none is written', () => {
    for (const { record } of advisoriesToOsv([...real, edge])) {
      for (const affected of record.affected as Array<Record<string, unknown>>) expect(affected.package).toBeUndefined();
    }
  });

  it('reads back, through the OSV reader, exactly the index records the advisories give', () => {
    const files = [...real, edge];
    const records = advisoriesToOsv(files);
    const parsed = parseFeedParts(
      records.map((record) => ({ name: record.fileName, data: Buffer.from(JSON.stringify(record.record)) })),
      { feed: 'osv', type: 'osv' },
    );
    expect(parsed.warnings).toEqual([]);
    const direct = files.flatMap(({ file }) => advisoryRecords(file, 'advisories', 'kiln'));
    const key = (record: { package: string; vulnerability: string }) => `${record.package} ${record.vulnerability}`;
    const sort = <T extends { package: string; vulnerability: string }>(list: T[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(sort(withoutFeed(parsed.affected))).toEqual(sort(withoutFeed(direct)));
  });
});

describe('publishAdvisories', () => {
  it('writes secdb, OSV files with all.zip and the SLA report; the scanner gives the same findings from the OSV dump as from the advisories', async () => {
    const out = join(work, 'publish');
    const now = new Date('2099-02-01T00:00:00Z');
    const severityOf = (id: string) => (id === 'CVE-2099-7004' ? ('CRITICAL' as const) : ('UNKNOWN' as const));
    const advisoriesDir = join(work, 'advisories');
    await rm(advisoriesDir, { recursive: true, force: true });
    await mkdir(advisoriesDir, { recursive: true });
    for (const name of readdirSync(join(root, 'os', 'advisories'))) await writeFile(join(advisoriesDir, name), await readFile(join(root, 'os', 'advisories', name)));
    await writeFile(join(advisoriesDir, 'libfoo++.yaml'), EDGE);
    const files = (await loadAdvisoryDirectory(advisoriesDir)).files;
    // A stale record of an advisory that no longer exists is removed.
    await mkdir(join(out, 'osv'), { recursive: true });
    await writeFile(join(out, 'osv', 'x_KILN-CVE-1999-0001-gone.json'), '{}');
    const result = await publishAdvisories(files, { outDir: out, secdb: { reponame: 'os', urlprefix: 'https://packages.example/kiln', archs: ['x86_64'] }, sla: { now, policy: DEFAULT_SLA, severityOf } });
    expect(result.removed).toEqual(['x_KILN-CVE-1999-0001-gone.json']);
    expect((await readdir(out)).sort()).toEqual(['osv', 'security.json', 'sla.csv', 'sla.json', 'sla.md']);
    const osvNames = (await readdir(join(out, 'osv'))).sort();
    expect(osvNames.filter((name) => name.startsWith('.'))).toEqual([]);
    expect(osvNames).toHaveLength(result.osvRecords + 1);
    const zip = readZipEntries(await readFile(result.osvZip), 'all.zip');
    expect(zip.map((entry) => entry.name)).toEqual(osvNames.filter((name) => name !== 'all.zip'));
    for (const entry of zip) expect(entry.data.equals(await readFile(join(out, 'osv', entry.name)))).toBe(true);

    const sla = JSON.parse(await readFile(result.sla.json, 'utf8')) as { generatedAt: string; policy: unknown; entries: Array<{ package: string; id: string; severity: string; daysOpen: number; breached: boolean }> };
    expect(sla.generatedAt).toBe('2099-02-01T00:00:00.000Z');
    expect(sla.policy).toEqual(DEFAULT_SLA);
    expect(sla.entries.find((entry) => entry.id === 'CVE-2099-7004')).toMatchObject({ package: 'libfoo++', severity: 'CRITICAL', daysOpen: 30, breached: true });
    expect(sla.entries.find((entry) => entry.id === 'CVE-2099-7002')).toBeUndefined();
    expect((await readFile(result.sla.csv, 'utf8')).split('\n')[0]).toBe('package,id,severity,detected,fixedVersion,fixedAt,daysOpen,slaDays,breached');
    expect(await readFile(result.sla.markdown, 'utf8')).toContain(`${sla.entries.length} vulnerabilities, ${result.sla.breached} past their SLA.`);
    const secdb = JSON.parse(await readFile(result.secdb, 'utf8')) as { packages: Array<{ pkg: { name: string; secfixes: Record<string, string[]> } }> };
    expect(secdb.packages.find((entry) => entry.pkg.name === 'libfoo++')!.pkg.secfixes).toEqual({ '0': ['CVE-2099-7002', 'CVE-2099-7003'], '1.2.3_p1-r2': ['CVE-2099-7001'] });

    // Publishing again gives the same bytes (no clock in the OSV files or the zip).
    const before = await readFile(result.osvZip);
    await publishAdvisories(files, { outDir: out, secdb: { reponame: 'os', urlprefix: 'https://packages.example/kiln', archs: ['x86_64'] }, sla: { now, policy: DEFAULT_SLA, severityOf } });
    expect((await readFile(result.osvZip)).equals(before)).toBe(true);

    // The scanner, once with the advisories as a feed and once with the OSV dump.
    const scan = async (feed: FeedConfig) => {
      const index = new SqliteVulnIndex(join(work, `${feed.name}.sqlite`));
      try {
        const fetcher = { fetch: () => Promise.reject(new Error('no network in this test')) } as never;
        const [updated] = await updateFeeds({ feeds: [feed], index, fetcher, cacheDir: join(work, 'cache'), now: () => now, logger: silentLogger });
        expect(updated!.warnings).toEqual([]);
        const contents: TargetContents = {
          target: 'kiln-os',
          kind: 'installed-db',
          ecosystem: 'kiln',
          warnings: [],
          packages: [
            { name: 'libfoo++', version: '1.2.3-r0' },
            { name: 'libfoo++-dev', version: '1.2.3-r0', origin: 'libfoo++' },
            ...files.filter(({ file }) => file.package !== 'libfoo++').map(({ file }) => ({ name: file.package, version: '0.1-r0' })),
          ],
        };
        const report = scanContents(contents, index);
        return { findings: report.findings.map(({ feeds: _feeds, ...finding }) => finding), suppressed: report.suppressed.map(({ feeds: _feeds, ...finding }) => finding) };
      } finally {
        index.close();
      }
    };
    const fromAdvisories = await scan({ name: 'kiln-advisories', type: 'advisories', location: advisoriesDir, isRemote: false, ecosystem: 'kiln' });
    const fromOsv = await scan({ name: 'kiln-osv', type: 'osv', location: result.osvZip, isRemote: false });
    expect(fromAdvisories.findings.length).toBeGreaterThan(100);
    expect(fromAdvisories.findings.filter((finding) => finding.id.startsWith('CVE-2099-700')).map((finding) => `${finding.package} ${finding.id} ${finding.fixedVersion ?? '-'}`)).toEqual([
      'libfoo++ CVE-2099-7001 1.2.3_p1-r2',
      'libfoo++ CVE-2099-7004 -',
      'libfoo++ CVE-2099-7005 -',
      'libfoo++ CVE-2099-7006 -',
      'libfoo++-dev CVE-2099-7001 1.2.3_p1-r2',
      'libfoo++-dev CVE-2099-7004 -',
      'libfoo++-dev CVE-2099-7005 -',
      'libfoo++-dev CVE-2099-7006 -',
    ]);
    expect(fromAdvisories.suppressed.map((finding) => `${finding.package} ${finding.id}`)).toEqual(expect.arrayContaining(['libfoo++ CVE-2099-7002', 'libfoo++ CVE-2099-7003']));
    expect(fromOsv).toEqual(fromAdvisories);
  });
});
