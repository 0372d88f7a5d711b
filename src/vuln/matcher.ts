import { compareVersions } from '../apk/index.ts';
import { compareDebianVersions } from '../debian/index.ts';
import { DEBIAN_UNSTABLE, isDebianRelease, versionSchemeOf } from './format/ecosystem.ts';
import type { VersionScheme } from './format/ecosystem.ts';
import { isCveId } from './format/model.ts';
import type { AffectedRecord, CpeRange, VersionRange } from './format/model.ts';

// Pure: which installed packages a vulnerability affects. For each package (matched through its
// origin, so a subpackage inherits its source package's advisories) the records of the package's
// own distribution decide first; an NVD CPE range is consulted only for a CVE that no distribution
// record for that package mentions ("a distro feed wins over upstream ranges"): distributions
// backport fixes without changing the upstream version, which NVD cannot know.
// Debian's security tracker writes a line for a release only where it differs from unstable: a
// release with no line of its own for a CVE and source package is compared with unstable's
// (security-tracker lib/python/sectracker/analyzers.py, fixedversions()), so unstable's records
// stand in for such a release; a release's own line, whatever it says, decides for it.

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
  /** The version that leaves every matching range (the highest of their fixes); absent when no fix
   *  is known or a matching range has none. */
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

/** The fix that leaves every matching range: the highest of their fixes, or none when one of
 *  them has no fix (a lower fix would still be inside the other range). */
function fixLeavingAll(fixes: readonly (string | undefined)[], compare: (a: string, b: string) => number): string | undefined {
  let highest: string | undefined;
  for (const fixed of fixes) {
    if (fixed === undefined) return undefined;
    if (highest === undefined || compare(fixed, highest) > 0) highest = fixed;
  }
  return highest;
}

/** Input of {@link matchPackages}: the packages and the candidate records the index returned for
 *  their names and origins (records of other packages or ecosystems are ignored). */
export interface MatchInput {
  packages: readonly PackageToMatch[];
  /** Normalized ecosystem of the scanned system; undefined when the distribution is unknown, in
   *  which case only upstream (NVD) ranges can match. */
  ecosystem?: string;
  /** Records of the ecosystem, and for a Debian release also unstable's (`debian:sid`). */
  records: readonly AffectedRecord[];
  cpes: readonly CpeRange[];
}

/** Matches packages against records; deterministic order (package, then id). */
export function matchPackages(input: MatchInput): Match[] {
  const scheme = input.ecosystem ? versionSchemeOf(input.ecosystem) : 'apk';
  const compare = compareIn(scheme);
  const byPackage = new Map<string, AffectedRecord[]>();
  const unstableByPackage = new Map<string, AffectedRecord[]>();
  const inheritsUnstable = input.ecosystem !== undefined && isDebianRelease(input.ecosystem);
  for (const record of input.records) {
    const target = record.ecosystem === input.ecosystem ? byPackage : inheritsUnstable && record.ecosystem === DEBIAN_UNSTABLE ? unstableByPackage : undefined;
    if (!target) continue;
    const list = target.get(record.package) ?? [];
    list.push(record);
    target.set(record.package, list);
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
    const add = (key: string, record: AffectedRecord) => {
      const group = groups.get(key);
      if (group) group.push(record);
      else groups.set(key, [record]);
    };
    // Ids answered by unstable's line because the release has none of its own for that package.
    const fromUnstable = new Set<string>();
    for (const name of names) {
      const own = new Set<string>();
      for (const record of byPackage.get(name) ?? []) {
        own.add(canonicalId(record));
        add(canonicalId(record), record);
      }
      for (const record of unstableByPackage.get(name) ?? []) {
        const key = canonicalId(record);
        if (own.has(key)) continue;
        fromUnstable.add(key);
        add(key, record);
      }
    }
    const base = { package: pkg.name, version: pkg.version, origin, ...(input.ecosystem ? { ecosystem: input.ecosystem } : {}) };
    for (const [id, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const aliases = [...new Set(group.flatMap((record) => [record.vulnerability, ...record.aliases]))].filter((alias) => alias !== id).sort();
      const notes = [...new Set(group.flatMap((record) => (record.note ? [record.note] : [])))];
      if (fromUnstable.has(id)) notes.push(`no ${input.ecosystem} line in the Debian tracker: unstable's applies`);
      const notAffected = group.filter((record) => record.status === 'not-affected');
      if (notAffected.length > 0) {
        matches.push({ ...base, id, aliases, matchedBy: 'distro', feeds: [...new Set(notAffected.map((record) => record.feed))].sort(), suppressed: notAffected.find((record) => record.note)?.note ?? 'not affected', notes });
        continue;
      }
      // One pass: each range is compared once (version comparison dominates a scan's time).
      const affecting: AffectedRecord[] = [];
      const fixes: Array<string | undefined> = [];
      for (const candidate of group) {
        let isInRange = false;
        for (const range of candidate.ranges) {
          if (!inRange(pkg.version, range, compare)) continue;
          isInRange = true;
          fixes.push(range.fixed);
        }
        // A version listed one by one (OSV `versions`) says nothing about a fix.
        const isListed = !isInRange && candidate.versions.includes(pkg.version);
        if (isListed) fixes.push(undefined);
        if (isInRange || isListed) affecting.push(candidate);
      }
      if (affecting.length === 0) continue;
      const fixedVersion = fixLeavingAll(fixes, compare);
      matches.push({ ...base, id, aliases, matchedBy: 'distro', feeds: [...new Set(affecting.map((record) => record.feed))].sort(), ...(fixedVersion ? { fixedVersion } : {}), notes });
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
      // A range ending at a last affected version (or naming one version) gives no fix.
      const fixedVersion = fixLeavingAll(ranges.map((range) => range.endExcluding), compareVersions);
      matches.push({ ...base, id: cve, aliases: [], matchedBy: 'nvd', feeds: ['nvd'], ...(fixedVersion ? { fixedVersion } : {}), notes: [`upstream ${upstream} in CPE range of ${ranges[0]!.vendor}:${ranges[0]!.product}`] });
    }
  }
  return matches;
}
