import type { InstalledPackage } from '../../apk/index.ts';
import { DEFAULT_SLA, slaReport } from '../../vuln/index.ts';
import type { AdvisoryFile, Severity as VulnSeverity, SlaPolicy } from '../../vuln/index.ts';
import type { CheckStatus, Evidence, OpenVulnerability } from './check-model.ts';

// Pure: the checks that need data from outside the image — a vulnerability scan with detection
// dates (vulnerabilities-within-sla), verified repository indexes (packages-signed) and a rebuild
// of the image (reproducible). Each returns `not-run` with why when its data was not given; the
// caller (checks.ts) adds the check's definition.

/** What a check function concluded, before the definition is attached. */
export interface Outcome {
  status: CheckStatus;
  summary: string;
  evidence: Evidence[];
}

/** One vulnerability found in the image, with when it became known (for the SLA clock). */
export interface ImageVulnerability {
  id: string;
  aliases: readonly string[];
  package: string;
  version: string;
  severity: VulnSeverity;
  fixedVersion?: string;
  /** When the SLA clock started (RFC 3339 or a date), and what says so. */
  detected?: { at: string; from: string };
}

/** A scan of the image against a local vulnerability index. */
export interface VulnerabilityScan {
  /** The index scanned against (its path), and its digest when known. */
  index: string;
  /** Feeds the index held, `name (updated …)`. */
  feeds: string[];
  findings: readonly ImageVulnerability[];
  /** Evaluation time (ISO 8601); passed in so the check stays pure. */
  now: string;
  /** Days allowed per severity (default the `kiln vuln sla` policy). */
  policy?: SlaPolicy;
  /** Why the scan could not match distribution records (unknown distribution …). */
  warnings?: readonly string[];
  /** Why the index cannot show the image's packages free of known vulnerabilities: it holds no
   *  feed, or none with records for the image's release (nor, for a distribution matched by
   *  upstream ranges, NVD's). A clean scan against it proves nothing. */
  coverageGap?: string;
  /** Feeds not updated for longer than the scanner's staleness limit, `name (last checked …)`. */
  staleFeeds?: readonly string[];
}

const BLOCKING: ReadonlySet<VulnSeverity> = new Set(['CRITICAL', 'HIGH']);

/** `vulnerabilities-within-sla`: no critical or high vulnerability open longer than its SLA. The
 *  clock of each finding starts at its `detected` time. A breach found is a failure whatever else
 *  is missing; otherwise the check is `not-run` when the absence of a breach cannot be shown: an
 *  index with no feed or none covering the image's release, a stale feed (a distribution feed can
 *  add a record for a CVE published long ago, whose SLA has already run out), or a critical or high
 *  finding with no known date. */
export function vulnerabilitiesOutcome(scan: VulnerabilityScan | undefined, installedCount: number | undefined): Outcome {
  if (!scan) return { status: 'not-run', summary: 'no vulnerability index was given (--vuln-db), so the image was not scanned', evidence: [] };
  if (installedCount === undefined) return { status: 'not-run', summary: 'the image has no apk database (/lib/apk/db/installed), so its packages cannot be matched to vulnerabilities', evidence: [{ path: scan.index, detail: 'vulnerability index' }] };
  const policy = scan.policy ?? DEFAULT_SLA;
  const serious = scan.findings.filter((finding) => BLOCKING.has(finding.severity));
  const dated = serious.filter((finding) => finding.detected);
  const undated = serious.filter((finding) => !finding.detected);
  // The SLA arithmetic of `kiln vuln sla`: one synthetic advisory per finding, detected at its
  // clock start and still open (the image still ships the vulnerable version).
  const entries = dated.map((finding) => {
    const file: AdvisoryFile = { package: finding.package, advisories: [{ id: finding.id, aliases: [...finding.aliases], events: [{ timestamp: finding.detected!.at, type: 'detected' }] }] };
    return { finding, entry: slaReport([{ file }], { now: new Date(scan.now), policy, severityOf: () => finding.severity })[0]! };
  });
  const evidence: Evidence[] = [{ path: scan.index, detail: `vulnerability index; feeds: ${scan.feeds.join(', ') || 'none'}` }];
  const breached = entries.filter(({ entry }) => entry.breached).map(({ entry }) => entry);
  for (const { finding, entry } of entries) {
    const started = Date.parse(finding.detected!.at);
    const vulnerability: OpenVulnerability = {
      id: entry.id,
      package: finding.package,
      version: finding.version,
      severity: entry.severity === 'CRITICAL' ? 'critical' : 'high',
      detectedAt: finding.detected!.at,
      detectedFrom: finding.detected!.from,
      daysOpen: entry.daysOpen,
      slaDays: entry.slaDays,
      ...(Number.isNaN(started) ? {} : { dueAt: new Date(started + entry.slaDays * 86_400_000).toISOString() }),
      isBreached: entry.breached,
      ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
    };
    evidence.push({ detail: `${entry.id} in ${finding.package} ${finding.version} (${entry.severity.toLowerCase()}): open ${entry.daysOpen} day(s) since ${finding.detected!.at} (${finding.detected!.from}), SLA ${entry.slaDays} day(s): ${entry.breached ? 'breached' : 'within'}${finding.fixedVersion ? `; fixed in ${finding.fixedVersion}` : '; no fix known'}`, vulnerability });
  }
  for (const finding of undated) evidence.push({ detail: `${finding.id} in ${finding.package} ${finding.version} (${finding.severity.toLowerCase()}): no detection or publication date known` });
  for (const warning of scan.warnings ?? []) evidence.push({ detail: `scan warning: ${warning}` });
  const others = scan.findings.length - serious.length;
  const tail = `${others ? `; ${others} finding(s) of lower or unknown severity` : ''}`;
  if (breached.length) {
    return { status: 'fail', summary: `${breached.length} critical or high vulnerabilit${breached.length === 1 ? 'y is' : 'ies are'} past the SLA: ${breached.slice(0, 5).map((entry) => `${entry.id} in ${entry.package} (${entry.daysOpen} > ${entry.slaDays} days)`).join(', ')}${tail}`, evidence };
  }
  const unshown = [
    ...(scan.feeds.length ? (scan.coverageGap ? [scan.coverageGap] : []) : ['the vulnerability index holds no feed']),
    ...(scan.staleFeeds?.length ? [`stale feed(s): ${scan.staleFeeds.join(', ')} (run kiln vuln db update)`] : []),
    ...(undated.length ? [`${undated.length} critical or high vulnerabilit${undated.length === 1 ? 'y has' : 'ies have'} no known detection date, so the SLA cannot be checked: ${undated.slice(0, 5).map((finding) => `${finding.id} in ${finding.package}`).join(', ')}`] : []),
  ];
  if (unshown.length) return { status: 'not-run', summary: `no breach found, but none can be ruled out: ${unshown.join('; ')}`, evidence };
  return {
    status: 'pass',
    summary: serious.length
      ? `${serious.length} critical or high vulnerabilit${serious.length === 1 ? 'y is' : 'ies are'} open but within the SLA (${installedCount} package(s) scanned)${tail}`
      : `no critical or high vulnerability in ${installedCount} package(s)${tail}`,
    evidence,
  };
}

/** A repository index verified against the keyring: where it came from, the key that signed it,
 *  and its records (name, version, identity). `error` when it could not be verified. */
export interface VerifiedPackageIndex {
  source: string;
  signedBy?: string;
  records: ReadonlyArray<{ name: string; version: string; identity: string }>;
  error?: string;
}

/** `packages-signed`: each installed package's identity (`C:`, the checksum of its signed control
 *  member) is the identity a signed, trusted index gives for that name and version. */
export function packagesSignedOutcome(indexes: readonly VerifiedPackageIndex[] | undefined, installed: readonly InstalledPackage[] | undefined, db: { path: string; digest?: string } | undefined): Outcome {
  if (!installed || !db) return { status: 'not-run', summary: 'the image has no apk database (/lib/apk/db/installed), so its packages are unknown', evidence: [] };
  const dbEvidence: Evidence = { path: db.path, ...(db.digest ? { digest: db.digest } : {}), detail: `${installed.length} installed package(s)` };
  if (!indexes) {
    return { status: 'not-run', summary: `no signed repository index and keyring were given (--repository, --keyring), so the ${installed.length} package(s) could not be traced to signed indexes (kiln image build verifies them when it builds)`, evidence: [dbEvidence] };
  }
  const evidence: Evidence[] = [dbEvidence];
  const trusted = indexes.filter((index) => !index.error && index.signedBy);
  for (const index of indexes) evidence.push({ path: index.source, detail: index.error ? `not verified: ${index.error}` : index.signedBy ? `signed by ${index.signedBy}; ${index.records.length} record(s)` : 'unsigned (not trusted)' });
  const known = new Map<string, { identity: string; source: string }[]>();
  for (const index of trusted) for (const record of index.records) known.set(`${record.name}@${record.version}`, [...(known.get(`${record.name}@${record.version}`) ?? []), { identity: record.identity, source: index.source }]);
  const problems: string[] = [];
  for (const { record } of installed) {
    const key = `${record.name}@${record.version}`;
    const candidates = known.get(key);
    if (!record.identity) problems.push(`${key} records no identity (C:)`);
    else if (!candidates) problems.push(`${key} is in no trusted index`);
    else if (!candidates.some((candidate) => candidate.identity === record.identity)) problems.push(`${key} has identity ${record.identity}, the index says ${candidates[0]!.identity}`);
  }
  for (const problem of problems) evidence.push({ path: db.path, detail: problem });
  if (!trusted.length) return { status: 'fail', summary: `none of the ${indexes.length} index(es) verified with the keyring`, evidence };
  if (problems.length) return { status: 'fail', summary: `${problems.length} of ${installed.length} package(s) not traced to a signed index: ${problems.slice(0, 5).join('; ')}`, evidence };
  return { status: 'pass', summary: `all ${installed.length} installed package(s) have the identity their signed index records (${trusted.map((index) => `${index.source} signed by ${index.signedBy}`).join(', ')})`, evidence };
}

/** A second build of the image, read from where the user put it. */
export interface RebuiltImage {
  source: string;
  /** Whether it was found (a platform matching the checked image). */
  manifestDigest?: string;
  configDigest?: string;
}

/** What rebuilding a registry image from its verified SLSA provenance found (`--reproduce`): the
 *  digest reproduced, the rebuild differed (each difference named, with its platform when known), or
 *  the provenance could not be used (it did not verify, or lacks the inputs to rebuild). */
export type Reproduction =
  | { status: 'reproduced'; digest: string; provenance: string; verifiedBy?: string }
  | { status: 'differs'; digest: string; rebuilt: string; provenance: string; verifiedBy?: string; differences: ReadonlyArray<{ platform?: string; detail: string }> }
  | { status: 'unverifiable'; reason: string; digest?: string };

function reproductionOutcome(reproduction: Reproduction, platform: string): Outcome {
  if (reproduction.status === 'unverifiable') {
    return { status: 'not-run', summary: `not reproduced: ${reproduction.reason}`, evidence: reproduction.digest ? [{ digest: reproduction.digest, detail: 'published image' }] : [] };
  }
  const by = reproduction.verifiedBy ? `, verified by ${reproduction.verifiedBy}` : '';
  if (reproduction.status === 'reproduced') {
    return { status: 'pass', summary: `reproduced from provenance: the rebuild is ${reproduction.digest}`, evidence: [{ digest: reproduction.digest, detail: `reproduced from provenance (${reproduction.provenance}${by})` }] };
  }
  const mine = reproduction.differences.filter((item) => item.platform === undefined || item.platform === platform);
  const shown = mine.length ? mine : reproduction.differences;
  return {
    status: 'fail',
    summary: `not reproduced: published ${reproduction.digest}, rebuilt from provenance ${reproduction.rebuilt}${shown.length ? `: ${shown.slice(0, 5).map((item) => item.detail).join('; ')}` : ''}`,
    evidence: [
      { digest: reproduction.digest, detail: 'published image' },
      { digest: reproduction.rebuilt, detail: `rebuilt from provenance (${reproduction.provenance}${by})` },
      ...shown.map((item) => ({ detail: item.platform ? `${item.platform}: ${item.detail}` : item.detail })),
    ],
  };
}

/** `reproducible`: with a reproduction from provenance, its verdict; else a rebuild has the same
 *  config digest (which fixes the created time and every uncompressed layer's diff id) and, when
 *  both sides record one, the same manifest digest. */
export function reproducibleOutcome(rebuilt: RebuiltImage | undefined, image: { manifestDigest?: string; configDigest: string; platform: string }, reproduction?: Reproduction): Outcome {
  if (reproduction) return reproductionOutcome(reproduction, image.platform);
  if (!rebuilt) return { status: 'not-run', summary: 'no rebuild was given to compare with (--rebuilt PATH: the output of kiln image reproduce or a second kiln image build of the same inputs)', evidence: [] };
  if (!rebuilt.configDigest) return { status: 'not-run', summary: `${rebuilt.source} has no image for ${image.platform}`, evidence: [{ path: rebuilt.source, detail: 'rebuild' }] };
  const evidence: Evidence[] = [
    { digest: image.configDigest, detail: 'config of the checked image' },
    { path: rebuilt.source, digest: rebuilt.configDigest, detail: 'config of the rebuild' },
    ...(image.manifestDigest ? [{ digest: image.manifestDigest, detail: 'manifest of the checked image' }] : []),
    ...(rebuilt.manifestDigest ? [{ path: rebuilt.source, digest: rebuilt.manifestDigest, detail: 'manifest of the rebuild' }] : []),
  ];
  if (rebuilt.configDigest !== image.configDigest) return { status: 'fail', summary: `the rebuild's config ${rebuilt.configDigest} differs from ${image.configDigest}`, evidence };
  if (image.manifestDigest && rebuilt.manifestDigest && image.manifestDigest !== rebuilt.manifestDigest) {
    return { status: 'fail', summary: `same config, but the rebuild's manifest ${rebuilt.manifestDigest} differs from ${image.manifestDigest} (compressed layers differ)`, evidence };
  }
  const both = image.manifestDigest && rebuilt.manifestDigest;
  return { status: 'pass', summary: `the rebuild in ${rebuilt.source} has the same ${both ? 'manifest and config' : 'config'} digest`, evidence };
}
