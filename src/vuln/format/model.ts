// Pure: the normalized records every feed reader produces and the local index stores. One shape
// per kind of fact, whatever feed it came from, so the matcher never knows about feed formats.

/** One version interval of an affected package: affected from `introduced` (inclusive; absent =
 *  every version) up to `fixed` (exclusive) or `lastAffected` (inclusive); neither = still affected. */
export interface VersionRange {
  introduced?: string;
  fixed?: string;
  lastAffected?: string;
}

/** A distribution's (or OSV ecosystem's) statement about one vulnerability in one source package. */
export interface AffectedRecord {
  /** Name of the feed it came from (the configured name). */
  feed: string;
  /** Normalized ecosystem: `alpine:3.20`, `wolfi`, `chainguard`, `debian:12`, `debian:sid`. */
  ecosystem: string;
  /** Source (origin) package name; subpackages match through their origin. */
  package: string;
  /** The feed's own id for the vulnerability (CVE-…, ALPINE-…, DSA-…, GHSA-…). */
  vulnerability: string;
  /** Other ids of the same vulnerability (CVE ids first when known). */
  aliases: string[];
  /** `not-affected`: the feed says this package never had the vulnerability. */
  status: 'affected' | 'not-affected';
  ranges: VersionRange[];
  /** Versions listed one by one as affected (OSV `versions`). */
  versions: string[];
  /** Why, when the feed says (Debian tracker tags like `no-dsa`, the reason in parentheses). */
  note?: string;
}

/** A CVSS base score with its vector. */
export interface CvssScore {
  version: '2.0' | '3.0' | '3.1' | '4.0';
  score: number;
  vector: string;
  /** Who scored it (`nvd@nist.gov`, an OSV feed name …). */
  source?: string;
}

/** What is known about a vulnerability as such: text, dates, scores. */
export interface VulnerabilityInfo {
  id: string;
  aliases: string[];
  summary?: string;
  published?: string;
  modified?: string;
  cvss: CvssScore[];
}

/** An NVD CPE match: an upstream product affected over a version range. */
export interface CpeRange {
  cve: string;
  vendor: string;
  product: string;
  /** The CPE's own version when it is not a wildcard (`*`, `-`). */
  version?: string;
  startIncluding?: string;
  startExcluding?: string;
  endIncluding?: string;
  endExcluding?: string;
}

/** An entry of CISA's Known Exploited Vulnerabilities catalog. */
export interface KevEntry {
  cve: string;
  dateAdded: string;
  dueDate?: string;
  knownRansomwareCampaignUse?: string;
}

/** An EPSS score: probability of exploitation in the next 30 days and its percentile. */
export interface EpssEntry {
  cve: string;
  epss: number;
  percentile: number;
}

/** A record or field a reader skipped, named so the feed can be fixed: the rest still loads. */
export interface FeedWarning {
  feed: string;
  /** The record at fault (an id, a package name, a line number). */
  record: string;
  /** The field at fault (`packages[3].pkg.secfixes`, `affected[0].package.ecosystem`). */
  field: string;
  message: string;
}

/** Everything one feed contributes to the index. */
export interface ParsedFeed {
  affected: AffectedRecord[];
  vulnerabilities: VulnerabilityInfo[];
  cpes: CpeRange[];
  kev: KevEntry[];
  epss: EpssEntry[];
  warnings: FeedWarning[];
}

/** A feed result with nothing in it yet. */
export function emptyFeed(): ParsedFeed {
  return { affected: [], vulnerabilities: [], cpes: [], kev: [], epss: [], warnings: [] };
}

/** Number of records a parsed feed holds (what `kiln vuln db status` counts). */
export function feedRecordCount(feed: ParsedFeed): number {
  return feed.affected.length + feed.vulnerabilities.length + feed.cpes.length + feed.kev.length + feed.epss.length;
}

/** Merges several parsed files of one feed (a directory of OSV records, a zip dump). */
export function mergeFeeds(parts: readonly ParsedFeed[]): ParsedFeed {
  const merged = emptyFeed();
  for (const part of parts) {
    merged.affected.push(...part.affected);
    merged.vulnerabilities.push(...part.vulnerabilities);
    merged.cpes.push(...part.cpes);
    merged.kev.push(...part.kev);
    merged.epss.push(...part.epss);
    merged.warnings.push(...part.warnings);
  }
  return merged;
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

/** True for a CVE id (`CVE-2024-1234`). */
export function isCveId(id: string): boolean {
  return CVE_ID.test(id);
}
