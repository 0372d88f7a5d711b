import { describe, expect, it } from 'vitest';
import { oscalValidators, schemaErrors } from '../testing.ts';
import type { ImageCheckReport } from './check-model.ts';
import { runChecks } from './checks.ts';
import type { ImageUnderCheck } from './checks.ts';
import { vulnerabilitiesOutcome } from './supply-checks.ts';
import type { ImageFile } from './image-fs.ts';
import { assessmentResults, componentDefinition, KILN_OSCAL_NS, planOfActionAndMilestones, uuidV5 } from './oscal.ts';
import type { OscalInput } from './oscal.ts';
import { markdownSummary } from './summary.ts';

function file(path: string, content: string, mode = 0o644): [string, ImageFile] {
  return [path, { path, type: 'file', mode, uid: 0, gid: 0, size: content.length, content: Buffer.from(content), sha256: 'ab'.repeat(32) }];
}

function report(failing: boolean, extra: Partial<ImageUnderCheck> = {}): ImageCheckReport {
  const files = new Map<string, ImageFile>([
    file('etc/os-release', 'ID=kiln\n'),
    file('etc/passwd', 'nonroot:x:65532:65532::/:/sbin/nologin\n'),
    ...(failing ? [file('usr/bin/su', 'x', 0o4755), file('etc/shadow', 'nonroot::::::::\n')] : []),
  ]);
  return runChecks({ image: { name: 'example.com/app:1', source: 'oci-layout', platform: 'linux/amd64', manifestDigest: `sha256:${failing ? 'b' : 'a'}${'0'.repeat(63)}`, configDigest: `sha256:${'c'.repeat(64)}`, variant: { kind: 'runtime' } }, user: '65532', files, ...extra });
}

const input = (reports: ImageCheckReport[]): OscalInput => ({
  reports, start: '2026-12-04T16:00:00.000Z', end: '2026-12-04T16:00:01.000Z', toolVersion: '0.1.0',
  files: { componentDefinition: 'component-definition.json', assessmentResults: 'assessment-results.json', poam: 'poam.json' },
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('OSCAL documents', () => {
  const validate = oscalValidators();

  it('validates against NIST\'s OSCAL 1.1.2 schemas', () => {
    const docs = input([report(false), report(true)]);
    const cd = componentDefinition(docs);
    const ar = assessmentResults(docs);
    const poam = planOfActionAndMilestones(docs)!;
    expect(validate.componentDefinition(cd), schemaErrors(validate.componentDefinition)).toBe(true);
    expect(validate.assessmentResults(ar), schemaErrors(validate.assessmentResults)).toBe(true);
    expect(validate.poam(poam), schemaErrors(validate.poam)).toBe(true);
  });

  it('the schemas reject a document that breaks them (the validator is live)', () => {
    const cd = componentDefinition(input([report(false)])) as Json;
    cd['component-definition'].components[0].type = '';
    expect(validate.componentDefinition(cd)).toBe(false);
    const ar = assessmentResults(input([report(false)])) as Json;
    delete ar['assessment-results']['import-ap'];
    expect(validate.assessmentResults(ar)).toBe(false);
  });

  it('one implemented requirement per cited control, with evidence links to the observations', () => {
    const docs = input([report(false)]);
    const component = (componentDefinition(docs) as Json)['component-definition'].components[0];
    const requirements = component['control-implementations'][0]['implemented-requirements'] as Json[];
    expect(requirements.map((item) => item['control-id'])).toEqual(['ac-6', 'au-8', 'cm-14', 'cm-6', 'cm-7', 'cm-8', 'ia-5', 'ra-5', 'sa-10', 'sa-11', 'sc-12', 'sc-13', 'sc-17', 'si-2', 'si-7', 'sr-11', 'sr-3', 'sr-4']);
    const ac6 = requirements[0]!;
    expect(ac6.props.map((prop: Json) => prop.value)).toEqual(['non-root-user', 'no-setuid-setgid', 'no-world-writable', 'login-shells']);
    expect(ac6.props[0].ns).toBe(KILN_OSCAL_NS);
    const observations = ((assessmentResults(docs) as Json)['assessment-results'].results[0].observations as Json[]).map((item) => item.uuid);
    for (const link of ac6.links) expect(observations).toContain(link.href.replace('assessment-results.json#', ''));
  });

  it('findings per control: not-satisfied when a check failed, none when no check ran, never satisfied by a check not run', () => {
    const result = (assessmentResults(input([report(true)])) as Json)['assessment-results'].results[0];
    const state = Object.fromEntries((result.findings as Json[]).map((finding) => [finding.target['target-id'], finding.target.status.state]));
    expect(state['ac-6_obj']).toBe('not-satisfied');
    expect(state['ia-5_obj']).toBe('not-satisfied');
    expect(state['sc-12_obj']).toBe('satisfied');
    // os-release passed, but sbom-packages and sbom-attached did not run: partial, not satisfied
    const cm8 = (result.findings as Json[]).find((finding) => finding.target['target-id'] === 'cm-8_obj')!;
    expect(cm8.target.status).toMatchObject({ state: 'not-satisfied', reason: 'other' });
    expect(cm8.description).toMatch(/^Not established: os-release passed, but the evidence is partial: sbom-packages did not run: .*; sbom-attached did not run: /);
    expect(state['ra-5_obj']).toBeUndefined();
    expect(state['sc-13_obj']).toBeUndefined();
    const notRun = (result.observations as Json[]).find((item) => item.title.startsWith('vulnerabilities-within-sla'))!;
    expect(notRun.remarks).toBe('Not run: no vulnerability index was given (--vuln-db), so the image was not scanned. Not counted as satisfied.');
    expect(notRun.methods).toEqual(['EXAMINE']);
  });

  it('never satisfies SC-13 from fips-configured, nor CM-14 from a signature that was only found', () => {
    const fips = report(false);
    fips.checks = fips.checks.map((check) => (check.id === 'fips-configured' ? { ...check, status: 'pass' as const } : check));
    const subjects = [`sha256:${'1'.repeat(64)}`];
    const signed = report(false, { attached: { subjects, signatures: [{ digest: `sha256:${'2'.repeat(64)}`, detail: 'cosign signature' }], sboms: [], provenance: [] } });
    const docs = input([fips, signed]);
    const ar = assessmentResults(docs) as Json;
    expect(validate.assessmentResults(ar), schemaErrors(validate.assessmentResults)).toBe(true);
    const target = (index: number, id: string) => (ar['assessment-results'].results[index].findings as Json[]).find((finding) => finding.target['target-id'] === id)?.target;
    expect(target(0, 'sc-13_obj')).toMatchObject({ status: { state: 'not-satisfied', reason: 'other', remarks: expect.stringContaining('a FIPS-configured OpenSSL is not a FIPS-validated module') } });
    // no check of CM-14 ran and passed: no finding, never satisfied
    expect(target(1, 'cm-14_obj')).toBeUndefined();
    expect(target(1, 'si-7_obj')?.status.state).toBe('not-satisfied');
  });

  it('a POA&M item per failed check, and no POA&M when nothing failed', () => {
    const poam = (planOfActionAndMilestones(input([report(true)])) as Json)['plan-of-action-and-milestones'];
    expect((poam['poam-items'] as Json[]).map((item) => item.props[0].value)).toEqual(['no-setuid-setgid', 'no-empty-passwords', 'ca-bundle', 'timezone-data']);
    const findingIds = new Set((poam.findings as Json[]).map((finding) => finding.uuid));
    for (const item of poam['poam-items'] as Json[]) for (const related of item['related-findings']) expect(findingIds.has(related['finding-uuid'])).toBe(true);
    const cleanish = report(false);
    cleanish.checks = cleanish.checks.filter((check) => check.status !== 'fail');
    expect(planOfActionAndMilestones(input([cleanish]))).toBeUndefined();
  });

  it('a POA&M item and risk per critical or high vulnerability open within its SLA, even when no check failed', () => {
    const scanned = report(false);
    const outcome = vulnerabilitiesOutcome({
      index: '/db/vuln.sqlite', feeds: ['nvd'], now: '2099-02-01T00:00:00Z',
      findings: [
        { id: 'CVE-2099-0001', aliases: [], package: 'openssl', version: '3.0.1-r0', severity: 'CRITICAL', fixedVersion: '3.0.2-r0', detected: { at: '2099-01-29T00:00:00Z', from: 'published (vulnerability index)' } },
        { id: 'GHSA-xxxx-yyyy-zzzz', aliases: [], package: 'app', version: '1.0-r0', severity: 'HIGH', detected: { at: '2099-01-20T12:00:00Z', from: 'advisory' } },
        { id: 'CVE-2099-0003', aliases: [], package: 'zlib', version: '1.3-r0', severity: 'MEDIUM', detected: { at: '2000-01-01T00:00:00Z', from: 'advisory' } },
      ],
    }, 3);
    expect(outcome.status).toBe('pass');
    scanned.checks = scanned.checks.map((check) => (check.id === 'vulnerabilities-within-sla' ? { ...check, ...outcome } : check)).filter((check) => check.status !== 'fail');
    const doc = planOfActionAndMilestones(input([scanned]))!;
    expect(validate.poam(doc), schemaErrors(validate.poam)).toBe(true);
    const poam = (doc as Json)['plan-of-action-and-milestones'];
    expect((poam['poam-items'] as Json[]).map((item) => [item.title, item.props.map((p: Json) => p.value)])).toEqual([
      ['CVE-2099-0001 in openssl 3.0.1-r0 (critical): open within its SLA on example.com/app:1 (linux/amd64)', ['vulnerabilities-within-sla', 'critical', 'CVE-2099-0001', 'within-sla']],
      ['GHSA-xxxx-yyyy-zzzz in app 1.0-r0 (high): open within its SLA on example.com/app:1 (linux/amd64)', ['vulnerabilities-within-sla', 'high', 'GHSA-xxxx-yyyy-zzzz', 'within-sla']],
    ]);
    expect(poam['poam-items'][0].description).toBe('CVE-2099-0001 in openssl 3.0.1-r0 (critical): open 3 of 7 SLA day(s); remediation due by 2099-02-05T00:00:00.000Z. Rebuild the image with openssl 3.0.2-r0 or later and run kiln comply check again.');
    const risks = poam.risks as Json[];
    expect(risks.map((risk) => [risk.status, risk.deadline, risk.links?.[0]?.href])).toEqual([
      ['open', '2099-02-05T00:00:00.000Z', 'https://www.cve.org/CVERecord?id=CVE-2099-0001'],
      ['open', '2099-02-03T12:00:00.000Z', undefined],
    ]);
    expect(poam['poam-items'].map((item: Json) => item['related-risks'][0]['risk-uuid'])).toEqual(risks.map((risk) => risk.uuid));
    // Every reference resolves inside the document: one observation (the check's), its controls' findings.
    expect((poam.observations as Json[]).map((item) => item.props[0].value)).toEqual(['vulnerabilities-within-sla']);
    for (const item of [...poam['poam-items'], ...risks] as Json[]) expect(item['related-observations'][0]['observation-uuid']).toBe(poam.observations[0].uuid);
    const findingTargets = (poam.findings as Json[]).map((finding) => finding.target['target-id']);
    expect(findingTargets).toEqual(['ra-5_obj', 'si-2_obj']);
  });

  it('a breached vulnerability is the failed check\'s item, not a within-SLA one', () => {
    const scanned = report(false);
    const outcome = vulnerabilitiesOutcome({ index: '/db', feeds: [], now: '2099-02-01T00:00:00Z', findings: [{ id: 'CVE-2099-0002', aliases: [], package: 'app', version: '1.0-r0', severity: 'HIGH', detected: { at: '2099-01-01T00:00:00Z', from: 'advisory' } }] }, 1);
    expect(outcome.evidence[1]!.vulnerability).toMatchObject({ isBreached: true, daysOpen: 31, slaDays: 14, dueAt: '2099-01-15T00:00:00.000Z' });
    scanned.checks = scanned.checks.map((check) => (check.id === 'vulnerabilities-within-sla' ? { ...check, ...outcome } : check));
    const doc = planOfActionAndMilestones(input([scanned]))!;
    expect(validate.poam(doc), schemaErrors(validate.poam)).toBe(true);
    const poam = (doc as Json)['plan-of-action-and-milestones'];
    expect((poam['poam-items'] as Json[]).map((item) => item.props[0].value)).toEqual(['ca-bundle', 'timezone-data', 'vulnerabilities-within-sla']);
    expect(poam.risks).toBeUndefined();
  });

  it('is deterministic: the same run gives the same documents and version 5 UUIDs', () => {
    expect(JSON.stringify(assessmentResults(input([report(true)])))).toBe(JSON.stringify(assessmentResults(input([report(true)]))));
    expect(uuidV5('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV5('x')).not.toBe(uuidV5('y'));
  });

  it('summarises in Markdown with every check and its controls', () => {
    const text = markdownSummary([report(true)], '2026-12-04T16:00:01.000Z');
    expect(text).toContain('## example.com/app:1 (linux/amd64)');
    expect(text).toContain('| no-setuid-setgid | **FAIL** | high | AC-6, CM-6 |');
    expect(text).toContain('| vulnerabilities-within-sla | not run | high | SI-2, RA-5 | no vulnerability index was given (--vuln-db), so the image was not scanned |');
    expect(text).toContain('a high or critical check failed');
  });
});
