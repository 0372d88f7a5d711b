import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { osvRecordsOfText, parseOsvRecords } from './osv.ts';
import { parseFeedParts } from './parse-feed.ts';
import { readZipEntries } from './zip.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const shared = join(root, '..', 'shared', 'fixtures', 'schemas', 'osv', 'examples');
const own = join(root, 'test', 'fixtures', 'vuln', 'osv');

function records(dir: string, names: readonly string[]) {
  return names.flatMap((name) => osvRecordsOfText(readFileSync(join(dir, name), 'utf8'), name, 'osv').map((record) => ({ record, source: name })));
}

/** A zip archive with deflated entries (what osv.dev's `all.zip` dumps are), for the reader's tests. */
function makeZip(files: ReadonlyArray<[string, string]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of files) {
    const data = Buffer.from(text);
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe('parseOsvRecords on the shared real records', () => {
  it('reads an Alpine record: one affected entry per branch, ECOSYSTEM ranges only, the CVSS v3 score computed', () => {
    const feed = parseOsvRecords(records(shared, ['CVE-2018-5407.json']), { feed: 'osv' });
    expect(feed.warnings).toEqual([]);
    const ecosystems = feed.affected.map((record) => record.ecosystem);
    expect(ecosystems).toEqual(['alpine:3.3', 'alpine:3.4', 'alpine:3.5', 'alpine:3.6', 'alpine:3.7', 'alpine:3.8']);
    expect(feed.affected.every((record) => record.package === 'openssl' && record.vulnerability === 'CVE-2018-5407')).toBe(true);
    const original = JSON.parse(readFileSync(join(shared, 'CVE-2018-5407.json'), 'utf8')) as { affected: Array<{ ranges: Array<{ type: string; events: Array<Record<string, string>> }> }> };
    const fixedFirst = original.affected[0]!.ranges.find((range) => range.type === 'ECOSYSTEM')!.events.find((event) => event.fixed)!.fixed;
    expect(feed.affected[0]!.ranges).toEqual([{ fixed: fixedFirst }]);
    expect(feed.vulnerabilities[0]!.cvss.map((score) => [score.version, score.score])).toEqual([['3.1', 4.7]]);
  });

  it('reports the Go and PyPI ecosystems instead of guessing, and skips the record whose versions is null', () => {
    const feed = parseOsvRecords(records(shared, ['GO-2024-2963.json', 'GHSA-9v2f-6vcg-3hgv.json', 'CVE-2012-2812.json']), { feed: 'osv' });
    expect(feed.affected.filter((record) => record.vulnerability !== 'CVE-2012-2812')).toEqual([]);
    const fields = feed.warnings.map((warning) => `${warning.record} ${warning.field}`);
    expect(fields).toContain('GO-2024-2963 affected[0].package.ecosystem');
    expect(fields).toContain('GHSA-9v2f-6vcg-3hgv affected[0].package.ecosystem');
    expect(fields.filter((field) => field.startsWith('CVE-2012-2812'))).toEqual(expect.arrayContaining([expect.stringMatching(/^CVE-2012-2812 affected\[\d+\]\.versions$/)]));
    expect(feed.warnings.find((warning) => warning.record === 'GO-2024-2963')!.message).toContain('"Go"');
  });

  it('maps Debian:7 to debian:7 and keeps the DSA id with its CVE alias', () => {
    const feed = parseOsvRecords(records(shared, ['DSA-3029-1.json']), { feed: 'osv' });
    expect(feed.affected.map((record) => [record.ecosystem, record.package, record.vulnerability])).toEqual([['debian:7', 'nginx', 'DSA-3029-1']]);
    expect(feed.affected[0]!.aliases[0]).toMatch(/^CVE-/);
  });
});

describe('parseOsvRecords on written edge cases', () => {
  it('drops withdrawn records, keeps the last modified of duplicates, reports unknown ecosystems', () => {
    const feed = parseOsvRecords(records(own, readdirSync(own).sort()), { feed: 'osv' });
    expect(feed.affected).toEqual([{ feed: 'osv', ecosystem: 'alpine:3.16', package: 'zlib', vulnerability: 'CVE-2099-1006', aliases: [], status: 'affected', ranges: [{}], versions: [] }]);
    expect(feed.vulnerabilities.map((vuln) => [vuln.id, vuln.summary])).toEqual([
      ['CVE-2099-1006', 'zlib test vulnerability with no fix yet'],
      ['PYSEC-2099-1', undefined],
    ]);
    expect(feed.warnings.map((warning) => `${warning.feed} ${warning.record} ${warning.field}`)).toEqual(['osv PYSEC-2099-1 affected[0].package.ecosystem']);
  });

  it('turns introduced/fixed/last_affected events into ranges', () => {
    const record = {
      id: 'X-1',
      affected: [
        {
          package: { ecosystem: 'Wolfi', name: 'foo' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0-r0' }, { fixed: '1.2-r0' }, { introduced: '2.0-r0' }, { last_affected: '2.1-r3' }, { introduced: '3.0-r0' }] }],
          versions: ['0.9-r1'],
        },
      ],
    };
    const feed = parseOsvRecords([{ record, source: 'inline' }], { feed: 'osv' });
    expect(feed.affected[0]).toMatchObject({ ecosystem: 'wolfi', ranges: [{ introduced: '1.0-r0', fixed: '1.2-r0' }, { introduced: '2.0-r0', lastAffected: '2.1-r3' }, { introduced: '3.0-r0' }], versions: ['0.9-r1'] });
  });
});

describe('parseOsvRecords, as Debian and Alpine write them', () => {
  it('takes the CVE from `upstream`, and reads events listed out of version order as OSV evaluates them', () => {
    const record = {
      id: 'ALPINE-CVE-2099-0001',
      upstream: ['CVE-2099-0001'],
      affected: [{ package: { ecosystem: 'Alpine:v3.18', name: 'zlib' }, ranges: [{ type: 'ECOSYSTEM', events: [{ fixed: '1.3-r0' }, { introduced: '0' }] }] }],
    };
    const feed = parseOsvRecords([{ record, source: 'inline' }], { feed: 'osv' });
    expect(feed.affected[0]).toMatchObject({ vulnerability: 'ALPINE-CVE-2099-0001', aliases: ['CVE-2099-0001'], ranges: [{ fixed: '1.3-r0' }] });
    const reordered = { id: 'X-2', affected: [{ package: { ecosystem: 'Wolfi', name: 'foo' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.0-r0' }, { fixed: '1.2-r0' }, { introduced: '1.0-r0' }, { fixed: '2.5-r0' }] }] }] };
    expect(parseOsvRecords([{ record: reordered, source: 'inline' }], { feed: 'osv' }).affected[0]!.ranges).toEqual([{ introduced: '1.0-r0', fixed: '1.2-r0' }, { introduced: '2.0-r0', fixed: '2.5-r0' }]);
  });
});

describe('OSV zip dumps', () => {
  it('reads every JSON record of a zip, as parseFeedParts does for a dump', () => {
    const zip = makeZip([
      ['CVE-2099-1006.json', readFileSync(join(own, 'CVE-2099-1006.json'), 'utf8')],
      ['PYSEC-2099-1.json', readFileSync(join(own, 'PYSEC-2099-1.json'), 'utf8')],
      ['README.txt', 'not a record'],
    ]);
    expect(readZipEntries(zip, 'all.zip').map((entry) => entry.name)).toEqual(['CVE-2099-1006.json', 'PYSEC-2099-1.json', 'README.txt']);
    const feed = parseFeedParts([{ name: 'all.zip', data: zip }], { feed: 'dump', type: 'osv' });
    expect(feed.affected.map((record) => record.vulnerability)).toEqual(['CVE-2099-1006']);
    expect(feed.warnings.map((warning) => warning.record)).toEqual(['PYSEC-2099-1']);
  });

  it('scores CVSS v2, v3 and v4 severity vectors and warns about one that is not a vector', () => {
    const severity = [
      { type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' },
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
      { type: 'Ubuntu', score: 'high' },
      { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' },
    ];
    const feed = parseOsvRecords([{ record: { id: 'CVE-2099-1201', modified: '2099-01-01T00:00:00Z', severity }, source: 'inline' }], { feed: 'osv' });
    expect(feed.vulnerabilities[0]!.cvss).toEqual([
      { version: '2.0', score: 7.5, vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', source: 'osv' },
      { version: '3.1', score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'osv' },
      { version: '4.0', score: 9.3, vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', source: 'osv' },
    ]);
    expect(feed.warnings.map((warning) => `${warning.field}: ${warning.message}`)).toEqual(['severity[4].score: "CVSS:4.0/AV:N" is not a CVSS v4 vector']);
  });

  it('refuses a damaged zip naming it', () => {
    const zip = makeZip([['a.json', '{}']]);
    expect(() => readZipEntries(zip.subarray(0, zip.length - 30), 'cut.zip')).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID', message: expect.stringContaining('cut.zip') }));
    expect(() => readZipEntries(zip, 'small.zip', 1)).toThrow(/more than the limit/);
    const corrupt = Buffer.from(zip);
    corrupt.writeUInt32LE((corrupt.readUInt32LE(zip.length - 22 - 46 - 6 + 16) ^ 1) >>> 0, zip.length - 22 - 46 - 6 + 16);
    expect(() => readZipEntries(corrupt, 'crc.zip')).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID', message: expect.stringContaining('a.json: cannot inflate') }));
  });
});
