// The factory's record of what it published and why: one entry per published digest of a catalog
// image. The factory writes it; `kiln factory history`, `kiln image diff` and the web catalog read it.

/** One package in an image, as its SBOM and apk database name it. */
export interface HistoryPackage {
  name: string;
  version: string;
}

/** A package whose version changed between two digests of an image. */
export interface HistoryUpgrade {
  name: string;
  from: string;
  to: string;
}

/** The packages of a digest against the previous digest of the same image. */
export interface PackageDiff {
  added: HistoryPackage[];
  removed: HistoryPackage[];
  upgraded: HistoryUpgrade[];
}

/** Open findings of a digest counted by severity. */
export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

/** Vulnerability ids fixed and newly open in a digest against the previous digest, and what stays open. */
export interface CveDiff {
  fixed: string[];
  introduced: string[];
  open: SeverityCounts;
}

/** Why a digest was published: each change in the image's inputs that the factory saw. */
export type HistoryReason =
  | { kind: 'first-build' }
  | { kind: 'package-version'; package: string; from?: string; to: string }
  | { kind: 'advisory'; id: string }
  | { kind: 'config'; detail: string };

/** One published digest of a catalog image. */
export interface ImageHistoryEntry {
  /** Repository name in the registry, e.g. `kiln/curl`. */
  image: string;
  /** Registry repository it was pushed to, when that is not `image`: a `-dev` variant (`kiln/curl-dev`)
   *  is published into its image's repository (`kiln/curl`) under `-dev` tags. */
  repository?: string;
  /** Digest of the published index (multi-arch) or manifest. */
  digest: string;
  /** Digest this one replaced; absent for the first build. */
  previousDigest?: string;
  /** Tags pointed at this digest when it was published. */
  tags: string[];
  /** RFC 3339 time of publication. */
  publishedAt: string;
  /** The factory run that published it. */
  runId: string;
  reasons: HistoryReason[];
  packages: PackageDiff;
  cves: CveDiff;
  /** The digest was already published: this run scanned it again because what is known of its
   *  vulnerabilities changed, and attached a new scan result and OpenVEX to it when signing. */
  reattested?: true;
  /** With `reattested`: the attestations attached (0 when the factory publishes unsigned). */
  attestations?: number;
}

/** Reads the factory's history; the web catalog and the CLI depend on this, not on its storage. */
export interface ImageHistoryReader {
  /** Image names with at least one entry, sorted. */
  listImages(): Promise<string[]>;
  /** Every entry of one image, oldest first; empty when the image has none. */
  history(image: string): Promise<ImageHistoryEntry[]>;
}

/** Packages added, removed and upgraded from `before` to `after` (matched by name), each list sorted by name. */
export function diffPackages(before: readonly HistoryPackage[], after: readonly HistoryPackage[]): PackageDiff {
  const old = new Map(before.map((pkg) => [pkg.name, pkg.version]));
  const now = new Map(after.map((pkg) => [pkg.name, pkg.version]));
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const added = [...now].filter(([name]) => !old.has(name)).map(([name, version]) => ({ name, version }));
  const removed = [...old].filter(([name]) => !now.has(name)).map(([name, version]) => ({ name, version }));
  const upgraded = [...now]
    .filter(([name, version]) => old.has(name) && old.get(name) !== version)
    .map(([name, to]) => ({ name, from: old.get(name)!, to }));
  return { added: added.sort(byName), removed: removed.sort(byName), upgraded: upgraded.sort(byName) };
}

/** Vulnerability ids open before but not after (fixed) and open after but not before (introduced), sorted. */
export function diffCves(before: Iterable<string>, after: Iterable<string>, open: SeverityCounts): CveDiff {
  const old = new Set(before);
  const now = new Set(after);
  return {
    fixed: [...old].filter((id) => !now.has(id)).sort(),
    introduced: [...now].filter((id) => !old.has(id)).sort(),
    open,
  };
}
