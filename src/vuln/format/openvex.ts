import { sha256Hex } from '../../lib/index.ts';
import type { Finding, ScanReport } from '../scan.ts';
import { VEX_JUSTIFICATIONS } from './advisory.ts';
import type { VexJustification } from './advisory.ts';

// Pure: a scan report as an OpenVEX 0.2.0 document: one statement per vulnerability and package,
// `affected` (with what to do) for findings, `not_affected` (with the feed's justification or its
// reason as the impact statement) for suppressed matches.

/** Who and when, passed in (no clock here). */
export interface OpenVexOptions {
  author: string;
  timestamp: Date;
  /** Document `@id`; default derived from the statements' digest. */
  id?: string;
}

/** The purl a finding's package is named by in VEX documents (`pkg:apk/<distribution>/<name>@<version>`). */
export function findingPurl(report: ScanReport, finding: Finding): string {
  const namespace = (report.ecosystem ?? 'unknown').split(':')[0]!;
  return `pkg:apk/${encodeURIComponent(namespace)}/${encodeURIComponent(finding.package)}@${encodeURIComponent(finding.version)}`;
}

/** Why a suppressed finding does not apply: the OpenVEX justification its reason starts with (Kiln
 *  advisories write `justification: impact`), and the reason as text. */
export function suppression(finding: Finding): { reason: string; justification?: VexJustification } {
  const reason = finding.suppressed ?? 'not affected';
  const justification = VEX_JUSTIFICATIONS.find((name) => reason === name || reason.startsWith(`${name}:`)) as VexJustification | undefined;
  return { reason, ...(justification ? { justification } : {}) };
}

function statement(report: ScanReport, finding: Finding, suppressed: boolean): Record<string, unknown> {
  const vulnerability = { name: finding.id, ...(finding.aliases.length ? { aliases: finding.aliases } : {}) };
  const products = [{ '@id': findingPurl(report, finding) }];
  if (!suppressed) {
    return {
      vulnerability,
      products,
      status: 'affected',
      action_statement: finding.fixedVersion ? `Upgrade ${finding.package} to ${finding.fixedVersion} or later` : `No fixed version of ${finding.package} is known yet`,
    };
  }
  const { reason, justification } = suppression(finding);
  return {
    vulnerability,
    products,
    status: 'not_affected',
    ...(justification ? { justification } : {}),
    ...(justification && reason === justification ? {} : { impact_statement: justification ? reason.slice(justification.length + 1).trim() : reason }),
  };
}

/** The OpenVEX document of a scan report, or of the reports of several images (every platform of
 *  an index): statements repeated across them appear once. */
export function formatOpenVex(reports: ScanReport | readonly ScanReport[], options: OpenVexOptions): Record<string, unknown> {
  const seen = new Set<string>();
  const statements = [];
  for (const report of Array.isArray(reports) ? (reports as readonly ScanReport[]) : [reports as ScanReport]) {
    for (const item of [...report.findings.map((finding) => statement(report, finding, false)), ...report.suppressed.map((finding) => statement(report, finding, true))]) {
      const key = JSON.stringify(item);
      if (seen.has(key)) continue;
      seen.add(key);
      statements.push(item);
    }
  }
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': options.id ?? `https://openvex.dev/docs/public/vex-${sha256Hex(Buffer.from(JSON.stringify(statements)))}`,
    author: options.author,
    timestamp: options.timestamp.toISOString(),
    version: 1,
    statements,
  };
}

/** What a scan report says of each vulnerability, one line per id (its packages' `affected` with the
 *  fix known, or `not_affected` with why): two reports that say the same give the same map, whenever
 *  they were made, so a change in it is a change worth a new OpenVEX document. */
export function vexStatuses(report: ScanReport): Record<string, string> {
  const byId = new Map<string, Set<string>>();
  const add = (id: string, line: string) => (byId.get(id) ?? byId.set(id, new Set()).get(id)!).add(line);
  for (const finding of report.findings) add(finding.id, `${finding.package}: affected${finding.fixedVersion ? ` (fixed in ${finding.fixedVersion})` : ''}`);
  for (const finding of report.suppressed) add(finding.id, `${finding.package}: not_affected (${suppression(finding).reason})`);
  return Object.fromEntries([...byId.keys()].sort().map((id) => [id, [...byId.get(id)!].sort().join('; ')]));
}

