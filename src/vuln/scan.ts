import { severityOfCvss, severityRank } from './format/cvss.ts';
import type { Severity } from './format/cvss.ts';
import { DEBIAN_UNSTABLE, isDebianRelease } from './format/ecosystem.ts';
import type { CvssScore, VulnerabilityInfo } from './format/model.ts';
import { matchPackages } from './matcher.ts';
import type { Match } from './matcher.ts';
import type { VulnIndex } from './port.ts';
import type { TargetContents } from './scan-target.ts';

/** A match with what the index knows about the vulnerability: severity, score, text, KEV, EPSS. */
export interface Finding extends Match {
  severity: Severity;
  /** The score the severity comes from (v3.1, then v4.0, then v3.0, then v2.0; NVD's first in each). */
  cvss?: CvssScore;
  summary?: string;
  kev?: { dateAdded: string; dueDate?: string; knownRansomwareCampaignUse?: string };
  epss?: { score: number; percentile: number };
}

/** The result of a scan: what was scanned, the findings, the suppressed matches and warnings. */
export interface ScanReport {
  target: string;
  kind: TargetContents['kind'];
  platform?: string;
  /** The image manifest's digest, for images read from a registry. */
  digest?: string;
  ecosystem?: string;
  packages: number;
  /** Vulnerabilities that apply, worst first. */
  findings: Finding[];
  /** Matches a feed says do not apply (not affected), with the reason. */
  suppressed: Finding[];
  warnings: string[];
  /** Feeds the index held at scan time, with their age. */
  feeds: Array<{ name: string; updatedAt: string; records: number }>;
}

/** Hours after a feed's last successful check when a scan warns that it is stale: the feeds Kiln
 *  reads change daily, so two days without an update means missed advisories and fixes. */
export const FEED_STALE_AFTER_HOURS = 48;

/** Options of {@link scanContents}. */
export interface ScanOptions {
  /** Drop findings with no known fixed version. */
  ignoreUnfixed?: boolean;
  /** The scan's time, for the age of the feeds (default: the clock's now). */
  now?: Date;
  /** Warn about feeds not checked for longer than this (default {@link FEED_STALE_AFTER_HOURS}). */
  staleAfterHours?: number;
}

// v3.1 is what NVD and most feeds publish; v4.0 next; v3.0 and v2.0 only for older CVEs.
const CVSS_PREFERENCE: ReadonlyArray<CvssScore['version']> = ['3.1', '4.0', '3.0', '2.0'];

function preferredCvss(infos: readonly VulnerabilityInfo[]): CvssScore | undefined {
  const scores = infos.flatMap((info) => info.cvss);
  const nvd = (score: CvssScore) => score.source?.includes('nvd') ?? false;
  for (const version of CVSS_PREFERENCE) {
    const score = scores.find((candidate) => nvd(candidate) && candidate.version === version) ?? scores.find((candidate) => candidate.version === version);
    if (score) return score;
  }
  return undefined;
}

/** A warning for each feed whose last successful check (a fetch, or finding it unchanged) is older
 *  than the threshold: its findings may miss what was published since. */
function staleFeedWarnings(index: VulnIndex, now: Date, staleAfterHours: number): string[] {
  return index.feeds().flatMap((feed) => {
    const hours = (now.getTime() - Date.parse(feed.checkedAt)) / 3_600_000;
    if (!(hours > staleAfterHours)) return [];
    const age = hours < 72 ? `${Math.floor(hours)} hours` : `${Math.floor(hours / 24)} days`;
    return [`feed ${feed.name} was last updated ${age} ago (${feed.checkedAt}): findings may miss vulnerabilities and fixes published since (run kiln vuln db update)`];
  });
}

/** Matches a target's packages against the index and ranks the findings. */
export function scanContents(contents: TargetContents, index: VulnIndex, options: ScanOptions = {}): ScanReport {
  const names = [...new Set(contents.packages.flatMap((pkg) => [pkg.name, ...(pkg.origin ? [pkg.origin] : [])]))];
  // A Debian release also needs unstable's tracker lines: they stand for the release where it has none.
  const records = contents.ecosystem ? [...index.affected(contents.ecosystem, names), ...(isDebianRelease(contents.ecosystem) ? index.affected(DEBIAN_UNSTABLE, names) : [])] : [];
  const matches = matchPackages({ packages: contents.packages, ...(contents.ecosystem ? { ecosystem: contents.ecosystem } : {}), records, cpes: index.cpes(names) });
  const ids = [...new Set(matches.flatMap((match) => [match.id, ...match.aliases]))];
  const infos = new Map<string, VulnerabilityInfo[]>();
  for (const info of index.vulnerabilities(ids)) infos.set(info.id, [...(infos.get(info.id) ?? []), info]);
  const kev = new Map(index.kev(ids).map((entry) => [entry.cve, entry]));
  const epss = new Map(index.epss(ids).map((entry) => [entry.cve, entry]));
  const findings: Finding[] = [];
  const suppressed: Finding[] = [];
  for (const match of matches) {
    const known = [match.id, ...match.aliases].flatMap((id) => infos.get(id) ?? []);
    const cvss = preferredCvss(known);
    const summary = known.find((info) => info.summary)?.summary;
    const kevEntry = [match.id, ...match.aliases].map((id) => kev.get(id)).find((entry) => entry !== undefined);
    const epssEntry = [match.id, ...match.aliases].map((id) => epss.get(id)).find((entry) => entry !== undefined);
    const finding: Finding = {
      ...match,
      severity: severityOfCvss(cvss),
      ...(cvss ? { cvss } : {}),
      ...(summary ? { summary } : {}),
      ...(kevEntry ? { kev: { dateAdded: kevEntry.dateAdded, ...(kevEntry.dueDate ? { dueDate: kevEntry.dueDate } : {}), ...(kevEntry.knownRansomwareCampaignUse ? { knownRansomwareCampaignUse: kevEntry.knownRansomwareCampaignUse } : {}) } } : {}),
      ...(epssEntry ? { epss: { score: epssEntry.epss, percentile: epssEntry.percentile } } : {}),
    };
    if (match.suppressed) suppressed.push(finding);
    else if (!(options.ignoreUnfixed && match.fixedVersion === undefined)) findings.push(finding);
  }
  const order = (a: Finding, b: Finding) =>
    severityRank(b.severity) - severityRank(a.severity) || Number(Boolean(b.kev)) - Number(Boolean(a.kev)) || (a.package < b.package ? -1 : a.package > b.package ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  findings.sort(order);
  suppressed.sort(order);
  // A clean result that only means "no data" must say so: an Alpine or Debian release no feed covers
  // (a new Alpine branch, edge without edge's secdb) is matched against NVD's CPEs alone. Kiln OS
  // and Wolfi are matched by upstream ranges by design (Kiln uses no Wolfi security data).
  // Debian's tracker covers a release through its unstable lines.
  const isCovered = (ecosystem: string) => index.covers?.(ecosystem) !== false || (isDebianRelease(ecosystem) && index.covers?.(DEBIAN_UNSTABLE) === true);
  const uncovered =
    contents.ecosystem && /^(alpine|debian):/.test(contents.ecosystem) && contents.packages.length > 0 && !isCovered(contents.ecosystem)
      ? `no feed in the vulnerability index holds records for ${contents.ecosystem}: its packages were matched against NVD's CPE ranges only (add that release's feed, then kiln vuln db update)`
      : undefined;
  // The CLI passes no clock: the scan's time is now unless a caller (a test) says otherwise.
  const stale = staleFeedWarnings(index, options.now ?? new Date(), options.staleAfterHours ?? FEED_STALE_AFTER_HOURS);
  return {
    target: contents.target,
    kind: contents.kind,
    ...(contents.platform ? { platform: contents.platform } : {}),
    ...(contents.digest ? { digest: contents.digest } : {}),
    ...(contents.ecosystem ? { ecosystem: contents.ecosystem } : {}),
    packages: contents.packages.length,
    findings,
    suppressed,
    warnings: [...contents.warnings, ...(uncovered ? [uncovered] : []), ...stale],
    feeds: index.feeds().map((feed) => ({ name: feed.name, updatedAt: feed.updatedAt, records: feed.records })),
  };
}

/** The severity the index gives a vulnerability known by any of these ids (UNKNOWN when unscored). */
export function severityInIndex(index: VulnIndex, ids: readonly string[]): Severity {
  return severityOfCvss(preferredCvss(index.vulnerabilities(ids)));
}

/** Findings at or above a severity (for `--fail-on`). */
export function findingsAtOrAbove(report: ScanReport, severity: Severity): Finding[] {
  return report.findings.filter((finding) => severityRank(finding.severity) >= severityRank(severity));
}
