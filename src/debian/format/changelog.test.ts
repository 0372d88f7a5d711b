import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChangelog } from './changelog.ts';
import { parseSeries } from './series.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'debian');

describe('debian/changelog', () => {
  it('reads zlib\'s entries newest first, with dates and the CVE ids each names', () => {
    const { entries, problems } = parseChangelog(readFileSync(join(fixtures, 'zlib-changelog-head'), 'utf8'));
    expect(problems).toEqual([]);
    expect(entries[0]).toMatchObject({ source: 'zlib', version: '1:1.2.13.dfsg-1', distributions: 'unstable', timestamp: 1667651086, cves: [] });
    const fix = entries.find((entry) => entry.cves.length > 0)!;
    expect(fix.version).toBe('1:1.2.11.dfsg-4.1');
    expect(fix.cves.map((cve) => cve.id)).toEqual(['CVE-2022-37434']);
    expect(fix.cves[0]!.line).toContain('CVE-2022-37434');
  });

  it('names a trailer whose date does not parse', () => {
    const { entries, problems } = parseChangelog('x (1-1) unstable; urgency=low\n\n  * y\n\n -- A <a@b>  not a date\n');
    expect(entries).toEqual([]);
    expect(problems).toEqual(['line 5: date "not a date" does not parse']);
  });
});

describe('debian/patches/series', () => {
  it('lists patches in order with their strip level, skipping comments and blank lines', () => {
    expect(parseSeries('# comment\nfirst.patch\n\nsecond.diff -p0\nthird.patch # trailing\n')).toEqual([
      { name: 'first.patch', strip: 1 },
      { name: 'second.diff', strip: 0 },
      { name: 'third.patch', strip: 1 },
    ]);
  });
});
