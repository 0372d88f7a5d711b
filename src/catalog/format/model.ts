// Pure: the catalog's view models. Every page and its JSON API are built from the same objects, so
// what the browser shows and what `Accept: application/json` returns cannot drift apart.

/** Severity buckets of open vulnerabilities, worst first. */
export const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

/** A severity bucket name. */
type SeverityName = (typeof SEVERITY_ORDER)[number];

/** Open findings counted by severity. */
export type SeverityTally = Record<SeverityName, number>;

/** Whether Kiln verified something itself: `verified` only after a signature check against a
 *  trusted key passed; `not-verified` when something is attached but did not verify (untrusted key,
 *  bad signature, no keys configured); `absent` when nothing is attached. */
type TrustState = 'verified' | 'not-verified' | 'absent';

/** One verification result as shown on a badge. */
export interface TrustBadge {
  state: TrustState;
  /** What verified it (`key 1a2b3c…`) or why not (`signed by a key the catalog does not trust`). */
  detail: string;
}

/** Compliance result of the newest digest: where it came from and how it came out. */
export interface ComplianceSummary {
  /** `attested`: a verified hardening-checks attestation; `computed`: the catalog ran the checks on the
   *  image's layers itself; `none`: not available yet. */
  source: 'attested' | 'computed' | 'none';
  passed: number;
  failed: number;
  notRun: number;
}

/** One architecture of an image and its size as pulled (compressed layers + config + manifest). */
export interface PlatformSize {
  platform: string;
  digest: string;
  compressedSize: number;
}

/** A tag and the digest it points at. */
export interface TagView {
  tag: string;
  digest: string;
}

/** One row of the images list. */
export interface ImageSummary {
  name: string;
  title?: string;
  description?: string;
  /** The digest of the tag shown as current (`latest`, else the most recently moved tag). */
  digest: string;
  /** Up to five tags, most recently moved first. */
  tags: TagView[];
  tagCount: number;
  platforms: PlatformSize[];
  /** RFC 3339 time the current digest was built, and where that time comes from. */
  lastBuilt?: string;
  lastBuiltSource?: 'history' | 'annotation' | 'pushed';
  /** Open vulnerabilities of the current digest; undefined when it has not been scanned. */
  cves?: SeverityTally;
  /** Why there are no counts (no vulnerability index, scan pending). */
  cvesNote?: string;
  signature: TrustBadge;
  provenance: TrustBadge;
  sbom: TrustBadge;
  compliance: ComplianceSummary;
}

/** Query of the images list (`?q=&signed=1&cve=clean`). */
export interface ImagesQuery {
  q: string;
  /** Only images whose signature Kiln verified. */
  signed: boolean;
  /** `clean`: no open critical or high vulnerabilities (scanned images only). */
  cve: 'any' | 'clean';
}

/** The images list page. */
export interface ImagesListView {
  kind: 'images';
  registry: string;
  query: ImagesQuery;
  /** Images in the catalog before filtering. */
  total: number;
  images: ImageSummary[];
}

/** A package of an image. */
export interface PackageView {
  name: string;
  version: string;
  license?: string;
  /** Source (origin) package. */
  source?: string;
}

/** A vulnerability finding with its VEX status. */
export interface VulnerabilityView {
  id: string;
  aliases: string[];
  package: string;
  version: string;
  severity: SeverityName;
  /** OpenVEX status: `affected` (open), `fixed`, `not_affected` (a feed or advisory says so, with why). */
  status: 'affected' | 'fixed' | 'not_affected' | 'under_investigation';
  fixedVersion?: string;
  justification?: string;
  summary?: string;
}

/** One digest in the image's history. */
export interface HistoryEntryView {
  digest: string;
  publishedAt: string;
  tags: string[];
  reasons: string[];
  packageChanges: string[];
  cvesFixed: string[];
  cvesIntroduced: string[];
  open?: SeverityTally;
}

/** A point of the CVE chart, in SVG user units. */
interface ChartPoint {
  x: number;
  y: number;
  digest: string;
  at: string;
  total: number;
}

/** The CVE-count-over-time chart: one point per digest, laid out on the server. */
export interface ChartView {
  width: number;
  height: number;
  /** Left/top/right/bottom padding of the plot area. */
  pad: { left: number; top: number; right: number; bottom: number };
  points: ChartPoint[];
  /** Horizontal grid lines: value and y. */
  ticks: Array<{ value: number; y: number }>;
  max: number;
}

/** A signature or attestation and whether Kiln verified it. */
export interface AttestationView {
  /** Predicate type URI, or `signature`. */
  type: string;
  label: string;
  badge: TrustBadge;
}

/** One hardening check result. */
export interface CheckView {
  id: string;
  title: string;
  severity: string;
  status: string;
  summary: string;
}

/** The SLSA provenance of the image, when a verified provenance attestation exists. */
export interface ProvenanceView {
  badge: TrustBadge;
  builder?: string;
  buildType?: string;
  /** Inputs with their checksums. */
  materials: Array<{ uri: string; digest?: string }>;
}

/** The image page. */
export interface ImagePageView {
  kind: 'image';
  registry: string;
  name: string;
  title?: string;
  description?: string;
  digest: string;
  annotations: Array<{ key: string; value: string }>;
  tags: TagView[];
  pull: { docker: string; podman: string; digest: string };
  platforms: PlatformSize[];
  packages: { source: 'sbom' | 'image' | 'none'; items: PackageView[] };
  sboms: Array<{ format: 'spdx' | 'cyclonedx'; href: string; badge: TrustBadge }>;
  vulnerabilities: { scanned: boolean; note?: string; counts?: SeverityTally; items: VulnerabilityView[] };
  history: { source: 'factory' | 'registry'; entries: HistoryEntryView[] };
  chart: ChartView;
  provenance: ProvenanceView;
  compliance: ComplianceSummary & { checks: CheckView[] };
  trust: { signature: TrustBadge; attestations: AttestationView[]; commands: string[] };
  /** Shell and package manager present in the image's filesystem (undefined until read). */
  contents?: { shell: boolean; packageManager: boolean };
}

/** One side of a comparison. */
export interface CompareSide {
  label: string;
  reference: string;
  platform?: string;
  compressedSize: number;
  uncompressedSize: number;
  packages: number;
  cves?: SeverityTally;
  cvesNote?: string;
  shell: boolean;
  packageManager: boolean;
  /** The paths that said so (`bin/sh`, `sbin/apk` …). */
  shellPaths: string[];
  packageManagerPaths: string[];
}

/** The comparison page. */
export interface CompareView {
  kind: 'compare';
  registry: string;
  /** Every name a side may take (catalog images and configured comparison images). */
  choices: string[];
  left?: CompareSide;
  right?: CompareSide;
  error?: string;
}

/** Any page's model. */
export type CatalogView = ImagesListView | ImagePageView | CompareView;

/** Zero counts. */
export function emptyTally(): SeverityTally {
  return { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
}

/** The bucket of a severity word as the scanner or a feed spells it. */
export function severityName(value: string | undefined): SeverityName {
  const lower = (value ?? '').toLowerCase();
  return (SEVERITY_ORDER as readonly string[]).includes(lower) ? (lower as SeverityName) : lower === 'moderate' ? 'medium' : 'unknown';
}

/** Sum of all buckets. */
export function tallyTotal(tally: SeverityTally): number {
  return SEVERITY_ORDER.reduce((sum, key) => sum + tally[key], 0);
}
