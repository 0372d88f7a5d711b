import { describe, expect, it } from 'vitest';
import { compareDebianVersions, parseChangelog } from '../../debian/index.ts';
import { parseAdvisoryFile } from './advisory.ts';
import type { AdvisoryFile } from './advisory.ts';
import { addAdvisoryEvent, applyChangelogFixes, changelogFixes, stringifyAdvisoryFile } from './advisory-edit.ts';

// Written for this test in debian/changelog's layout: 1.2-2 is newer than what was built (1.2-1+deb12u1).
const CHANGELOG = `zz (1.2-2) unstable; urgency=medium

  * Fix CVE-2099-0003.

 -- A Maintainer <a@example.org>  Tue, 03 Mar 2099 10:00:00 +0000

zz (1.2-1+deb12u1) bookworm-security; urgency=high

  * Backport the fix for CVE-2099-0002 (buffer overflow).
  * Mention CVE-2099-0001 again.

 -- A Maintainer <a@example.org>  Mon, 02 Feb 2099 10:00:00 +0000

zz (1.1-1) unstable; urgency=low

  * New upstream release, fixes CVE-2099-0001.

 -- A Maintainer <a@example.org>  Sun, 01 Jan 2099 10:00:00 +0000
`;

const fixes = changelogFixes(parseChangelog(CHANGELOG).entries, '1.2-1+deb12u1', compareDebianVersions);

describe('changelogFixes', () => {
  it('takes the CVEs of entries at or below the built version, each from the oldest entry naming it', () => {
    expect(fixes).toEqual([
      { id: 'CVE-2099-0001', debianVersion: '1.1-1', source: 'zz', line: '* New upstream release, fixes CVE-2099-0001.', timestamp: '2099-01-01T10:00:00Z' },
      { id: 'CVE-2099-0002', debianVersion: '1.2-1+deb12u1', source: 'zz', line: '* Backport the fix for CVE-2099-0002 (buffer overflow).', timestamp: '2099-02-02T10:00:00Z' },
    ]);
  });
});

describe('applyChangelogFixes', () => {
  it('adds fixed events once, keeps a not-affected statement, and the text round-trips through the schema', () => {
    const start: AdvisoryFile = { package: 'zz', advisories: [{ id: 'CVE-2099-0002', events: [{ timestamp: '2099-03-01T00:00:00Z', type: 'not-affected', data: { justification: 'component_not_present' } }] }] };
    const { file, added } = applyChangelogFixes(start, 'zz', '1.2-r0', fixes, 'zz.yaml');
    expect(added).toEqual(['CVE-2099-0001']);
    expect(file.advisories.map((advisory) => [advisory.id, advisory.events.map((event) => event.type)])).toEqual([
      ['CVE-2099-0001', ['fixed']],
      ['CVE-2099-0002', ['not-affected']],
    ]);
    expect(file.advisories[0]!.events[0]).toEqual({ timestamp: '2099-01-01T10:00:00Z', type: 'fixed', data: { version: '1.2-r0', evidence: 'debian/changelog zz 1.1-1: * New upstream release, fixes CVE-2099-0001.' } });
    expect(applyChangelogFixes(file, 'zz', '1.2-r0', fixes, 'zz.yaml').added).toEqual([]);
    expect(applyChangelogFixes(file, 'zz', '1.3-r0', fixes, 'zz.yaml').added).toEqual([]);
    expect(parseAdvisoryFile(stringifyAdvisoryFile(file), 'zz.yaml', 'zz')).toEqual(file);
  });

  it('a fix recorded at a later version than the build is superseded by the earlier build', () => {
    const later: AdvisoryFile = { package: 'zz', advisories: [{ id: 'CVE-2099-0001', events: [{ timestamp: '2099-05-01T00:00:00Z', type: 'fixed', data: { version: '2.0-r0' } }] }] };
    const { file, added } = applyChangelogFixes(later, 'zz', '1.2-r0', fixes.slice(0, 1), 'zz.yaml');
    expect(added).toEqual(['CVE-2099-0001']);
    expect(file.advisories[0]!.events.at(-1)).toMatchObject({ timestamp: '2099-05-01T00:00:00Z', data: { version: '1.2-r0' } });
  });
});

describe('addAdvisoryEvent', () => {
  const detected = { timestamp: '2099-01-01T00:00:00Z', type: 'detected' as const };
  it('creates, updates, and refuses what the mode or the schema forbids', () => {
    const created = addAdvisoryEvent(undefined, 'zz', 'CVE-2099-0009', detected, { mode: 'create', aliases: ['GHSA-aaaa-bbbb-cccc'], where: 'zz.yaml' });
    expect(created).toEqual({ package: 'zz', advisories: [{ id: 'CVE-2099-0009', aliases: ['GHSA-aaaa-bbbb-cccc'], events: [detected] }] });
    expect(() => addAdvisoryEvent(created, 'zz', 'CVE-2099-0009', detected, { mode: 'create', where: 'zz.yaml' })).toThrow('zz.yaml: CVE-2099-0009 already has an advisory (use kiln advisory update)');
    expect(() => addAdvisoryEvent(created, 'zz', 'CVE-2099-0010', detected, { mode: 'update', where: 'zz.yaml' })).toThrow('zz.yaml: zz has no advisory for CVE-2099-0010 (use kiln advisory create)');
    expect(() => addAdvisoryEvent(created, 'zz', 'CVE-2099-0009', { ...detected, timestamp: '2098-01-01T00:00:00Z' }, { mode: 'update', where: 'zz.yaml' })).toThrow(
      'zz.yaml: advisories[0].events[1].timestamp: earlier than the event before it (2099-01-01T00:00:00Z); events are oldest first',
    );
    expect(() => addAdvisoryEvent(created, 'zz', 'CVE-2099-0009', { timestamp: '2099-02-01T00:00:00Z', type: 'fixed', data: { version: 'not a version' } }, { mode: 'update', where: 'zz.yaml' })).toThrow(
      'zz.yaml: advisories[0].events[1].data.version: not an apk version',
    );
    expect(() => addAdvisoryEvent(created, 'zz', 'not-an-id', detected, { mode: 'create', where: 'zz.yaml' })).toThrow(/zz\.yaml: advisories\[1\]\.id: a vulnerability id/);
  });
});
