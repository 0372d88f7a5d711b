import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDebianAdvisoryList, parseDebianCveList } from './debian-tracker.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const tracker = join(root, '..', 'shared', 'fixtures', 'vuln', 'debian-tracker');

describe('parseDebianCveList', () => {
  const feed = parseDebianCveList(readFileSync(join(root, 'test', 'fixtures', 'vuln', 'debian-cve-list'), 'utf8'), { feed: 'debian', source: 'list' });

  it('reads fixed versions, tags and reasons per release; unstable is sid', () => {
    expect(feed.affected.map((record) => [record.vulnerability, record.ecosystem, record.package, record.status, record.ranges, record.note])).toEqual([
      ['CVE-2099-2001', 'debian:sid', 'zlib', 'affected', [{ fixed: '1:1.3.dfsg-2' }], 'bug #999001'],
      ['CVE-2099-2001', 'debian:12', 'zlib', 'affected', [{ fixed: '1:1.2.13.dfsg-1+deb12u1' }], undefined],
      ['CVE-2099-2001', 'debian:11', 'zlib', 'affected', [{}], 'no-dsa: Minor issue'],
      ['CVE-2099-2001', 'debian:10', 'zlib', 'not-affected', [], 'Vulnerable code not present'],
      ['CVE-2099-2003', 'debian:sid', 'openssl', 'affected', [{}], 'unfixed: bug #999002'],
      ['CVE-2099-2003', 'debian:12', 'openssl', 'affected', [{}], 'ignored: Minor issue, revisit when fixed upstream'],
    ]);
    expect(feed.vulnerabilities.map((vuln) => vuln.id)).toEqual(['CVE-2099-2001', 'CVE-2099-2003', 'CVE-2099-2004']);
  });

  it('warns about an unknown release and a line that is not a package line, naming file:line', () => {
    expect(feed.warnings.map((warning) => `${warning.record} ${warning.field}`)).toEqual(['CVE-2099-2003 list:12', 'CVE-2099-2003 list:13']);
  });
});

describe('parseDebianCveList headers', () => {
  it('reads a stanza whose description the tracker team wrote in [brackets]', () => {
    const feed = parseDebianCveList('CVE-2099-3001 [zlib: overflow in inflate]\n\t- zlib 1:1.3.dfsg-3\n', { feed: 'debian', source: 'list' });
    expect(feed.warnings).toEqual([]);
    expect(feed.affected.map((record) => [record.vulnerability, record.package, record.ranges])).toEqual([['CVE-2099-3001', 'zlib', [{ fixed: '1:1.3.dfsg-3' }]]]);
    expect(feed.vulnerabilities).toEqual([{ id: 'CVE-2099-3001', aliases: [], summary: 'zlib: overflow in inflate', cvss: [] }]);
  });
});

describe('parseDebianAdvisoryList on the real DSA and DLA excerpts', () => {
  it('gives each CVE of an advisory the fixed version per release, with the advisory as alias', () => {
    const feed = parseDebianAdvisoryList(readFileSync(join(tracker, 'DSA-list-excerpt'), 'utf8'), { feed: 'dsa' });
    const curl = feed.affected.filter((record) => record.vulnerability === 'CVE-2023-23916');
    expect(curl).toEqual([{ feed: 'dsa', ecosystem: 'debian:11', package: 'curl', vulnerability: 'CVE-2023-23916', aliases: ['DSA-5365-1'], status: 'affected', ranges: [{ fixed: '7.74.0-1.3+deb11u7' }], versions: [] }]);
    const openssl = feed.affected.filter((record) => record.aliases.includes('DSA-5169-1'));
    expect(openssl.map((record) => [record.ecosystem, record.ranges[0]?.fixed])).toEqual([
      ['debian:10', '1.1.1n-0+deb10u3'],
      ['debian:11', '1.1.1n-0+deb11u3'],
    ]);
    expect(feed.warnings).toEqual([]);
  });

  it('reads the DLA list too', () => {
    const feed = parseDebianAdvisoryList(readFileSync(join(tracker, 'DLA-list-excerpt'), 'utf8'), { feed: 'dla' });
    expect(feed.affected.length).toBeGreaterThan(100);
    expect(feed.affected.every((record) => record.aliases.every((alias) => alias.startsWith('DLA-')))).toBe(true);
  });
});
