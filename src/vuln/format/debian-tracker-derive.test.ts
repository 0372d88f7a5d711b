import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../../debian/index.ts';
import { parseAdvisoryFile } from './advisory.ts';
import { stringifyAdvisoryFile } from './advisory-edit.ts';
import { applyTrackerStatements, justificationOfTrackerNote, trackerStatements } from './debian-tracker-derive.ts';
import type { TrackerSource } from './debian-tracker-derive.ts';

// Advisory events from Debian's security tracker: the real DSA/DLA list excerpts (2023-04-02) and the
// project's written data/CVE/list excerpt (the shared fixtures have no real one).

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'vuln');
const dsa = trackerStatements(readFileSync(join(fixtures, 'debian-tracker', 'DSA-list-excerpt'), 'utf8'), 'data/DSA/list');
const dla = trackerStatements(readFileSync(join(fixtures, 'debian-tracker', 'DLA-list-excerpt'), 'utf8'), 'data/DLA/list');
const cveList = trackerStatements(readFileSync(join(fixtures, 'debian-cve-list'), 'utf8'), 'data/CVE/list');
const NOW = '2099-03-01T00:00:00Z';
const options = (release: string) => ({ release, compareDebian: compareDebianVersions, now: NOW, where: 'advisories/x.yaml' });

describe('trackerStatements', () => {
  it('reads every release line of the real DSA and DLA lists with its file:line and the advisory date', () => {
    expect(dsa.warnings).toEqual([]);
    const curl = dsa.statements.find((statement) => statement.record.vulnerability === 'CVE-2023-23916')!;
    expect(curl).toEqual({
      record: expect.objectContaining({ ecosystem: 'debian:11', package: 'curl', aliases: ['DSA-5365-1'], ranges: [{ fixed: '7.74.0-1.3+deb11u7' }] }),
      evidence: 'Debian security tracker data/DSA/list:3: [bullseye] - curl 7.74.0-1.3+deb11u7',
      date: '2023-02-27T00:00:00Z',
    });
    expect(dla.statements.length).toBeGreaterThan(150);
    expect(dla.statements.every((statement) => /^Debian security tracker data\/DLA\/list:\d+: \[/.test(statement.evidence))).toBe(true);
  });

  it('maps only the tracker reasons that state a justification', () => {
    expect(justificationOfTrackerNote('vulnerable code introduced later')).toBe('vulnerable_code_not_present');
    expect(justificationOfTrackerNote('Vulnerable code not present')).toBe('vulnerable_code_not_present');
    expect(justificationOfTrackerNote('fixed in version 0 (never affected)')).toBe('vulnerable_code_not_present');
    expect(justificationOfTrackerNote('TLS support not built')).toBe('vulnerable_code_not_in_execute_path');
    expect(justificationOfTrackerNote('Minor issue')).toBeUndefined();
    expect(justificationOfTrackerNote(undefined)).toBeUndefined();
  });
});

describe('applyTrackerStatements', () => {
  it('gives fixed events at the built version for DSA fixes at or below the Debian version built, with the tracker line as evidence', () => {
    const curl: TrackerSource = { name: 'curl', version: '7.74.0-r5', debianPackage: 'curl', debianVersion: '7.74.0-1.3+deb11u7' };
    const result = applyTrackerStatements(undefined, curl, [...dsa.statements, ...dla.statements], options('bullseye'));
    const fixed = result.added.map((entry) => entry.id);
    // DSA-5365-1 (deb11u7) and DSA-5330-1 (deb11u5) are at or below the build; nothing above it exists.
    expect(fixed).toEqual(expect.arrayContaining(['CVE-2023-23916', 'CVE-2022-32221', 'CVE-2022-43552']));
    expect(result.skipped).toEqual([]);
    const advisory = result.file.advisories.find((entry) => entry.id === 'CVE-2023-23916')!;
    expect(advisory).toEqual({ id: 'CVE-2023-23916', aliases: ['DSA-5365-1'], events: [{ timestamp: '2023-02-27T00:00:00Z', type: 'fixed', data: { version: '7.74.0-r5', evidence: 'Debian security tracker data/DSA/list:3: [bullseye] - curl 7.74.0-1.3+deb11u7' } }] });
    // A build older than DSA-5365-1 does not get it, and says why.
    const older = applyTrackerStatements(undefined, { ...curl, debianVersion: '7.74.0-1.3+deb11u5' }, dsa.statements, options('bullseye'));
    expect(older.added.map((entry) => entry.id)).not.toContain('CVE-2023-23916');
    expect(older.skipped).toContainEqual({ id: 'CVE-2023-23916', reason: 'fixed in Debian 7.74.0-1.3+deb11u7, above the 7.74.0-1.3+deb11u5 built' });
  });

  it('turns <not-affected> with a stated reason into not-affected events (the real woody zlib lines)', () => {
    const zlib: TrackerSource = { name: 'zlib', version: '1.1.4-r0', debianPackage: 'zlib', debianVersion: '1:1.1.4-1.0woody0' };
    const result = applyTrackerStatements(undefined, zlib, dsa.statements, options('woody'));
    const event = (id: string) => result.file.advisories.find((entry) => entry.id === id)?.events;
    expect(event('CVE-2005-1849')).toEqual([{ timestamp: '2005-07-20T00:00:00Z', type: 'not-affected', data: { justification: 'vulnerable_code_not_present', impact: 'Debian security tracker data/DSA/list:606: [woody] - zlib <not-affected> (vulnerable code introduced later)' } }]);
    expect(event('CVE-2005-2096')![0]).toMatchObject({ type: 'not-affected', data: { justification: 'vulnerable_code_not_present' } });
  });

  it('Kiln OS builds from bookworm: the 2023-04 DSA list has no bookworm line, so nothing is derived from it', () => {
    const sources: TrackerSource[] = [
      { name: 'openssl', version: '3.0.20-r0', debianPackage: 'openssl', debianVersion: '3.0.20-1~deb12u2' },
      { name: 'curl', version: '7.88.1-r0', debianPackage: 'curl', debianVersion: '7.88.1-10+deb12u15' },
      { name: 'zlib', version: '1.2.13-r0', debianPackage: 'zlib', debianVersion: '1:1.2.13.dfsg-1' },
    ];
    for (const source of sources) expect(applyTrackerStatements(undefined, source, [...dsa.statements, ...dla.statements], options('bookworm')).added).toEqual([]);
  });

  it('data/CVE/list: the release line decides, else the unstable line; undeterminable not-affected reasons are skipped', () => {
    expect(cveList.warnings.map((warning) => warning.field)).toEqual(['data/CVE/list:12', 'data/CVE/list:13']);
    const zlib = (debianVersion: string): TrackerSource => ({ name: 'zlib', version: '1.2.13-r1', debianPackage: 'zlib', debianVersion });
    expect(applyTrackerStatements(undefined, zlib('1:1.2.13.dfsg-1'), cveList.statements, options('bookworm')).skipped).toEqual([{ id: 'CVE-2099-2001', reason: 'fixed in Debian 1:1.2.13.dfsg-1+deb12u1, above the 1:1.2.13.dfsg-1 built' }]);
    const fixed = applyTrackerStatements(undefined, zlib('1:1.2.13.dfsg-1+deb12u1'), cveList.statements, options('bookworm'));
    expect(fixed.file.advisories).toEqual([{ id: 'CVE-2099-2001', events: [{ timestamp: NOW, type: 'fixed', data: { version: '1.2.13-r1', evidence: 'Debian security tracker data/CVE/list:3: [bookworm] - zlib 1:1.2.13.dfsg-1+deb12u1' } }] }]);
    // trixie has no line of its own: the unstable fix (1:1.3.dfsg-2) decides.
    expect(applyTrackerStatements(undefined, zlib('1:1.2.13.dfsg-1+deb12u1'), cveList.statements, options('trixie')).skipped).toEqual([{ id: 'CVE-2099-2001', reason: 'fixed in Debian 1:1.3.dfsg-2, above the 1:1.2.13.dfsg-1+deb12u1 built' }]);
    const buster = applyTrackerStatements(undefined, zlib('1:1.2.11.dfsg-1'), cveList.statements, options('buster'));
    expect(buster.added).toEqual([{ id: 'CVE-2099-2001', type: 'not-affected' }]);
    // <no-dsa> in bullseye: still open in Debian, nothing proven.
    expect(applyTrackerStatements(undefined, zlib('1:1.2.11.dfsg-2'), cveList.statements, options('bullseye'))).toEqual({ file: { package: 'zlib', advisories: [] }, added: [], skipped: [] });
  });

  it('is idempotent, and leaves an advisory the changelog already fixed alone', () => {
    const curl: TrackerSource = { name: 'curl', version: '7.74.0-r5', debianPackage: 'curl', debianVersion: '7.74.0-1.3+deb11u7' };
    const first = applyTrackerStatements(undefined, curl, dsa.statements, options('bullseye'));
    const text = stringifyAdvisoryFile(first.file);
    const second = applyTrackerStatements(parseAdvisoryFile(text, 'curl.yaml', 'curl'), curl, dsa.statements, options('bullseye'));
    expect(second.added).toEqual([]);
    expect(stringifyAdvisoryFile(second.file)).toBe(text);
    const changelogFixed = parseAdvisoryFile(
      'package: curl\nadvisories:\n  - id: CVE-2023-23916\n    events:\n      - { timestamp: 2023-02-20T00:00:00Z, type: fixed, data: { version: 7.74.0-r5, evidence: "debian/changelog curl" } }\n',
      'curl.yaml',
      'curl',
    );
    const kept = applyTrackerStatements(changelogFixed, curl, dsa.statements, options('bullseye'));
    expect(kept.added.map((entry) => entry.id)).not.toContain('CVE-2023-23916');
    expect(kept.file.advisories.find((entry) => entry.id === 'CVE-2023-23916')!.events).toHaveLength(1);
  });
});
