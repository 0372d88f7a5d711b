import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINES, FEDRAMP_HIGH, FEDRAMP_MODERATE } from './baselines.ts';
import type { CheckResult, ImageCheckReport } from './check-model.ts';
import { CHECKS } from './checks.ts';
import { baselineCoverage, coverageMarkdown } from './coverage.ts';
import { responsibilityMarkdown, responsibilityMatrix } from './responsibility.ts';

const fedramp = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'compliance', 'fedramp');

function profileIds(file: string): string[] {
  const profile = JSON.parse(readFileSync(join(fedramp, file), 'utf8')) as { profile: { imports: Array<{ 'include-controls': Array<{ 'with-ids': string[] }> }> } };
  return profile.profile.imports.flatMap((entry) => entry['include-controls'].flatMap((include) => include['with-ids']));
}

function report(statuses: Record<string, CheckResult['status']>): ImageCheckReport {
  const checks = Object.values(CHECKS).map((definition) => ({ ...definition, status: statuses[definition.id] ?? 'pass', summary: 's', evidence: [] }));
  return { image: { name: 'i', source: 'oci-layout', platform: 'linux/amd64', configDigest: `sha256:${'c'.repeat(64)}`, variant: { kind: 'runtime' } }, checks, counts: { pass: 0, fail: 0, allowed: 0, 'not-run': 0, 'not-applicable': 0 }, isBlocking: false };
}

describe('FedRAMP baselines', () => {
  it('are exactly the control ids of GSA\'s rev 5 profiles', () => {
    expect(FEDRAMP_MODERATE.controls).toEqual(profileIds('FedRAMP_rev5_MODERATE-baseline_profile.json'));
    expect(FEDRAMP_HIGH.controls).toEqual(profileIds('FedRAMP_rev5_HIGH-baseline_profile.json'));
    expect(BASELINES.map((baseline) => baseline.controls.length)).toEqual([323, 410]);
  });
});

describe('baselineCoverage', () => {
  it('marks controls evidenced, with a gap, not run, or not evidenced by the image', () => {
    const coverage = baselineCoverage([report({ 'no-setuid-setgid': 'fail', 'vulnerabilities-within-sla': 'not-run', 'fips-configured': 'not-run' })], FEDRAMP_MODERATE);
    const state = (id: string) => coverage.controls.find((control) => control.id === id)?.state;
    expect(state('ac-6')).toBe('gap');
    expect(state('ia-5')).toBe('evidenced');
    expect(state('ra-5')).toBe('not-run');
    expect(state('sc-13')).toBe('not-run');
    expect(state('ac-2')).toBe('not-evidenced');
    expect(state('ac-6.9')).toBe('not-evidenced');
    expect(coverage.outside).toEqual(['cm-14', 'sr-4']);
    expect(coverage.counts['not-evidenced'] + coverage.counts.evidenced + coverage.counts.gap + coverage.counts['not-run']).toBe(323);
    expect(coverage.counts.gap).toBe(2);
    expect(coverage.controls.find((control) => control.id === 'ac-6')!.checks).toContain('no-setuid-setgid: fail (linux/amd64)');
  });

  it('treats dev-variant allowances as gaps and says what is outside each baseline', () => {
    const high = baselineCoverage([report({ 'no-shell': 'allowed' })], FEDRAMP_HIGH);
    expect(high.controls.find((control) => control.id === 'cm-7')!.state).toBe('gap');
    expect(high.outside).toEqual(['sr-4']);
    const text = coverageMarkdown([high]);
    expect(text).toContain('## FedRAMP Rev 5 High Baseline');
    expect(text).toContain('| CM-7 | gap |');
    expect(text).toContain('Cited by checks but not selected by this baseline: SR-4.');
  });

  it('counts a control as partly evidenced, never evidenced, when a check of it did not run or cannot establish it', () => {
    const partial = report({ 'packages-signed': 'not-run', 'fips-configured': 'pass' });
    const high = baselineCoverage([partial], FEDRAMP_HIGH);
    const state = (id: string) => high.controls.find((control) => control.id === id)?.state;
    expect([state('si-7'), state('cm-14'), state('sc-13'), state('ac-6')]).toEqual(['partial', 'partial', 'partial', 'evidenced']);
    // two images: a check that ran on one but not the other leaves the control partial
    expect(baselineCoverage([report({}), report({ 'no-shell': 'not-run' })], FEDRAMP_HIGH).controls.find((control) => control.id === 'cm-7')?.state).toBe('partial');
    const rows = responsibilityMatrix([partial]);
    expect(rows.find((row) => row.control === 'sc-13')).toMatchObject({ responsibility: 'shared', coverage: 'partial', note: expect.stringContaining('FIPS-configured is not FIPS-validated') });
    expect(rows.find((row) => row.control === 'ac-6')).toMatchObject({ responsibility: 'kiln-image', coverage: 'evidenced' });
    expect(responsibilityMarkdown(rows)).toContain('| SC-13 | Cryptographic Protection | yes | yes | shared | partial | fips-configured: pass (linux/amd64) |');
  });
});
