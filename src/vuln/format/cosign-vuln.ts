import type { ScanReport } from '../scan.ts';
import { severityRank } from './cvss.ts';
import type { Severity } from './cvss.ts';

// Pure: cosign's vulnerability attestation predicate (https://cosign.sigstore.dev/attestation/vuln/v1)
// around Kiln scan reports, and the CVE bounds `kiln policy verify` checks against such a predicate.

/** cosign's vuln predicate type URI. */
export const COSIGN_VULN_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/vuln/v1';

/** What the predicate records besides the reports, passed in (no clock here). */
export interface CosignVulnOptions {
  scanner: { name: string; version: string };
  /** The index the scan used: its feeds and their update times become `db.version`. */
  startedOn: Date;
  finishedOn: Date;
  /** The command line, for `invocation.parameters`. */
  parameters: string[];
}

/** The cosign vuln predicate of a scan: `scanner.result` is the `--json` output (one report, or
 *  an array of reports for a registry reference). */
export function cosignVulnPredicate(result: ScanReport | readonly ScanReport[], options: CosignVulnOptions): Record<string, unknown> {
  const reports = Array.isArray(result) ? (result as readonly ScanReport[]) : [result as ScanReport];
  const feeds = new Map<string, string>();
  for (const report of reports) for (const feed of report.feeds) feeds.set(feed.name, feed.updatedAt);
  return {
    invocation: { parameters: options.parameters, uri: '', event_id: '', 'builder.id': '' },
    scanner: {
      uri: `pkg:npm/${options.scanner.name}@${options.scanner.version}`,
      version: options.scanner.version,
      db: { uri: 'kiln-vuln-index', version: [...feeds].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, at]) => `${name}@${at}`).join(',') },
      result,
    },
    metadata: { scanStartedOn: options.startedOn.toISOString(), scanFinishedOn: options.finishedOn.toISOString() },
  };
}

/** CVE bounds of a policy: most findings allowed per severity (at that severity exactly), and how
 *  old the scan may be. */
export interface VulnerabilityBounds {
  maxCritical?: number;
  maxHigh?: number;
  maxMedium?: number;
  maxLow?: number;
  /** Most findings of any severity ("zero known CVEs" is 0). */
  maxTotal?: number;
  /** Milliseconds the scan may be old (from `metadata.scanFinishedOn`). */
  maxScanAgeMs?: number;
}

/** The outcome of {@link checkVulnerabilityBounds}: passed, and what was counted or what failed. */
export interface BoundsResult {
  passed: boolean;
  detail: string;
}

interface ReportLike {
  findings?: Array<{ id?: unknown; severity?: unknown }>;
}

/** Checks a cosign vuln predicate made by `kiln scan --format cosign-vuln` against the bounds. */
export function checkVulnerabilityBounds(predicate: unknown, bounds: VulnerabilityBounds, now: Date): BoundsResult {
  const value = (predicate ?? {}) as { scanner?: { result?: unknown }; metadata?: { scanFinishedOn?: unknown } };
  const result = value.scanner?.result;
  const reports = (Array.isArray(result) ? result : [result]) as ReportLike[];
  if (!reports.length || !reports.every((report) => report && typeof report === 'object' && Array.isArray(report.findings))) {
    return { passed: false, detail: 'the predicate holds no Kiln scan report (scanner.result with findings)' };
  }
  const ids = new Map<Severity, Set<string>>();
  for (const report of reports) {
    for (const finding of report.findings!) {
      const severity = (typeof finding.severity === 'string' ? finding.severity : 'UNKNOWN') as Severity;
      ids.set(severity, (ids.get(severity) ?? new Set()).add(String(finding.id)));
    }
  }
  const count = (severity: Severity) => ids.get(severity)?.size ?? 0;
  const total = new Set([...ids.values()].flatMap((set) => [...set])).size;
  const failures: string[] = [];
  const limits: Array<[string, number | undefined, number]> = [
    ['critical', bounds.maxCritical, count('CRITICAL')],
    ['high', bounds.maxHigh, count('HIGH')],
    ['medium', bounds.maxMedium, count('MEDIUM')],
    ['low', bounds.maxLow, count('LOW')],
    ['in all', bounds.maxTotal, total],
  ];
  for (const [name, limit, found] of limits) if (limit !== undefined && found > limit) failures.push(`${found} ${name} (at most ${limit})`);
  const finished = typeof value.metadata?.scanFinishedOn === 'string' ? Date.parse(value.metadata.scanFinishedOn) : Number.NaN;
  if (bounds.maxScanAgeMs !== undefined) {
    if (Number.isNaN(finished)) failures.push('the scan has no metadata.scanFinishedOn');
    else if (now.getTime() - finished > bounds.maxScanAgeMs) failures.push(`scanned ${value.metadata!.scanFinishedOn as string}, older than allowed`);
  }
  const counted = (['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as Severity[]).sort((a, b) => severityRank(b) - severityRank(a)).map((severity) => `${count(severity)} ${severity.toLowerCase()}`).join(', ');
  return failures.length ? { passed: false, detail: failures.join('; ') } : { passed: true, detail: `${total} vulnerabilities (${counted})${Number.isNaN(finished) ? '' : `, scanned ${value.metadata!.scanFinishedOn as string}`}` };
}
