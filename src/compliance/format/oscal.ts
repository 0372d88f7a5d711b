import { createHash } from 'node:crypto';
import type { CheckResult, ImageCheckReport } from './check-model.ts';
import { assessControl } from './control-assessment.ts';
import { CONTROL_TITLES, controlLabel } from './controls.ts';
import type { ControlId } from './controls.ts';

// Pure: OSCAL 1.1.2 documents from check reports: a component-definition (each image a software
// component, the controls its checks give evidence for as implemented requirements), the
// assessment-results of the run (one observation per check, one finding per control) and a POA&M
// for the failed checks and the open vulnerabilities still within their SLA. UUIDs are version 5, derived from the image digests and ids, so the same
// run gives the same documents; time is passed in.

/** OSCAL version the documents declare (the schemas in test/fixtures/schemas/oscal/). */
export const OSCAL_VERSION = '1.1.2';
/** Namespace of Kiln's own OSCAL props. */
export const KILN_OSCAL_NS = 'https://kiln.dev/ns/oscal';
/** The catalog control ids refer to (NIST SP 800-53 rev 5, as published by NIST in OSCAL). */
export const NIST_800_53_REV5_CATALOG = 'https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_catalog.json';

const NAMESPACE = Buffer.from('8d2a6a5e4c7f4b0f9a51c0a1b3f1e2d4', 'hex');

/** RFC 4122 version 5 UUID of a name in Kiln's namespace. */
export function uuidV5(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** What the documents are about and when. */
export interface OscalInput {
  reports: readonly ImageCheckReport[];
  /** When the checks ran (RFC 3339 with zone). */
  start: string;
  end: string;
  toolVersion: string;
  /** File names the documents link to each other by (relative hrefs). */
  files: { componentDefinition: string; assessmentResults: string; poam: string };
}

type Json = Record<string, unknown>;

/** OSCAL text fields must not start or end with white space and must not be empty. */
function text(value: string): string {
  const trimmed = value.replace(/\s+/g, ' ').trim();
  return trimmed || '-';
}

const prop = (name: string, value: string, kiln = true): Json => ({ name, ...(kiln ? { ns: KILN_OSCAL_NS } : {}), value: text(value) });

function imageKey(report: ImageCheckReport): string {
  return `${report.image.manifestDigest ?? report.image.configDigest}|${report.image.platform}`;
}

function imageTitle(report: ImageCheckReport): string {
  return `${report.image.name} (${report.image.platform})`;
}

function componentUuid(report: ImageCheckReport): string {
  return uuidV5(`component|${imageKey(report)}`);
}

function observationUuid(report: ImageCheckReport, check: CheckResult): string {
  return uuidV5(`observation|${imageKey(report)}|${check.id}`);
}

function findingUuid(report: ImageCheckReport, control: string): string {
  return uuidV5(`finding|${imageKey(report)}|${control}`);
}

function metadata(title: string, input: OscalInput): Json {
  return {
    title,
    'last-modified': input.end,
    version: input.start,
    'oscal-version': OSCAL_VERSION,
    props: [prop('tool', `kiln ${input.toolVersion}`)],
  };
}

function imageProps(report: ImageCheckReport): Json[] {
  const image = report.image;
  return [
    prop('image-name', image.name),
    ...(image.ref ? [prop('image-ref', image.ref)] : []),
    prop('platform', image.platform),
    ...(image.manifestDigest ? [prop('manifest-digest', image.manifestDigest)] : []),
    prop('config-digest', image.configDigest),
    prop('variant', image.variant.kind),
    ...(image.sbom ? [prop('sbom-digest', image.sbom.digest)] : []),
  ];
}

function controlsOf(report: ImageCheckReport): ControlId[] {
  return [...new Set(report.checks.flatMap((check) => check.controls))].sort() as ControlId[];
}

/** The OSCAL component-definition: each image a software component. */
export function componentDefinition(input: OscalInput): Json {
  return {
    'component-definition': {
      uuid: uuidV5(`component-definition|${input.reports.map(imageKey).join(',')}`),
      metadata: metadata('Kiln image hardening: component definition', input),
      components: input.reports.map((report) => ({
        uuid: componentUuid(report),
        type: 'software',
        title: text(`Container image ${imageTitle(report)}`),
        description: text(`OCI container image ${report.image.name}, platform ${report.image.platform}, ${report.image.variant.kind} variant${report.image.variant.reason ? ` (${report.image.variant.reason})` : ''}. Kiln's hardening checks give evidence for the controls below.`),
        props: imageProps(report),
        links: [{ href: input.files.assessmentResults, rel: 'related', text: 'assessment results of the latest check run' }],
        'control-implementations': [{
          uuid: uuidV5(`control-implementation|${imageKey(report)}`),
          source: NIST_800_53_REV5_CATALOG,
          description: 'NIST SP 800-53 rev 5 controls the image gives evidence for, each with the Kiln checks that test it.',
          'implemented-requirements': controlsOf(report).map((control) => {
            const checks = report.checks.filter((check) => (check.controls as readonly string[]).includes(control));
            return {
              uuid: uuidV5(`implemented-requirement|${imageKey(report)}|${control}`),
              'control-id': control,
              description: text(`${controlLabel(control)} ${CONTROL_TITLES[control]}: ${checks.map((check) => `${check.title} (${check.id}): ${check.status}`).join('; ')}.`),
              props: checks.map((check) => prop('check', check.id)),
              links: checks.map((check) => ({ href: `${input.files.assessmentResults}#${observationUuid(report, check)}`, rel: 'evidence', text: text(`observation of ${check.id}`) })),
            };
          }),
        }],
      })),
    },
  };
}

function observation(report: ImageCheckReport, check: CheckResult, input: OscalInput): Json {
  return {
    uuid: observationUuid(report, check),
    title: text(`${check.id}: ${check.title}`),
    description: text(`${check.rationale} Result: ${check.status}. ${check.summary}`),
    props: [prop('check', check.id), prop('status', check.status), prop('severity', check.severity), ...check.references.map((reference) => prop('reference', reference))],
    methods: [check.status === 'not-run' || check.status === 'not-applicable' ? 'EXAMINE' : 'TEST'],
    types: ['finding'],
    subjects: [{ 'subject-uuid': componentUuid(report), type: 'component', title: text(imageTitle(report)) }],
    'relevant-evidence': check.evidence.length
      ? check.evidence.map((item) => ({
        description: text(`${item.path ? `/${item.path.replace(/^\//, '')}: ` : ''}${item.detail}`),
        ...(item.digest ? { props: [prop('digest', item.digest)] } : {}),
      }))
      : [{ description: text(check.summary) }],
    collected: input.end,
    ...(check.status === 'not-run' ? { remarks: text(`Not run: ${check.summary}. Not counted as satisfied.`) } : {}),
  };
}

/** Findings per control: satisfied only when every check citing it ran and passed and a pass can
 *  establish it; not-satisfied (reason `fail`) when a check failed or was only allowed (dev
 *  variant), and not-satisfied (reason `other`) when the evidence is partial — a citing check did
 *  not run, or the passes cannot establish the control (FIPS-configured is not FIPS-validated).
 *  OSCAL has no third state, and partial evidence is not a satisfied objective. Controls with no
 *  check that ran get none. */
function findings(report: ImageCheckReport): Json[] {
  const out: Json[] = [];
  for (const control of controlsOf(report)) {
    const assessment = assessControl(control, report.checks);
    if (assessment.state === 'not-run') continue;
    const { checks, failing, gaps } = assessment;
    const passed = checks.filter((check) => check.status === 'pass').map((check) => check.id);
    const description = assessment.state === 'failed'
      ? `Not satisfied: ${failing.map((check) => `${check.id} ${check.status === 'allowed' ? 'allowed by the dev variant' : 'failed'}: ${check.summary}`).join(' ')}`
      : assessment.state === 'partial'
        ? `Not established: ${passed.join(', ')} passed, but the evidence is partial: ${gaps.join('; ')}.`
        : `Satisfied by ${passed.join(', ')}.`;
    out.push({
      uuid: findingUuid(report, control),
      title: text(`${controlLabel(control)} ${CONTROL_TITLES[control]} — ${imageTitle(report)}`),
      description: text(description),
      target: {
        type: 'objective-id',
        'target-id': `${control}_obj`,
        status: {
          state: assessment.state === 'satisfied' ? 'satisfied' : 'not-satisfied',
          reason: assessment.state === 'satisfied' ? 'pass' : assessment.state === 'failed' ? 'fail' : 'other',
          ...(assessment.state === 'partial' ? { remarks: text(`Partial evidence, not counted as satisfied: ${gaps.join('; ')}.`) } : {}),
        },
        ...(assessment.state === 'failed' && gaps.length ? { remarks: text(`Also not established: ${gaps.join('; ')}.`) } : {}),
      },
      'related-observations': checks.map((check) => ({ 'observation-uuid': observationUuid(report, check) })),
    });
  }
  return out;
}

/** The OSCAL assessment-results of the run: one result per image. */
export function assessmentResults(input: OscalInput): Json {
  return {
    'assessment-results': {
      uuid: uuidV5(`assessment-results|${input.start}|${input.reports.map(imageKey).join(',')}`),
      metadata: metadata('Kiln image hardening: assessment results', input),
      'import-ap': { href: input.files.componentDefinition, remarks: 'Kiln runs a fixed check suite; the component definition lists the checks for each control in place of an assessment plan.' },
      results: input.reports.map((report) => ({
        uuid: uuidV5(`result|${input.start}|${imageKey(report)}`),
        title: text(`Kiln hardening checks of ${imageTitle(report)}`),
        description: text(`${report.checks.length} checks: ${Object.entries(report.counts).filter(([, count]) => count).map(([status, count]) => `${count} ${status}`).join(', ')}.`),
        start: input.start,
        end: input.end,
        props: imageProps(report),
        'reviewed-controls': { 'control-selections': [{ 'include-controls': controlsOf(report).map((control) => ({ 'control-id': control })) }] },
        observations: report.checks.map((check) => observation(report, check, input)),
        ...(findings(report).length ? { findings: findings(report) } : {}),
      })),
    },
  };
}

/** The OSCAL POA&M: one item per failed check, linked to the findings of its controls, and one
 *  item with a risk (deadline: the end of its SLA) per critical or high vulnerability still open
 *  within its SLA; undefined when there is neither (a POA&M needs at least one item). */
export function planOfActionAndMilestones(input: OscalInput): Json | undefined {
  const items: Json[] = [];
  const observations: Json[] = [];
  const risks: Json[] = [];
  const allFindings: Json[] = [];
  for (const report of input.reports) {
    const failed = report.checks.filter((check) => check.status === 'fail');
    // Open findings still within their SLA are not failures, but they are open: each gets an item
    // and a risk whose deadline is the end of its SLA. (Breached ones fail the check, which has
    // its own item.)
    const open = report.checks.flatMap((check) => check.evidence.flatMap((item) => (item.vulnerability && !item.vulnerability.isBreached ? [{ check, vulnerability: item.vulnerability }] : [])));
    if (!failed.length && !open.length) continue;
    const reportFindings = findings(report);
    const relatedFindings = (check: CheckResult) => {
      const related = check.controls.map((control) => findingUuid(report, control)).filter((uuid) => reportFindings.some((finding) => finding.uuid === uuid));
      for (const finding of reportFindings) if (related.includes(finding.uuid as string) && !allFindings.includes(finding)) allFindings.push(finding);
      return related.length ? { 'related-findings': related.map((uuid) => ({ 'finding-uuid': uuid })) } : {};
    };
    const observe = (check: CheckResult) => {
      if (!observations.some((item) => item.uuid === observationUuid(report, check))) observations.push(observation(report, check, input));
      return { 'related-observations': [{ 'observation-uuid': observationUuid(report, check) }] };
    };
    for (const check of failed) {
      items.push({
        uuid: uuidV5(`poam-item|${imageKey(report)}|${check.id}`),
        title: text(`${check.title}: failed on ${imageTitle(report)}`),
        description: text(`${check.summary}. Severity ${check.severity}. Controls: ${check.controls.map(controlLabel).join(', ')}. Remediate by rebuilding the image without it and run kiln comply check again.`),
        props: [prop('check', check.id), prop('severity', check.severity)],
        ...observe(check),
        ...relatedFindings(check),
      });
    }
    for (const { check, vulnerability: v } of open) {
      const key = `${imageKey(report)}|${check.id}|${v.id}|${v.package}|${v.version}`;
      const riskUuid = uuidV5(`poam-risk|${key}`);
      const what = `${v.id} in ${v.package} ${v.version} (${v.severity})`;
      const due = v.dueAt ? `; remediation due by ${v.dueAt}` : '';
      const fix = v.fixedVersion ? `Rebuild the image with ${v.package} ${v.fixedVersion} or later and run kiln comply check again.` : `No fixed version is known yet; rebuild when one is published, or record a VEX statement if ${v.package} is not affected.`;
      risks.push({
        uuid: riskUuid,
        title: text(`${what} on ${imageTitle(report)}`),
        description: text(`${what} has been open ${v.daysOpen} day(s) since ${v.detectedAt} (${v.detectedFrom}); its SLA is ${v.slaDays} day(s)${due}.`),
        statement: text(`A known ${v.severity} vulnerability is present in the image and still within its remediation SLA. ${fix}`),
        props: [prop('check', check.id), prop('vulnerability', v.id), prop('package', `${v.package} ${v.version}`), prop('severity', v.severity), prop('sla-days', String(v.slaDays))],
        ...(/^CVE-\d{4}-\d+$/.test(v.id) ? { links: [{ href: `https://www.cve.org/CVERecord?id=${v.id}`, rel: 'reference', text: v.id }] } : {}),
        status: 'open',
        ...(v.dueAt ? { deadline: v.dueAt } : {}),
        'related-observations': [{ 'observation-uuid': observationUuid(report, check) }],
      });
      items.push({
        uuid: uuidV5(`poam-item|${key}`),
        title: text(`${what}: open within its SLA on ${imageTitle(report)}`),
        description: text(`${what}: open ${v.daysOpen} of ${v.slaDays} SLA day(s)${due}. ${fix}`),
        props: [prop('check', check.id), prop('severity', v.severity), prop('vulnerability', v.id), prop('status', 'within-sla')],
        ...observe(check),
        ...relatedFindings(check),
        'related-risks': [{ 'risk-uuid': riskUuid }],
      });
    }
  }
  if (!items.length) return undefined;
  return {
    'plan-of-action-and-milestones': {
      uuid: uuidV5(`poam|${input.start}|${input.reports.map(imageKey).join(',')}`),
      metadata: metadata('Kiln image hardening: plan of action and milestones', input),
      ...(observations.length ? { observations } : {}),
      ...(risks.length ? { risks } : {}),
      ...(allFindings.length ? { findings: allFindings } : {}),
      'poam-items': items,
    },
  };
}
