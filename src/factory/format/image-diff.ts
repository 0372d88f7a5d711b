import { diffPackages } from './history.ts';
import type { CveDiff, HistoryPackage, PackageDiff } from './history.ts';

// Pure: the difference between two images (per platform) from what was read out of them — the
// packages (apk database), every file's metadata and content digest, layer sizes, the runtime
// config. `kiln image diff` prints it; `kiln image reproduce` uses it to name what differs.

/** One path in an image's filesystem after its layers are applied. */
export interface SnapshotFile {
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'chardev' | 'blockdev' | 'fifo';
  /** Permission bits and setuid/setgid/sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes (0 for anything but regular files). */
  size: number;
  /** `sha256:<hex>` of a regular file's content. */
  digest?: string;
  /** Target of a symbolic or hard link. */
  linkName?: string;
  /** Seconds since the epoch, as the layer records it. */
  mtime: number;
  /** Index of the layer the path comes from (bottom = 0). */
  layer: number;
}

/** One layer: its digest as stored and its size compressed (as stored) and uncompressed (the tar). */
export interface SnapshotLayer {
  digest: string;
  compressedSize: number;
  uncompressedSize: number;
}

/** Everything the diff compares of one single-platform image. */
export interface ImageSnapshot {
  /** `os/arch[/variant]`. */
  platform: string;
  /** Digest of the image manifest, when the source has one (docker archives do not). */
  manifestDigest?: string;
  configDigest: string;
  layers: SnapshotLayer[];
  files: ReadonlyMap<string, SnapshotFile>;
  /** Installed apk packages; empty when the image has no apk database. */
  packages: HistoryPackage[];
  /** The image config's `config` object (Entrypoint, Cmd, Env, User, WorkingDir, Labels …). */
  runtime: Record<string, unknown>;
}

/** A path present in both images whose metadata or content differs, and in what. */
export interface ChangedFile {
  path: string;
  /** Which properties differ: type, mode, owner, size, content, link, mtime. */
  what: string[];
  before: SnapshotFile;
  after: SnapshotFile;
}

/** Layer totals of one side. */
export interface SizeTotals {
  layers: number;
  compressed: number;
  uncompressed: number;
}

/** The difference between two single-platform images. */
export interface PlatformDiff {
  platform: string;
  before: { manifestDigest?: string; configDigest: string; size: SizeTotals };
  after: { manifestDigest?: string; configDigest: string; size: SizeTotals };
  /** True when the two are byte-identical (same manifest digest, or same config and layers). */
  identical: boolean;
  /** Layer positions whose digests differ (index, before and after; absent past the end). */
  layers: Array<{ index: number; before?: SnapshotLayer; after?: SnapshotLayer }>;
  packages: PackageDiff;
  files: {
    added: Array<{ path: string } & SnapshotFile>;
    removed: Array<{ path: string } & SnapshotFile>;
    changed: ChangedFile[];
  };
  /** Runtime config fields that differ (Entrypoint, Env, User …; maps key by key: `Labels.<key>`), as JSON values. */
  config: Array<{ field: string; before?: unknown; after?: unknown }>;
  /** CVE difference, or why it was not computed. */
  cves: CveDiff | { notScanned: string };
}

/** The whole comparison: platforms on one side only, and a diff per common platform. */
export interface ImageDiff {
  before: string;
  after: string;
  onlyBefore: string[];
  onlyAfter: string[];
  platforms: PlatformDiff[];
}

/** Options of {@link diffSnapshots}. */
export interface DiffSnapshotOptions {
  /** Report modification times that differ (reproduce wants them; comparing releases does not). */
  compareMtime?: boolean;
}

function totals(layers: readonly SnapshotLayer[]): SizeTotals {
  return {
    layers: layers.length,
    compressed: layers.reduce((sum, layer) => sum + layer.compressedSize, 0),
    uncompressed: layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0),
  };
}

function fileChanges(before: SnapshotFile, after: SnapshotFile, compareMtime: boolean): string[] {
  const what: string[] = [];
  if (before.type !== after.type) what.push('type');
  if (before.mode !== after.mode) what.push('mode');
  if (before.uid !== after.uid || before.gid !== after.gid) what.push('owner');
  if (before.size !== after.size) what.push('size');
  if (before.digest !== after.digest) what.push('content');
  if ((before.linkName ?? '') !== (after.linkName ?? '')) what.push('link');
  if (compareMtime && before.mtime !== after.mtime) what.push('mtime');
  return what;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The difference of two single-platform images; `cves` is filled in by the caller (it needs an index). */
export function diffSnapshots(before: ImageSnapshot, after: ImageSnapshot, options: DiffSnapshotOptions = {}): Omit<PlatformDiff, 'cves'> {
  const compareMtime = options.compareMtime ?? false;
  const added: PlatformDiff['files']['added'] = [];
  const removed: PlatformDiff['files']['removed'] = [];
  const changed: ChangedFile[] = [];
  for (const [path, file] of before.files) {
    const other = after.files.get(path);
    if (!other) removed.push({ path, ...file });
    else {
      const what = fileChanges(file, other, compareMtime);
      if (what.length) changed.push({ path, what, before: file, after: other });
    }
  }
  for (const [path, file] of after.files) if (!before.files.has(path)) added.push({ path, ...file });
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const layers: PlatformDiff['layers'] = [];
  for (let index = 0; index < Math.max(before.layers.length, after.layers.length); index++) {
    const old = before.layers[index];
    const now = after.layers[index];
    if (old?.digest !== now?.digest) layers.push({ index, ...(old ? { before: old } : {}), ...(now ? { after: now } : {}) });
  }
  const config: PlatformDiff['config'] = [];
  for (const field of [...new Set([...Object.keys(before.runtime), ...Object.keys(after.runtime)])].sort()) {
    const old = before.runtime[field];
    const now = after.runtime[field];
    if (sameJson(old, now)) continue;
    // Maps (Labels, ExposedPorts, Volumes) are compared key by key so one changed label is one line.
    if (isRecord(old) && isRecord(now)) {
      for (const key of [...new Set([...Object.keys(old), ...Object.keys(now)])].sort()) {
        if (!sameJson(old[key], now[key])) config.push({ field: `${field}.${key}`, ...(old[key] !== undefined ? { before: old[key] } : {}), ...(now[key] !== undefined ? { after: now[key] } : {}) });
      }
    } else config.push({ field, ...(old !== undefined ? { before: old } : {}), ...(now !== undefined ? { after: now } : {}) });
  }
  const identical = before.manifestDigest && after.manifestDigest ? before.manifestDigest === after.manifestDigest : before.configDigest === after.configDigest && layers.length === 0;
  return {
    platform: before.platform,
    before: { ...(before.manifestDigest ? { manifestDigest: before.manifestDigest } : {}), configDigest: before.configDigest, size: totals(before.layers) },
    after: { ...(after.manifestDigest ? { manifestDigest: after.manifestDigest } : {}), configDigest: after.configDigest, size: totals(after.layers) },
    identical,
    layers,
    packages: diffPackages(before.packages, after.packages),
    files: { added: added.sort(byPath), removed: removed.sort(byPath), changed: changed.sort(byPath) },
    config,
  };
}

function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(1)} ${units[unit]!}`;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '-'}${bytes(Math.abs(value))}`;
}

function mode(file: SnapshotFile): string {
  return `0${file.mode.toString(8).padStart(3, '0')}`;
}

/** A short human-readable description of one changed file (`content, size 10 B → 12 B`). */
export function describeChange(change: ChangedFile): string {
  const parts = change.what.map((what) => {
    if (what === 'size') return `size ${bytes(change.before.size)} → ${bytes(change.after.size)}`;
    if (what === 'mode') return `mode ${mode(change.before)} → ${mode(change.after)}`;
    if (what === 'owner') return `owner ${change.before.uid}:${change.before.gid} → ${change.after.uid}:${change.after.gid}`;
    if (what === 'type') return `type ${change.before.type} → ${change.after.type}`;
    if (what === 'link') return `link ${change.before.linkName ?? ''} → ${change.after.linkName ?? ''}`;
    if (what === 'mtime') return `mtime ${change.before.mtime} → ${change.after.mtime}`;
    return what;
  });
  return `${parts.join(', ')} (layer ${change.after.layer})`;
}

/** The diff as a terminal table: per platform the sizes, packages, files, config and CVEs. */
export function formatImageDiffTable(diff: ImageDiff, options: { maxFiles?: number } = {}): string {
  const maxFiles = options.maxFiles ?? 50;
  const lines: string[] = [`--- ${diff.before}`, `+++ ${diff.after}`];
  for (const platform of diff.onlyBefore) lines.push(`platform ${platform}: only in ${diff.before}`);
  for (const platform of diff.onlyAfter) lines.push(`platform ${platform}: only in ${diff.after}`);
  for (const item of diff.platforms) {
    lines.push('', `== ${item.platform}${item.identical ? ' (identical)' : ''}`);
    const b = item.before.size;
    const a = item.after.size;
    lines.push(`size: ${b.layers} → ${a.layers} layers, compressed ${bytes(b.compressed)} → ${bytes(a.compressed)} (${signed(a.compressed - b.compressed)}), uncompressed ${bytes(b.uncompressed)} → ${bytes(a.uncompressed)} (${signed(a.uncompressed - b.uncompressed)})`);
    for (const layer of item.layers) lines.push(`layer ${layer.index}: ${layer.before?.digest ?? '(none)'} → ${layer.after?.digest ?? '(none)'}`);
    const { added, removed, upgraded } = item.packages;
    lines.push(`packages: ${added.length} added, ${removed.length} removed, ${upgraded.length} upgraded`);
    for (const pkg of added) lines.push(`  + ${pkg.name} ${pkg.version}`);
    for (const pkg of removed) lines.push(`  - ${pkg.name} ${pkg.version}`);
    for (const pkg of upgraded) lines.push(`  ~ ${pkg.name} ${pkg.from} → ${pkg.to}`);
    const files = item.files;
    lines.push(`files: ${files.added.length} added, ${files.removed.length} removed, ${files.changed.length} changed`);
    const what = (file: SnapshotFile) => (file.type === 'file' ? `file, ${bytes(file.size)}` : file.linkName ? `${file.type} → ${file.linkName}` : file.type);
    const fileLines = [
      ...files.added.map((file) => `  + ${file.path} (${what(file)})`),
      ...files.removed.map((file) => `  - ${file.path} (${what(file)})`),
      ...files.changed.map((change) => `  ~ ${change.path}: ${describeChange(change)}`),
    ];
    lines.push(...fileLines.slice(0, maxFiles));
    if (fileLines.length > maxFiles) lines.push(`  … ${fileLines.length - maxFiles} more (--json lists all)`);
    for (const field of item.config) lines.push(`config ${field.field}: ${JSON.stringify(field.before ?? null)} → ${JSON.stringify(field.after ?? null)}`);
    if ('notScanned' in item.cves) lines.push(`cves: not scanned: ${item.cves.notScanned}`);
    else {
      const open = item.cves.open;
      lines.push(`cves: ${item.cves.fixed.length} fixed, ${item.cves.introduced.length} introduced; open after: ${open.critical} critical, ${open.high} high, ${open.medium} medium, ${open.low} low, ${open.unknown} unknown`);
      for (const id of item.cves.fixed) lines.push(`  fixed ${id}`);
      for (const id of item.cves.introduced) lines.push(`  new   ${id}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
