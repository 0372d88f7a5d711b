import { describe, expect, it } from 'vitest';
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

  it('introduced, last_affected and explicit versions bound the affected range; the lowest fix above wins', () => {
    const records = [
      record('wolfi', 'foo', 'CVE-2099-3', { ranges: [{ introduced: '2.0-r0', lastAffected: '2.1-r3' }] }),
      record('wolfi', 'foo', 'CVE-2099-4', { versions: ['1.5-r0'] }),
      record('wolfi', 'foo', 'CVE-2099-5', { ranges: [{ fixed: '3.0-r0' }] }),
      record('wolfi', 'foo', 'CVE-2099-5', { feed: 'g', ranges: [{ fixed: '2.5-r0' }] }),
    ];
    const at = (version: string) => matchPackages({ ecosystem: 'wolfi', packages: [{ name: 'foo', version }], records, cpes: [] }).map((match) => `${match.id}:${match.fixedVersion ?? 'none'}:${match.feeds.join('+')}`);
    expect(at('1.5-r0')).toEqual(['CVE-2099-4:none:f', 'CVE-2099-5:2.5-r0:f+g']);
    expect(at('2.1-r3')).toEqual(['CVE-2099-3:none:f', 'CVE-2099-5:2.5-r0:f+g']);
    expect(at('2.1-r4')).toEqual(['CVE-2099-5:2.5-r0:f+g']);
    expect(at('2.7-r0')).toEqual(['CVE-2099-5:3.0-r0:f']);
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

  it('strips distribution revisions to get the upstream version', () => {
    expect(upstreamVersion('1.2.3-r4', 'apk')).toBe('1.2.3');
    expect(upstreamVersion('1:1.2.13.dfsg-1+deb12u1', 'deb')).toBe('1.2.13.dfsg');
    expect(upstreamVersion('7.74.0-1.3+deb11u7', 'deb')).toBe('7.74.0');
  });
});
