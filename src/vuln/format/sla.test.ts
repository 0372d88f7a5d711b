import { describe, expect, it } from 'vitest';
import { parseAdvisoryFile } from './advisory.ts';
import { slaCsv, slaMarkdown, slaReport } from './sla.ts';

const FILE = `package: curl
advisories:
  - id: CVE-2099-6001
    events:
      - { timestamp: 2099-01-01T00:00:00Z, type: detected }
      - { timestamp: 2099-01-10T12:00:00Z, type: fixed, data: { version: 8.0.1-r1 } }
  - id: CVE-2099-6002
    events:
      - { timestamp: 2099-01-01T00:00:00Z, type: detected }
      - { timestamp: 2099-01-05T00:00:00Z, type: fixed, data: { version: 8.0.1-r0 } }
  - id: CVE-2099-6003
    events:
      - { timestamp: 2099-01-20T00:00:00Z, type: pending-upstream }
  - id: CVE-2099-6004
    events:
      - { timestamp: 2099-01-01T00:00:00Z, type: false-positive, data: { reason: "not curl" } }
`;

describe('slaReport', () => {
  const severities: Record<string, 'CRITICAL' | 'HIGH' | 'UNKNOWN'> = { 'CVE-2099-6001': 'CRITICAL', 'CVE-2099-6002': 'HIGH' };
  const entries = slaReport([{ file: parseAdvisoryFile(FILE, 'curl.yaml', 'curl') }], { now: new Date('2099-02-01T00:00:00Z'), severityOf: (id) => severities[id] ?? 'UNKNOWN' });

  it('measures days open per severity against the default SLA, breaches first; never-affected advisories are left out', () => {
    expect(entries.map((entry) => [entry.id, entry.severity, entry.daysOpen, entry.slaDays, entry.breached, entry.fixedVersion])).toEqual([
      ['CVE-2099-6001', 'CRITICAL', 9, 7, true, '8.0.1-r1'],
      ['CVE-2099-6003', 'UNKNOWN', 12, 30, false, undefined],
      ['CVE-2099-6002', 'HIGH', 4, 14, false, '8.0.1-r0'],
    ]);
  });

  it('writes CSV and Markdown', () => {
    expect(slaCsv(entries).split('\n').slice(0, 2)).toEqual([
      'package,id,severity,detected,fixedVersion,fixedAt,daysOpen,slaDays,breached',
      'curl,CVE-2099-6001,CRITICAL,2099-01-01T00:00:00Z,8.0.1-r1,2099-01-10T12:00:00Z,9,7,true',
    ]);
    expect(slaMarkdown(entries).split('\n')[0]).toBe('3 vulnerabilities, 1 past their SLA.');
    expect(slaMarkdown(entries)).toContain('| curl | CVE-2099-6003 | unknown | 2099-01-20T00:00:00Z | open | 12 | 30 | met |');
  });
});
