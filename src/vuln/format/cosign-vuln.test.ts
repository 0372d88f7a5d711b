import { describe, expect, it } from 'vitest';
import type { ScanReport } from '../scan.ts';
import { checkVulnerabilityBounds, cosignVulnPredicate } from './cosign-vuln.ts';

const finding = (id: string, severity: string) => ({ id, severity, package: 'zz', version: '1-r0', origin: 'zz', aliases: [], matchedBy: 'distro', feeds: ['f'], notes: [] });
// Two platforms that share one critical CVE: it counts once.
const reports = [
  { target: 't', kind: 'registry', packages: 1, findings: [finding('CVE-2099-1', 'CRITICAL'), finding('CVE-2099-2', 'HIGH')], suppressed: [], warnings: [], feeds: [{ name: 'b', updatedAt: '2099-01-02T00:00:00Z', records: 1 }, { name: 'a', updatedAt: '2099-01-01T00:00:00Z', records: 1 }] },
  { target: 't', kind: 'registry', packages: 1, findings: [finding('CVE-2099-1', 'CRITICAL')], suppressed: [], warnings: [], feeds: [] },
] as unknown as ScanReport[];
const predicate = cosignVulnPredicate(reports, { scanner: { name: 'kiln', version: '0.1.0' }, startedOn: new Date('2099-02-01T00:00:00Z'), finishedOn: new Date('2099-02-01T00:00:01Z'), parameters: ['scan', 't'] });
const now = new Date('2099-02-02T00:00:00Z');

describe('cosign vuln predicate', () => {
  it('has cosign’s fields, the feeds as the db version and the reports as the result', () => {
    expect(predicate).toEqual({
      invocation: { parameters: ['scan', 't'], uri: '', event_id: '', 'builder.id': '' },
      scanner: { uri: 'pkg:npm/kiln@0.1.0', version: '0.1.0', db: { uri: 'kiln-vuln-index', version: 'a@2099-01-01T00:00:00Z,b@2099-01-02T00:00:00Z' }, result: reports },
      metadata: { scanStartedOn: '2099-02-01T00:00:00.000Z', scanFinishedOn: '2099-02-01T00:00:01.000Z' },
    });
  });

  it('checks bounds per severity, in all, and the age of the scan', () => {
    expect(checkVulnerabilityBounds(predicate, { maxCritical: 1, maxHigh: 1, maxScanAgeMs: 2 * 86_400_000 }, now)).toEqual({ passed: true, detail: '2 vulnerabilities (1 critical, 1 high, 0 medium, 0 low), scanned 2099-02-01T00:00:01.000Z' });
    expect(checkVulnerabilityBounds(predicate, { maxCritical: 0, maxTotal: 1, maxScanAgeMs: 3600_000 }, now)).toEqual({ passed: false, detail: '1 critical (at most 0); 2 in all (at most 1); scanned 2099-02-01T00:00:01.000Z, older than allowed' });
    expect(checkVulnerabilityBounds({ scanner: { result: { matches: [] } } }, { maxTotal: 0 }, now)).toEqual({ passed: false, detail: 'the predicate holds no Kiln scan report (scanner.result with findings)' });
  });
});
