import { join } from 'node:path';
import { compareDebianVersions, parseChangelog } from '../debian/index.ts';
import { pathExists, readInputText, writeFileAtomic } from '../lib/index.ts';
import { VulnError } from './errors.ts';
import { parseAdvisoryFile } from './format/advisory.ts';
import type { AdvisoryEvent, AdvisoryFile } from './format/advisory.ts';
import { addAdvisoryEvent, applyChangelogFixes, changelogFixes, stringifyAdvisoryFile } from './format/advisory-edit.ts';
import type { AddEventOptions } from './format/advisory-edit.ts';
import { applyTrackerStatements } from './format/debian-tracker-derive.ts';
import type { TrackerDerivation, TrackerSource, TrackerStatement } from './format/debian-tracker-derive.ts';

// Reads and writes the advisories files of a directory (`<origin>.yaml`): every write is validated
// first and atomic (temporary file, fsync, rename), so a reader never sees half a file.

const PACKAGE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function fileOf(dir: string, pkg: string): string {
  if (!PACKAGE.test(pkg)) throw new VulnError('VULN_ADVISORY_INVALID', `${pkg}: not an apk package name`, { detail: { package: pkg } });
  return join(dir, `${pkg}.yaml`);
}

/** The advisories file of a package, or undefined when it has none. */
export async function readAdvisoryFile(dir: string, pkg: string): Promise<AdvisoryFile | undefined> {
  const path = fileOf(dir, pkg);
  if (!(await pathExists(path))) return undefined;
  return parseAdvisoryFile(await readInputText(path, { what: 'advisories file' }), path, pkg);
}

/** Writes a package's advisories file atomically (the directory is created when missing). */
export async function writeAdvisoryFile(dir: string, file: AdvisoryFile): Promise<string> {
  const path = fileOf(dir, file.package);
  await writeFileAtomic(path, stringifyAdvisoryFile(file));
  return path;
}

/** `kiln advisory create|update`: appends one event to a package's advisory for a vulnerability. */
export async function recordAdvisoryEvent(dir: string, pkg: string, id: string, event: AdvisoryEvent, options: Omit<AddEventOptions, 'where'>): Promise<{ path: string; file: AdvisoryFile }> {
  const path = fileOf(dir, pkg);
  const file = addAdvisoryEvent(await readAdvisoryFile(dir, pkg), pkg, id, event, { ...options, where: path });
  await writeAdvisoryFile(dir, file);
  return { path, file };
}

/** A built Kiln OS package and the Debian changelog of the source it was built from. */
export interface ChangelogSource {
  /** Origin package name (the advisories file's name). */
  name: string;
  /** The built apk version (`3.0.20-r0`). */
  version: string;
  /** The Debian version the recipe builds (`3.0.20-1~deb12u2`). */
  debianVersion: string;
  changelog: string;
  /** Names the changelog in messages. */
  changelogName: string;
}

/** What {@link deriveChangelogAdvisories} did for one package. */
export interface ChangelogDerivation {
  package: string;
  version: string;
  debianVersion: string;
  /** CVEs the changelog names at or below the built Debian version. */
  cves: number;
  /** Ids that gained a `fixed` event. */
  added: string[];
  path?: string;
}

/** Adds a `fixed` event at the built version for every CVE a package's Debian changelog names at
 *  or below the Debian version it was built from (the changelog line is the evidence); a file is
 *  written only when it changes, so a second run changes nothing. */
export async function deriveChangelogAdvisories(dir: string, sources: readonly ChangelogSource[], options: { dryRun?: boolean } = {}): Promise<ChangelogDerivation[]> {
  const results: ChangelogDerivation[] = [];
  for (const source of sources) {
    const parsed = parseChangelog(source.changelog);
    if (parsed.problems.length > 0) throw new VulnError('VULN_ADVISORY_INVALID', `${source.changelogName}: ${parsed.problems[0]}`, { detail: { file: source.changelogName } });
    const fixes = changelogFixes(parsed.entries, source.debianVersion, compareDebianVersions);
    const path = fileOf(dir, source.name);
    const { file, added } = applyChangelogFixes(await readAdvisoryFile(dir, source.name), source.name, source.version, fixes, path);
    const result: ChangelogDerivation = { package: source.name, version: source.version, debianVersion: source.debianVersion, cves: fixes.length, added };
    if (added.length > 0 && !options.dryRun) result.path = await writeAdvisoryFile(dir, file);
    results.push(result);
  }
  return results;
}

/** What {@link deriveTrackerAdvisories} did for one package. */
export interface TrackerPackageDerivation {
  package: string;
  version: string;
  debianPackage: string;
  debianVersion: string;
  added: TrackerDerivation['added'];
  skipped: TrackerDerivation['skipped'];
  path?: string;
}

/** Adds the `fixed` and `not-affected` events Debian's security tracker proves for each package
 *  (see format/debian-tracker-derive.ts); a file is written only when it changes. */
export async function deriveTrackerAdvisories(
  dir: string,
  sources: readonly TrackerSource[],
  statements: readonly TrackerStatement[],
  options: { release: string; now: Date; dryRun?: boolean },
): Promise<TrackerPackageDerivation[]> {
  const results: TrackerPackageDerivation[] = [];
  for (const source of sources) {
    const path = fileOf(dir, source.name);
    const derived = applyTrackerStatements(await readAdvisoryFile(dir, source.name), source, statements, { release: options.release, compareDebian: compareDebianVersions, now: options.now.toISOString().replace(/\.\d{3}Z$/, 'Z'), where: path });
    const result: TrackerPackageDerivation = { package: source.name, version: source.version, debianPackage: source.debianPackage, debianVersion: source.debianVersion, added: derived.added, skipped: derived.skipped };
    if (derived.added.length > 0 && !options.dryRun) result.path = await writeAdvisoryFile(dir, derived.file);
    results.push(result);
  }
  return results;
}
