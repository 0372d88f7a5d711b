import { compareVersions } from '../apk/index.ts';
import { compareDebianVersions } from '../debian/index.ts';
import { versionSchemeOf } from './format/ecosystem.ts';
import type { VersionScheme } from './format/ecosystem.ts';
import { isCveId } from './format/model.ts';
import type { AffectedRecord, CpeRange, VersionRange } from './format/model.ts';

// Pure: which installed packages a vulnerability affects. For each package (matched through its
// origin, so a subpackage inherits its source package's advisories) the records of the package's
// own distribution decide first; an NVD CPE range is consulted only for a CVE that no distribution
// record for that package mentions ("a distro feed wins over upstream ranges"): distributions
// backport fixes without changing the upstream version, which NVD cannot know.

/** An installed package to match. */
export interface PackageToMatch {
  name: string;
  version: string;
  /** Source package (apk `o:`); the name itself when absent. */
  origin?: string;
}

/** Why a match was made. */
type MatchSource = 'distro' | 'nvd';

/** A vulnerability matched against one installed package, before enrichment with scores. */
export interface Match {
  /** CVE id when one is known, else the feed's id. */
  id: string;
  aliases: string[];
  package: string;
  version: string;
  origin: string;
  ecosystem?: string;
  matchedBy: MatchSource;
  /** Feeds whose records made the match. */
  feeds: string[];
  /** Lowest fixed version above the installed one; absent when no fix is known. */
  fixedVersion?: string;
  /** Set when a feed says the package is not affected: the match is kept but suppressed. */
  suppressed?: string;
  /** Notes of the records (Debian tracker tags and reasons). */
  notes: string[];
}

/** Compares two versions of an ecosystem's scheme. */
function compareIn(scheme: VersionScheme): (a: string, b: string) => number {
  return scheme === 'deb' ? compareDebianVersions : compareVersions;
}

/** The id a vulnerability is grouped under: the CVE id when the record has one. */
function canonicalId(record: Pick<AffectedRecord, 'vulnerability' | 'aliases'>): string {
  if (isCveId(record.vulnerability)) return record.vulnerability;
  return record.aliases.find(isCveId) ?? record.vulnerability;
}

function inRange(version: string, range: VersionRange, compare: (a: string, b: string) => number): boolean {
  if (range.introduced !== undefined && compare(version, range.introduced) < 0) return false;
  if (range.fixed !== undefined) return compare(version, range.fixed) < 0;
  if (range.lastAffected !== undefined) return compare(version, range.lastAffected) <= 0;
  return true;
}

/** The upstream part of a distribution version: apk `1.2.3-r4` → `1.2.3`, Debian `1:1.2-3` → `1.2`. */
export function upstreamVersion(version: string, scheme: VersionScheme): string {
  if (scheme === 'apk') return version.replace(/-r\d+$/, '');
  return version.replace(/^\d+:/, '').replace(/-[A-Za-z0-9.+~]+$/, '').replace(/(\+dfsg\d*|\+ds\d*|~.*)$/, '');
}

function cpeAffects(upstream: string, range: CpeRange): boolean {
  if (range.version !== undefined) return compareVersions(upstream, range.version) === 0;
  const bounded = range.startIncluding ?? range.startExcluding ?? range.endIncluding ?? range.endExcluding;
  if (bounded === undefined) return false; // "every version": too broad to say anything about a packaged build
  if (range.startIncluding !== undefined && compareVersions(upstream, range.startIncluding) < 0) return false;
  if (range.startExcluding !== undefined && compareVersions(upstream, range.startExcluding) <= 0) return false;
  if (range.endIncluding !== undefined && compareVersions(upstream, range.endIncluding) > 0) return false;
  if (range.endExcluding !== undefined && compareVersions(upstream, range.endExcluding) >= 0) return false;
  return true;
}

/** Input of {@link matchPackages}: the packages and the candidate records the index returned for
 *  their names and origins (records of other packages or ecosystems are ignored). */
export interface MatchInput {
  packages: readonly PackageToMatch[];
  /** Normalized ecosystem of the scanned system; undefined when the distribution is unknown, in
   *  which case only upstream (NVD) ranges can match. */
  ecosystem?: string;
  records: readonly AffectedRecord[];
  cpes: readonly CpeRange[];
}

/** Matches packages against records; deterministic order (package, then id). */
export function matchPackages(input: MatchInput): Match[] {
  const scheme = input.ecosystem ? versionSchemeOf(input.ecosystem) : 'apk';
  const compare = compareIn(scheme);
  const byPackage = new Map<string, AffectedRecord[]>();
  for (const record of input.records) {
    if (record.ecosystem !== input.ecosystem) continue;
    const list = byPackage.get(record.package) ?? [];
    list.push(record);
    byPackage.set(record.package, list);
  }
  const cpesByProduct = new Map<string, CpeRange[]>();
  for (const cpe of input.cpes) {
    const list = cpesByProduct.get(cpe.product) ?? [];
    list.push(cpe);
    cpesByProduct.set(cpe.product, list);
  }
  const matches: Match[] = [];
  const packages = [...input.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compare(a.version, b.version)));
  for (const pkg of packages) {
    const origin = pkg.origin || pkg.name;
    const names = origin === pkg.name ? [origin] : [origin, pkg.name];
    const groups = new Map<string, AffectedRecord[]>();
    for (const name of names) {
      for (const record of byPackage.get(name) ?? []) {
        const key = canonicalId(record);
        const group = groups.get(key) ?? [];
        group.push(record);
        groups.set(key, group);
      }
    }
    const base = { package: pkg.name, version: pkg.version, origin, ...(input.ecosystem ? { ecosystem: input.ecosystem } : {}) };
    for (const [id, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const aliases = [...new Set(group.flatMap((record) => [record.vulnerability, ...record.aliases]))].filter((alias) => alias !== id).sort();
      const notes = [...new Set(group.flatMap((record) => (record.note ? [record.note] : [])))];
      const notAffected = group.filter((record) => record.status === 'not-affected');
      if (notAffected.length > 0) {
        matches.push({ ...base, id, aliases, matchedBy: 'distro', feeds: [...new Set(notAffected.map((record) => record.feed))].sort(), suppressed: notAffected.find((record) => record.note)?.note ?? 'not affected', notes });
        continue;
      }
      // One pass: each range is compared once (version comparison dominates a scan's time).
      const affecting: AffectedRecord[] = [];
      const fixes: string[] = [];
      for (const candidate of group) {
        let hit = candidate.versions.includes(pkg.version);
        for (const range of candidate.ranges) {
          if (!inRange(pkg.version, range, compare)) continue;
          hit = true;
          if (range.fixed !== undefined) fixes.push(range.fixed);
        }
        if (hit) affecting.push(candidate);
      }
      if (affecting.length === 0) continue;
      if (fixes.length > 1) fixes.sort(compare);
      matches.push({ ...base, id, aliases, matchedBy: 'distro', feeds: [...new Set(affecting.map((record) => record.feed))].sort(), ...(fixes[0] ? { fixedVersion: fixes[0] } : {}), notes });
    }
    const known = new Set([...groups.values()].flat().flatMap((record) => [canonicalId(record), record.vulnerability, ...record.aliases]));
    const upstream = upstreamVersion(pkg.version, scheme);
    const nvd = new Map<string, CpeRange[]>();
    for (const name of names) {
      for (const cpe of cpesByProduct.get(name) ?? []) {
        if (known.has(cpe.cve) || !cpeAffects(upstream, cpe)) continue;
        nvd.set(cpe.cve, [...(nvd.get(cpe.cve) ?? []), cpe]);
      }
    }
    for (const [cve, ranges] of [...nvd].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const fixes = ranges.map((range) => range.endExcluding).filter((fixed): fixed is string => fixed !== undefined).sort(compareVersions);
      matches.push({ ...base, id: cve, aliases: [], matchedBy: 'nvd', feeds: ['nvd'], ...(fixes[0] ? { fixedVersion: fixes[0] } : {}), notes: [`upstream ${upstream} in CPE range of ${ranges[0]!.vendor}:${ranges[0]!.product}`] });
    }
  }
  return matches;
}
