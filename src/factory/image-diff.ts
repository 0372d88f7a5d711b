import { ecosystemFromOsRelease, scanContents } from '../vuln/index.ts';
import type { VulnIndex } from '../vuln/index.ts';
import { diffSnapshots } from './format/image-diff.ts';
import type { ImageDiff, PlatformDiff } from './format/image-diff.ts';
import { diffCves } from './format/history.ts';
import type { SeverityCounts } from './format/history.ts';
import { readImageSnapshots } from './image-snapshot.ts';
import type { ImageBlobSource, ReadSnapshot } from './image-snapshot.ts';

// The image diff service: read both images through the source port, compare each common platform,
// and — when a vulnerability index is at hand — scan both sides for the CVE difference.

/** The message when no index is available. */
export const NOT_SCANNED_NO_INDEX = 'no vulnerability index (kiln vuln db update)';

/** Options of {@link diffImages}. */
export interface DiffImagesOptions {
  /** Compare only this platform (`linux/amd64` or `amd64`). */
  platform?: string;
  /** The local vulnerability index; without it CVEs are reported as not scanned. */
  vulnIndex?: VulnIndex;
  /** Why CVEs were not scanned, when `vulnIndex` is absent (default {@link NOT_SCANNED_NO_INDEX}). */
  notScannedReason?: string;
  /** The distribution's ecosystem when the images do not say (`wolfi`, `alpine:3.20` …), as `kiln scan --distro`. */
  ecosystem?: string;
  /** Report differing modification times too (reproduce). */
  compareMtime?: boolean;
}

function openIds(snapshot: ReadSnapshot, name: string, index: VulnIndex, override: string | undefined): { ids: string[]; counts: SeverityCounts } {
  const ecosystem = override ?? (snapshot.os ? ecosystemFromOsRelease(snapshot.os) : undefined);
  const report = scanContents(
    { target: name, kind: 'oci-layout', platform: snapshot.platform, ...(snapshot.os ? { os: snapshot.os } : {}), ...(ecosystem ? { ecosystem } : {}), packages: snapshot.installed, warnings: [] },
    index,
  );
  const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  const ids = new Set<string>();
  for (const finding of report.findings) {
    if (ids.has(finding.id)) continue;
    ids.add(finding.id);
    const key = finding.severity.toLowerCase() as keyof SeverityCounts;
    if (key in counts) counts[key]++;
    else counts.unknown++;
  }
  return { ids: [...ids], counts };
}

/** Compares `before` with `after`: platforms on one side only, and per common platform the
 *  packages, files, layer sizes, runtime config and (with an index) CVEs. */
export async function diffImages(before: ImageBlobSource, after: ImageBlobSource, options: DiffImagesOptions = {}): Promise<ImageDiff> {
  const read = { ...(options.platform ? { platform: options.platform } : {}) };
  const old = await readImageSnapshots(before, read);
  const now = await readImageSnapshots(after, read);
  const afterByPlatform = new Map(now.map((snapshot) => [snapshot.platform, snapshot]));
  const beforeByPlatform = new Map(old.map((snapshot) => [snapshot.platform, snapshot]));
  const platforms: PlatformDiff[] = [];
  for (const snapshot of old) {
    const other = afterByPlatform.get(snapshot.platform);
    if (!other) continue;
    const diff = diffSnapshots(snapshot, other, { compareMtime: options.compareMtime ?? false });
    let cves: PlatformDiff['cves'] = { notScanned: options.notScannedReason ?? NOT_SCANNED_NO_INDEX };
    if (options.vulnIndex) {
      const was = openIds(snapshot, before.name, options.vulnIndex, options.ecosystem);
      const is = openIds(other, after.name, options.vulnIndex, options.ecosystem);
      cves = diffCves(was.ids, is.ids, is.counts);
    }
    platforms.push({ ...diff, cves });
  }
  return {
    before: before.name,
    after: after.name,
    onlyBefore: old.filter((snapshot) => !afterByPlatform.has(snapshot.platform)).map((snapshot) => snapshot.platform),
    onlyAfter: now.filter((snapshot) => !beforeByPlatform.has(snapshot.platform)).map((snapshot) => snapshot.platform),
    platforms,
  };
}
