import { debianRelease } from './ecosystem.ts';
import { emptyFeed } from './model.ts';
import type { AffectedRecord, ParsedFeed } from './model.ts';

// Pure: the Debian security tracker's text data. `data/CVE/list` has one stanza per CVE with a line
// per release (`- src version` for unstable, `[codename] - src version|<tag> (reason)`);
// `data/DSA/list` and `data/DLA/list` have one entry per advisory with its CVEs and a fixed version
// per release. Format: the tracker's own documentation (security_tracker, "Summary of tracker syntax").

const PACKAGE_LINE = /^(?:\[([a-z-]+)\]\s+)?-\s+(\S+)(?:\s+(<[a-z-]+>|[^\s(<]+))?(?:\s+\((.*)\))?\s*$/;
const FIXED_VERSION = /^[0-9][A-Za-z0-9.+~:-]*$/;

/** Options of the tracker readers. */
interface DebianTrackerOptions {
  feed: string;
  source?: string;
  /** Called for each record with the line it came from (`source:line: text`) and, in the DSA and
   *  DLA lists, the advisory's date: the evidence `kiln advisory derive` records. */
  onStatement?: (record: AffectedRecord, evidence: { where: string; line: string; date?: string }) => void;
}

function releaseLine(line: string, id: string, aliases: string[], lineNumber: number, options: DebianTrackerOptions, feed: ParsedFeed, date?: string): void {
  const source = options.source ?? options.feed;
  const match = PACKAGE_LINE.exec(line.trim());
  if (!match) {
    feed.warnings.push({ feed: options.feed, record: id, field: `${source}:${lineNumber}`, message: `not a package line: ${JSON.stringify(line.trim())}` });
    return;
  }
  const [, codename, pkg, what, note] = match as unknown as [string, string | undefined, string, string | undefined, string | undefined];
  const ecosystem = debianRelease(codename ?? 'sid');
  if (!ecosystem) {
    feed.warnings.push({ feed: options.feed, record: id, field: `${source}:${lineNumber}`, message: `release ${JSON.stringify(codename)} is not a Debian release Kiln knows; line skipped` });
    return;
  }
  const base = { feed: options.feed, ecosystem, package: pkg, vulnerability: id, aliases, versions: [] as string[] };
  let record: AffectedRecord;
  if (what === undefined) {
    // `- src` with nothing after it: tracked but not yet triaged; treat as affected, unfixed.
    record = { ...base, status: 'affected', ranges: [{}], note: 'undetermined' };
  } else if (what.startsWith('<')) {
    const tag = what.slice(1, -1);
    if (tag === 'not-affected') record = { ...base, status: 'not-affected', ranges: [], ...(note ? { note } : {}) };
    else if (tag === 'itp') return; // not in Debian yet: no installed package can be it
    // `<removed>` (gone from the suite: a system that still has the package has no fix to upgrade
    // to), `<no-dsa>`, `<unfixed>`, `<end-of-life>` …: affected, no fix; the tracker does the same.
    else record = { ...base, status: 'affected', ranges: [{}], note: note ? `${tag}: ${note}` : tag };
  } else if (FIXED_VERSION.test(what)) {
    record = { ...base, status: 'affected', ranges: [{ fixed: what }], ...(note ? { note } : {}) };
  } else {
    feed.warnings.push({ feed: options.feed, record: id, field: `${source}:${lineNumber}`, message: `${JSON.stringify(what)} is neither a Debian version nor a <tag>` });
    return;
  }
  // Version 0 is the tracker's way of saying "never affected" in a release.
  if (record.ranges[0]?.fixed === '0') record = { ...base, status: 'not-affected', ranges: [], note: 'fixed in version 0 (never affected)' };
  feed.affected.push(record);
  options.onStatement?.(record, { where: `${source}:${lineNumber}`, line: line.trim(), ...(date ? { date } : {}) });
}

/** Parses `data/CVE/list`: one affected record per CVE, package and release; summaries as
 *  vulnerability records. Malformed lines are skipped with a warning naming file:line. */
export function parseDebianCveList(text: string, options: DebianTrackerOptions): ParsedFeed {
  const feed = emptyFeed();
  let current: string | undefined;
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    if (!/^\s/.test(line)) {
      // The description is in (…) from NVD, or in […] where the tracker's team wrote its own.
      const header = /^(CVE-\d{4}-(?:\d{4,}|XXXX\S*))(?:\s+(?:\((.*)\)?|\[(.*)\]?))?\s*$/.exec(line);
      if (!header) {
        current = undefined;
        feed.warnings.push({ feed: options.feed, record: `line ${index + 1}`, field: `${options.source ?? options.feed}:${index + 1}`, message: `not a CVE header: ${JSON.stringify(line.slice(0, 80))}` });
        return;
      }
      current = header[1]!.includes('XXXX') ? undefined : header[1]!;
      const summary = header[2]?.replace(/\)$/, '') ?? header[3]?.replace(/\]$/, '');
      if (current && summary) feed.vulnerabilities.push({ id: current, aliases: [], summary, cvss: [] });
      return;
    }
    if (!current) return;
    const trimmed = line.trim();
    if (/^(NOTE|TODO|RESERVED|REJECTED|NOT-FOR-US|\{)/.test(trimmed)) return;
    releaseLine(line, current, [], index + 1, options, feed);
  });
  return feed;
}

/** Parses `data/DSA/list` or `data/DLA/list`: per advisory and CVE, the fixed version per release
 *  (the advisory id becomes an alias of the CVE). */
export function parseDebianAdvisoryList(text: string, options: DebianTrackerOptions): ParsedFeed {
  const feed = emptyFeed();
  let advisory: string | undefined;
  let date: string | undefined;
  let cves: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    if (line.startsWith('[')) {
      const header = /^\[(\d{1,2} \w{3} \d{4})\]\s+(D[SL]A-\d+(?:-\d+)?)\s/.exec(line);
      advisory = header?.[2];
      date = header ? new Date(`${header[1]} UTC`).toISOString().replace('.000Z', 'Z') : undefined;
      cves = [];
      if (!header) feed.warnings.push({ feed: options.feed, record: `line ${index + 1}`, field: `${options.source ?? options.feed}:${index + 1}`, message: `not an advisory header: ${JSON.stringify(line.slice(0, 80))}` });
      return;
    }
    if (!advisory) return;
    const trimmed = line.trim();
    if (trimmed.startsWith('{')) {
      cves = trimmed.replace(/[{}]/g, '').split(/\s+/).filter((id) => id.startsWith('CVE-'));
      return;
    }
    if (!trimmed.startsWith('[') || trimmed.startsWith('NOTE')) return;
    for (const cve of cves.length > 0 ? cves : [advisory]) releaseLine(trimmed, cve, cve === advisory ? [] : [advisory], index + 1, options, feed, date);
  });
  return feed;
}
