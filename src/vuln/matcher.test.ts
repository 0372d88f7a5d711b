import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDebianAdvisoryList, parseDebianCveList } from './format/debian-tracker.ts';
import type { AffectedRecord } from './format/model.ts';
import { matchPackages, upstreamVersion } from './matcher.ts';

function record(ecosystem: string, pkg: string, vulnerability: string, fields: Partial<AffectedRecord> = {}): AffectedRecord {
  return { feed: 'f', ecosystem, package: pkg, vulnerability, aliases: [], status: 'affected', ranges: [], versions: [], ...fields };
}

describe('matchPackages', () => {
  // [installed version, fixed version, affected?] under apk rules: suffixes _rc < release < _p, -rN revisions.
  it.each([
    ['1.2.12-r3', '1.2.12_rc1-r0', false],
    ['1.2.12_rc1-r0', '1.2.12-r0', true],
    ['1.35.0-r17', '1.35.0_p1-r0', true],
    ['1.35.0_p1-r0', '1.35.0_p1-r0', false],
    ['1.1.1q-r0', '1.1.1q-r1', true],
    ['1.1.1q-r1', '1.1.1q-r0', false],
    ['2.0_alpha1-r0', '2.0-r0', true],
    ['10.0-r0', '9.9-r9', false],
  ])('apk: %s against fixed %s → affected %s', (version, fixed, affected) => {
    const matches = matchPackages({ ecosystem: 'alpine:3.20', packages: [{ name: 'pkg', version }], records: [record('alpine:3.20', 'pkg', 'CVE-2099-1', { ranges: [{ fixed }] })], cpes: [] });
    expect(matches.map((match) => match.fixedVersion)).toEqual(affected ? [fixed] : []);
  });

  // Debian versions compare with dpkg's rules, epochs first.
  it.each([
    ['1:1.2.13.dfsg-1', '1:1.2.13.dfsg-1+deb12u1', true],
    ['1:1.2.13.dfsg-1+deb12u1', '1:1.2.13.dfsg-1+deb12u1', false],
    ['2.0-1', '1:1.0-1', true],
    ['1:1.0-1', '2.0-1', false],
    ['1.0~rc1-1', '1.0-1', true],
  ])('deb: %s against fixed %s → affected %s', (version, fixed, affected) => {
    const matches = matchPackages({ ecosystem: 'debian:12', packages: [{ name: 'zlib1g', version, origin: 'zlib' }], records: [record('debian:12', 'zlib', 'CVE-2099-2', { ranges: [{ fixed }] })], cpes: [] });
    expect(matches.length).toBe(affected ? 1 : 0);
  });

  it('matches subpackages through their origin and never another ecosystem', () => {
    const records = [record('alpine:3.16', 'openssl', 'CVE-2099-1', { ranges: [{ fixed: '3.0.2-r0' }] }), record('alpine:3.17', 'openssl', 'CVE-2099-9', { ranges: [{ fixed: '9-r0' }] })];
    const matches = matchPackages({
      ecosystem: 'alpine:3.16',
      packages: [{ name: 'libssl3', version: '3.0.1-r0', origin: 'openssl' }, { name: 'libcrypto3', version: '3.0.1-r0', origin: 'openssl' }, { name: 'openssl', version: '3.0.2-r0' }],
      records,
      cpes: [],
    });
    expect(matches.map((match) => [match.package, match.origin, match.id, match.fixedVersion])).toEqual([
      ['libcrypto3', 'openssl', 'CVE-2099-1', '3.0.2-r0'],
      ['libssl3', 'openssl', 'CVE-2099-1', '3.0.2-r0'],
    ]);
  });

  it('introduced, last_affected and explicit versions bound the affected range; the fix leaves every range that matches', () => {
    const records = [
      record('wolfi', 'foo', 'CVE-2099-3', { ranges: [{ introduced: '2.0-r0', lastAffected: '2.1-r3' }] }),
      record('wolfi', 'foo', 'CVE-2099-4', { versions: ['1.5-r0'] }),
      record('wolfi', 'foo', 'CVE-2099-5', { ranges: [{ fixed: '3.0-r0' }] }),
      record('wolfi', 'foo', 'CVE-2099-5', { feed: 'g', ranges: [{ fixed: '2.5-r0' }] }),
    ];
    const at = (version: string) => matchPackages({ ecosystem: 'wolfi', packages: [{ name: 'foo', version }], records, cpes: [] }).map((match) => `${match.id}:${match.fixedVersion ?? 'none'}:${match.feeds.join('+')}`);
    expect(at('1.5-r0')).toEqual(['CVE-2099-4:none:f', 'CVE-2099-5:3.0-r0:f+g']);
    expect(at('2.1-r3')).toEqual(['CVE-2099-3:none:f', 'CVE-2099-5:3.0-r0:f+g']);
    expect(at('2.1-r4')).toEqual(['CVE-2099-5:3.0-r0:f+g']);
    expect(at('2.7-r0')).toEqual(['CVE-2099-5:3.0-r0:f']);
  });

  // Several feeds (or ranges) that hit: a fix below another range's fix is still inside that range.
  it.each([
    ['apk: the highest fix, in apk order', 'alpine:3.20', '1.2.12-r0', [{ fixed: '1.2.12-r9' }, { fixed: '1.2.12_rc1-r0' }, { fixed: '1.2.12-r10' }], '1.2.12-r10'],
    ['deb: the highest fix, in Debian order (epoch, ~)', 'debian:12', '1.0-1', [{ fixed: '2.0-1' }, { fixed: '1:0.9~rc1-1' }, { fixed: '1:0.9-1' }], '1:0.9-1'],
    ['a range without a fix means no fix', 'alpine:3.20', '1.0-r0', [{ fixed: '1.1-r0' }, { introduced: '0.5-r0' }], undefined],
    ['a last affected version means no fix', 'alpine:3.20', '1.0-r0', [{ fixed: '1.1-r0' }, { lastAffected: '1.0-r0' }], undefined],
    ['a range that does not match does not count', 'alpine:3.20', '1.0-r0', [{ fixed: '1.1-r0' }, { introduced: '2.0-r0' }, { introduced: '2.0-r0', fixed: '2.5-r0' }], '1.1-r0'],
  ])('fixed version: %s', (_title, ecosystem, version, ranges, fixedVersion) => {
    const records = ranges.map((range, index) => record(ecosystem, 'pkg', 'CVE-2099-20', { feed: `feed${index}`, ranges: [range] }));
    const [match] = matchPackages({ ecosystem, packages: [{ name: 'pkg', version }], records, cpes: [] });
    expect(match?.fixedVersion).toBe(fixedVersion);
  });

  it('fixed version: a version listed one by one gives no fix; NVD ranges follow the same rule', () => {
    const records = [record('wolfi', 'foo', 'CVE-2099-21', { ranges: [{ fixed: '2.0-r0' }] }), record('wolfi', 'foo', 'CVE-2099-21', { feed: 'g', versions: ['1.0-r0'] })];
    const cpes = [
      { cve: 'CVE-2099-22', vendor: 'foo', product: 'foo', endExcluding: '1.2' },
      { cve: 'CVE-2099-22', vendor: 'foo', product: 'foo', startIncluding: '0.9', endExcluding: '1.5' },
      { cve: 'CVE-2099-23', vendor: 'foo', product: 'foo', endExcluding: '1.2' },
      { cve: 'CVE-2099-23', vendor: 'foo', product: 'foo', endIncluding: '1.0' },
    ];
    const matches = matchPackages({ ecosystem: 'wolfi', packages: [{ name: 'foo', version: '1.0-r0' }], records, cpes });
    expect(matches.map((match) => [match.id, match.fixedVersion])).toEqual([
      ['CVE-2099-21', undefined],
      ['CVE-2099-22', '1.5'],
      ['CVE-2099-23', undefined],
    ]);
  });

  it('a not-affected statement suppresses the match (kept with its reason) and an alias groups ids', () => {
    const records = [
      record('alpine:3.16', 'busybox', 'ALPINE-1', { aliases: ['CVE-2099-10006'], ranges: [{ fixed: '9-r0' }] }),
      record('alpine:3.16', 'busybox', 'CVE-2099-10006', { status: 'not-affected', note: 'vulnerable code not present' }),
    ];
    const matches = matchPackages({ ecosystem: 'alpine:3.16', packages: [{ name: 'busybox', version: '1.0-r0' }], records, cpes: [] });
    expect(matches).toEqual([
      { package: 'busybox', version: '1.0-r0', origin: 'busybox', ecosystem: 'alpine:3.16', id: 'CVE-2099-10006', aliases: ['ALPINE-1'], matchedBy: 'distro', feeds: ['f'], suppressed: 'vulnerable code not present', notes: ['vulnerable code not present'] },
    ]);
  });

  it('an NVD range counts only for CVEs no distro record of the package mentions', () => {
    const cpes = [
      { cve: 'CVE-2099-7', vendor: 'busybox', product: 'busybox', endExcluding: '1.36.0' },
      { cve: 'CVE-2099-8', vendor: 'busybox', product: 'busybox', endExcluding: '1.36.0' },
      { cve: 'CVE-2099-9', vendor: 'busybox', product: 'busybox', startIncluding: '1.36.0' },
      { cve: 'CVE-2099-10', vendor: 'busybox', product: 'busybox' },
      { cve: 'CVE-2099-11', vendor: 'busybox', product: 'busybox', version: '1.35.0' },
    ];
    const records = [record('alpine:3.16', 'busybox', 'CVE-2099-7', { ranges: [{ fixed: '1.35.0-r10' }] })];
    const matches = matchPackages({ ecosystem: 'alpine:3.16', packages: [{ name: 'busybox', version: '1.35.0-r17' }], records, cpes });
    expect(matches.map((match) => [match.id, match.matchedBy, match.fixedVersion])).toEqual([
      ['CVE-2099-11', 'nvd', undefined],
      ['CVE-2099-8', 'nvd', '1.36.0'],
    ]);
  });

  it('with an unknown distribution only NVD ranges can match', () => {
    const matches = matchPackages({
      packages: [{ name: 'zlib', version: '1.2.11-r0' }],
      records: [record('alpine:3.16', 'zlib', 'CVE-2099-12', { ranges: [{ fixed: '2-r0' }] })],
      cpes: [{ cve: 'CVE-2099-13', vendor: 'zlib', product: 'zlib', endIncluding: '1.2.11' }],
    });
    expect(matches.map((match) => match.id)).toEqual(['CVE-2099-13']);
  });

  describe('Debian: a release without a tracker line of its own is compared with unstable', () => {
    // Written for this test: one stanza per case, with and without a line for bookworm (debian:12).
    const list = [
      'CVE-2099-4001 (unstable fixed; bookworm has no line)',
      '\t- zlib 1:1.3.dfsg-2',
      'CVE-2099-4002 (unstable open; bookworm has no line)',
      '\t- zlib <unfixed> (bug #999003)',
      'CVE-2099-4003 (unstable not affected; bookworm has no line)',
      '\t- zlib <not-affected> (vulnerable code introduced later)',
      'CVE-2099-4004 (bookworm not affected, unstable fixed)',
      '\t- zlib 1:1.3.dfsg-2',
      '\t[bookworm] - zlib <not-affected> (vulnerable code not present)',
      'CVE-2099-4005 (bookworm <no-dsa>, unstable fixed)',
      '\t- zlib 1:1.3.dfsg-2',
      '\t[bookworm] - zlib <no-dsa> (Minor issue)',
      'CVE-2099-4006 (bookworm <ignored>, unstable fixed)',
      '\t- zlib 1:1.3.dfsg-2',
      '\t[bookworm] - zlib <ignored> (Minor issue)',
      'CVE-2099-4007 (bookworm <postponed>, unstable fixed)',
      '\t- zlib 1:1.3.dfsg-2',
      '\t[bookworm] - zlib <postponed> (Revisit when fixed upstream)',
      'CVE-2099-4008 (bookworm fixed in a point release, unstable later)',
      '\t- zlib 1:1.3.dfsg-3',
      '\t[bookworm] - zlib 1:1.2.13.dfsg-1+deb12u1',
      'CVE-2099-4009 (package removed from unstable; bookworm has no line)',
      '\t- zlib <removed>',
      '',
    ].join('\n');
    const records = parseDebianCveList(list, { feed: 'debian' }).affected;
    const scan = (ecosystem: string, version: string) =>
      matchPackages({ ecosystem, packages: [{ name: 'zlib1g', version, origin: 'zlib' }], records, cpes: [] }).map((match) => `${match.id} ${match.suppressed ? `suppressed: ${match.suppressed}` : `fixed: ${match.fixedVersion ?? 'none'}`}`);

    it('inherits unstable for the CVEs bookworm has no line for, and keeps bookworm\'s own verdicts', () => {
      expect(scan('debian:12', '1:1.2.13.dfsg-1')).toEqual([
        'CVE-2099-4001 fixed: 1:1.3.dfsg-2',
        'CVE-2099-4002 fixed: none',
        'CVE-2099-4003 suppressed: vulnerable code introduced later',
        'CVE-2099-4004 suppressed: vulnerable code not present',
        'CVE-2099-4005 fixed: none',
        'CVE-2099-4006 fixed: none',
        'CVE-2099-4007 fixed: none',
        'CVE-2099-4008 fixed: 1:1.2.13.dfsg-1+deb12u1',
        'CVE-2099-4009 fixed: none',
      ]);
      const [inherited] = matchPackages({ ecosystem: 'debian:12', packages: [{ name: 'zlib1g', version: '1:1.2.13.dfsg-1', origin: 'zlib' }], records, cpes: [] });
      expect(inherited!.notes).toEqual(["no debian:12 line in the Debian tracker: unstable's applies"]);
    });

    it('a version at or above the unstable fix is not affected where the release inherits it', () => {
      expect(scan('debian:12', '1:1.3.dfsg-2').filter((line) => !line.includes('suppressed'))).toEqual(['CVE-2099-4002 fixed: none', 'CVE-2099-4005 fixed: none', 'CVE-2099-4006 fixed: none', 'CVE-2099-4007 fixed: none', 'CVE-2099-4009 fixed: none']);
    });

    it('unstable itself and other distributions are not affected by the rule', () => {
      expect(scan('debian:sid', '1:1.2.13.dfsg-1').filter((line) => line.startsWith('CVE-2099-4008'))).toEqual(['CVE-2099-4008 fixed: 1:1.3.dfsg-3']);
      expect(matchPackages({ ecosystem: 'alpine:3.20', packages: [{ name: 'zlib', version: '1.2.13-r0' }], records, cpes: [] })).toEqual([]);
    });

    it('a release line from another feed (the real DSA list) is the release\'s own line', () => {
      const dsa = parseDebianAdvisoryList(readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'vuln', 'debian-tracker', 'DSA-list-excerpt'), 'utf8'), { feed: 'dsa' }).affected;
      // Written: an unstable line for the CVE DSA-5365-1 fixes in bullseye.
      const sid = parseDebianCveList('CVE-2023-23916 (written for this test)\n\t- curl 7.88.1-1\n', { feed: 'debian' }).affected;
      const curl = (ecosystem: string) => matchPackages({ ecosystem, packages: [{ name: 'libcurl4', version: '7.74.0-1.3+deb11u3', origin: 'curl' }], records: [...dsa, ...sid], cpes: [] }).find((match) => match.id === 'CVE-2023-23916');
      expect([curl('debian:11')?.fixedVersion, curl('debian:11')?.feeds]).toEqual(['7.74.0-1.3+deb11u7', ['dsa']]);
      expect([curl('debian:12')?.fixedVersion, curl('debian:12')?.feeds]).toEqual(['7.88.1-1', ['debian']]);
    });
  });

  it('strips distribution revisions to get the upstream version', () => {
    expect(upstreamVersion('1.2.3-r4', 'apk')).toBe('1.2.3');
    expect(upstreamVersion('1:1.2.13.dfsg-1+deb12u1', 'deb')).toBe('1.2.13.dfsg');
    expect(upstreamVersion('7.74.0-1.3+deb11u7', 'deb')).toBe('7.74.0');
  });
});
