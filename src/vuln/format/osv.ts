import { parseJsonBounded } from '../../lib/index.ts';
import { VulnError } from '../errors.ts';
import { cvss2BaseScore, cvss3BaseScore } from './cvss.ts';
import { cvss4Score } from './cvss4.ts';
import { compareVersions } from '../../apk/index.ts';
import { compareDebianVersions } from '../../debian/index.ts';
import { ecosystemFromOsv, versionSchemeOf } from './ecosystem.ts';
import { KILN_OSV_ECOSYSTEM } from './advisory-osv.ts';
import { emptyFeed, isCveId } from './model.ts';
import type { AffectedRecord, CvssScore, ParsedFeed, VersionRange } from './model.ts';

// Pure: OSV records (https://ossf.github.io/osv-schema/). Only distribution ecosystems Kiln scans
// are kept (Alpine, Wolfi, Chainguard, Debian); any other ecosystem is reported in a warning, never
// mapped to a near name. Withdrawn records are dropped; of two records with the same id the one
// modified last wins. Kiln's own records (advisory-osv.ts: an `x_` local id, the package named in
// `affected[].database_specific` with ecosystem "Kiln") are read as the `kiln` ecosystem, under
// their first alias, which is the public id.

/** Options of {@link parseOsvRecords}. */
interface OsvOptions {
  feed: string;
}

interface OsvRecord {
  id: string;
  modified?: string;
  withdrawn?: string;
  published?: string;
  aliases: string[];
  summary?: string;
  severity: unknown[];
  affected: unknown[];
  source: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** How each OSV `severity[].type` of CVSS is scored (OSV carries the vector, not the score). */
const OSV_CVSS: Readonly<Record<string, { name: string; score: (vector: string) => number | undefined; version: (vector: string) => CvssScore['version'] }>> = {
  CVSS_V2: { name: 'v2', score: cvss2BaseScore, version: () => '2.0' },
  CVSS_V3: { name: 'v3', score: cvss3BaseScore, version: (vector) => (vector.startsWith('CVSS:3.0') ? '3.0' : '3.1') },
  CVSS_V4: { name: 'v4', score: cvss4Score, version: () => '4.0' },
};

/** Reads one OSV JSON text (a record, or a list of records as osv.dev's `all.json` has) into
 *  records; VULN_FEED_INVALID when it is not JSON or not an object/list. */
export function osvRecordsOfText(text: string, source: string, feed: string): unknown[] {
  let value: unknown;
  try {
    value = parseJsonBounded(text, source);
  } catch (error) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${feed}: ${source} is not JSON`, { cause: error, detail: { feed, source } });
  }
  if (Array.isArray(value)) return value;
  if (isObject(value)) return [value];
  throw new VulnError('VULN_FEED_INVALID', `feed ${feed}: ${source} is neither an OSV record nor a list of records`, { detail: { feed, source } });
}

/** Normalizes OSV records (each paired with the file it came from, for warnings). */
export function parseOsvRecords(records: ReadonlyArray<{ record: unknown; source: string }>, options: OsvOptions): ParsedFeed {
  const feed = emptyFeed();
  const warn = (record: string, field: string, message: string) => feed.warnings.push({ feed: options.feed, record, field, message });
  const latest = new Map<string, OsvRecord>();
  for (const { record, source } of records) {
    if (!isObject(record) || typeof record.id !== 'string' || record.id === '') {
      warn(source, 'id', 'missing or not a string');
      continue;
    }
    const id = record.id;
    if (record.aliases !== undefined && !(Array.isArray(record.aliases) && record.aliases.every((alias) => typeof alias === 'string'))) {
      warn(id, 'aliases', 'not a list of strings');
      continue;
    }
    if (record.affected !== undefined && !Array.isArray(record.affected)) {
      warn(id, 'affected', 'not a list');
      continue;
    }
    const parsed: OsvRecord = {
      id,
      ...(typeof record.modified === 'string' ? { modified: record.modified } : {}),
      ...(typeof record.withdrawn === 'string' ? { withdrawn: record.withdrawn } : {}),
      ...(typeof record.published === 'string' ? { published: record.published } : {}),
      // Debian's and Alpine's records name their CVE in `upstream`, not `aliases`: without it a
      // finding lost its CVE (severity, KEV, EPSS) and NVD reported the fixed version again.
      aliases: [...new Set([...((record.aliases as string[] | undefined) ?? []), ...(Array.isArray(record.upstream) ? record.upstream.filter((id): id is string => typeof id === 'string') : [])])],
      ...(typeof record.summary === 'string' ? { summary: record.summary } : typeof record.details === 'string' ? { summary: record.details.split('\n')[0]! } : {}),
      severity: Array.isArray(record.severity) ? record.severity : [],
      affected: (record.affected as unknown[] | undefined) ?? [],
      source,
    };
    const previous = latest.get(id);
    if (previous && (previous.modified ?? '') > (parsed.modified ?? '')) continue;
    latest.set(id, parsed);
  }
  for (const record of latest.values()) {
    if (record.withdrawn) continue;
    if (record.id.startsWith('x_') && record.affected.some(isKilnAffected)) {
      kilnRecord(record, feed.affected, warn, options.feed);
      continue;
    }
    const aliases = [...record.aliases].sort((a, b) => Number(isCveId(b)) - Number(isCveId(a)));
    const cvss: CvssScore[] = [];
    record.severity.forEach((entry, index) => {
      if (!isObject(entry) || typeof entry.score !== 'string') {
        warn(record.id, `severity[${index}]`, 'not a {type, score} object');
        return;
      }
      const scorer = OSV_CVSS[entry.type as string];
      if (!scorer) return; // other types (Ubuntu's own ratings) are not CVSS
      const score = scorer.score(entry.score);
      if (score === undefined) warn(record.id, `severity[${index}].score`, `${JSON.stringify(entry.score)} is not a CVSS ${scorer.name} vector`);
      else cvss.push({ version: scorer.version(entry.score), score, vector: entry.score, source: options.feed });
    });
    feed.vulnerabilities.push({
      id: record.id,
      aliases,
      ...(record.summary ? { summary: record.summary } : {}),
      ...(record.published ? { published: record.published } : {}),
      ...(record.modified ? { modified: record.modified } : {}),
      cvss,
    });
    record.affected.forEach((affected, index) => {
      const field = `affected[${index}]`;
      // `package` is optional in OSV for entries that only name GIT commit ranges.
      if (isObject(affected) && affected.package === undefined) return;
      if (!isObject(affected) || !isObject(affected.package) || typeof affected.package.name !== 'string' || typeof affected.package.ecosystem !== 'string') {
        warn(record.id, `${field}.package`, 'missing package name or ecosystem');
        return;
      }
      const ecosystem = ecosystemFromOsv(affected.package.ecosystem);
      if (!ecosystem) {
        warn(record.id, `${field}.package.ecosystem`, `ecosystem ${JSON.stringify(affected.package.ecosystem)} is not one Kiln scans (Alpine:vX.Y, Wolfi, Chainguard, Debian:N)`);
        return;
      }
      if (affected.versions !== undefined && !(Array.isArray(affected.versions) && affected.versions.every((version) => typeof version === 'string'))) {
        warn(record.id, `${field}.versions`, 'not a list of strings');
        return;
      }
      if (affected.ranges !== undefined && !Array.isArray(affected.ranges)) {
        warn(record.id, `${field}.ranges`, 'not a list');
        return;
      }
      const ranges = ecosystemRanges(affected.ranges, record.id, field, warn, versionSchemeOf(ecosystem) === 'deb' ? compareDebianVersions : compareVersions);
      if (!ranges) return;
      const versions = (affected.versions as string[] | undefined) ?? [];
      if (ranges.length === 0 && versions.length === 0) return;
      const entry: AffectedRecord = { feed: options.feed, ecosystem, package: affected.package.name, vulnerability: record.id, aliases, status: 'affected', ranges, versions };
      feed.affected.push(entry);
    });
  }
  return feed;
}

type Warn = (record: string, field: string, message: string) => void;

/** The ECOSYSTEM ranges of an affected entry as version ranges; undefined (warned) when malformed. */
/** The version an OSV event is at (`introduced: "0"` is before every version). */
function eventVersion(event: Record<string, unknown>): string | undefined {
  for (const key of ['introduced', 'fixed', 'last_affected'] as const) if (typeof event[key] === 'string') return event[key];
  return undefined;
}

/** Events in version order, as OSV evaluates them: feeds do not always list them so. */
function sortedEvents(events: unknown[], compare: (a: string, b: string) => number): unknown[] {
  const keyed = events.map((event, index) => ({ event, index, version: isObject(event) ? eventVersion(event) : undefined }));
  try {
    keyed.sort((a, b) => {
      if (a.version === undefined || b.version === undefined) return a.index - b.index;
      if (a.version === '0' && isObject(a.event) && a.event.introduced === '0') return -1;
      if (b.version === '0' && isObject(b.event) && b.event.introduced === '0') return 1;
      return compare(a.version, b.version) || a.index - b.index;
    });
  } catch {
    return events;
  }
  return keyed.map((entry) => entry.event);
}

function ecosystemRanges(value: unknown, id: string, field: string, warn: Warn, compare: (a: string, b: string) => number): VersionRange[] | undefined {
  const ranges: VersionRange[] = [];
  let bad = false;
  ((value as unknown[] | undefined) ?? []).forEach((range, rangeIndex) => {
    if (!isObject(range) || range.type !== 'ECOSYSTEM') return; // GIT and SEMVER ranges say nothing about distro versions
    if (!Array.isArray(range.events)) {
      warn(id, `${field}.ranges[${rangeIndex}].events`, 'not a list');
      bad = true;
      return;
    }
    let current: VersionRange | undefined;
    for (const event of sortedEvents(range.events, compare)) {
      if (!isObject(event)) continue;
      if (typeof event.introduced === 'string') {
        if (current) ranges.push(current);
        current = event.introduced === '0' ? {} : { introduced: event.introduced };
      } else if (typeof event.fixed === 'string') {
        ranges.push({ ...current, fixed: event.fixed });
        current = undefined;
      } else if (typeof event.last_affected === 'string') {
        ranges.push({ ...current, lastAffected: event.last_affected });
        current = undefined;
      }
    }
    if (current) ranges.push(current);
  });
  return bad ? undefined : ranges;
}

function isKilnAffected(affected: unknown): boolean {
  return isObject(affected) && affected.package === undefined && isObject(affected.database_specific) && affected.database_specific.ecosystem === KILN_OSV_ECOSYSTEM;
}

/** A Kiln OSV record as index records: the first alias is the public id, the rest stay aliases. */
function kilnRecord(record: OsvRecord, out: AffectedRecord[], warn: Warn, feed: string): void {
  const [vulnerability, ...aliases] = record.aliases;
  if (!vulnerability) {
    warn(record.id, 'aliases', 'a Kiln record names its public id first in aliases; there is none');
    return;
  }
  record.affected.forEach((affected, index) => {
    if (!isKilnAffected(affected)) return;
    const field = `affected[${index}]`;
    const data = (affected as { database_specific: Record<string, unknown> }).database_specific;
    if (typeof data.name !== 'string' || data.name === '') {
      warn(record.id, `${field}.database_specific.name`, 'missing package name');
      return;
    }
    if (data.status !== 'affected' && data.status !== 'not-affected') {
      warn(record.id, `${field}.database_specific.status`, `${JSON.stringify(data.status)} is neither "affected" nor "not-affected"`);
      return;
    }
    const ranges = ecosystemRanges((affected as Record<string, unknown>).ranges, record.id, field, warn, compareVersions);
    if (!ranges) return;
    out.push({ feed, ecosystem: 'kiln', package: data.name, vulnerability, aliases, status: data.status, ranges, versions: [], ...(typeof data.note === 'string' ? { note: data.note } : {}) });
  });
}
