import { addAdvisoryEvent } from './advisory-edit.ts';
import { currentEvent } from './advisory.ts';
import type { AdvisoryEvent, AdvisoryFile, VexJustification } from './advisory.ts';
import { parseDebianAdvisoryList, parseDebianCveList } from './debian-tracker.ts';
import { debianRelease } from './ecosystem.ts';
import type { AffectedRecord, FeedWarning } from './model.ts';

// Pure: advisory events from Debian's security tracker data for Kiln OS packages built from Debian
// sources. For the release a recipe builds from (bookworm by default), the tracker's line for that
// release decides; without one, the unstable line does, as the tracker itself compares a release's
// version against the unstable fix when the release has no line of its own. A fixed version at or
// below the Debian version built gives a `fixed` event at the built apk version; `<not-affected>`
// (and "fixed in version 0") gives a `not-affected` event when the tracker's reason maps to an
// OpenVEX justification, and is reported as skipped otherwise (never guessed).

/** One tracker statement about a source package in one release, with its evidence. */
export interface TrackerStatement {
  record: AffectedRecord;
  /** `data/DSA/list:3: [bullseye] - curl 7.74.0-1.3+deb11u7` */
  evidence: string;
  /** The advisory's date (DSA/DLA lists); the CVE list has none. */
  date?: string;
}

/** Every statement of a tracker file: `data/CVE/list` or a DSA/DLA list (told apart by their first
 *  line: advisory lists start with `[date]`). Malformed lines are returned as warnings. */
export function trackerStatements(text: string, source: string): { statements: TrackerStatement[]; warnings: FeedWarning[] } {
  const statements: TrackerStatement[] = [];
  const isAdvisoryList = /^\[/.test(text.trimStart());
  const options = { feed: 'debian-tracker', source, onStatement: (record: AffectedRecord, at: { where: string; line: string; date?: string }) => statements.push({ record, evidence: `Debian security tracker ${at.where}: ${at.line}`, ...(at.date ? { date: at.date } : {}) }) };
  const parsed = isAdvisoryList ? parseDebianAdvisoryList(text, options) : parseDebianCveList(text, options);
  return { statements, warnings: parsed.warnings };
}

/** The OpenVEX justification a tracker `<not-affected>` reason states, or undefined when it states none. */
export function justificationOfTrackerNote(note: string | undefined): VexJustification | undefined {
  if (!note) return undefined;
  if (/never affected|vulnerable code (is )?not (present|included)|code not present|not (yet )?introduced|introduced (later|in)|vulnerable feature (was )?(added|introduced) later/i.test(note)) return 'vulnerable_code_not_present';
  if (/not (built|compiled|enabled|shipped)|disabled at build|no binary package/i.test(note)) return 'vulnerable_code_not_in_execute_path';
  return undefined;
}

/** A Kiln OS package, the Debian source it builds and the version of that source. */
export interface TrackerSource {
  /** Origin package name (the advisories file's name). */
  name: string;
  /** The built apk version (`1.2.13-r0`). */
  version: string;
  /** Debian source package name (the recipe's `debian/source` `package`). */
  debianPackage: string;
  debianVersion: string;
}

/** What {@link applyTrackerStatements} did for one package. */
export interface TrackerDerivation {
  file: AdvisoryFile;
  /** Ids that gained an event, with its type. */
  added: Array<{ id: string; type: 'fixed' | 'not-affected' }>;
  /** Statements that apply but gave no event, and why. */
  skipped: Array<{ id: string; reason: string }>;
}

/** Options of {@link applyTrackerStatements}. */
export interface ApplyTrackerOptions {
  /** Debian codename the packages are built from (`bookworm`). */
  release: string;
  compareDebian: (a: string, b: string) => number;
  /** Date for events whose statement has none (the CVE list), unless the advisory's latest event is later. */
  now: string;
  where: string;
}

/** The statements that decide for one source package in one release: per vulnerability the
 *  release's own line, else the unstable line. */
function deciding(statements: readonly TrackerStatement[], debianPackage: string, release: string): TrackerStatement[] {
  const releaseEcosystem = debianRelease(release);
  const byId = new Map<string, { own?: TrackerStatement; sid?: TrackerStatement }>();
  for (const statement of statements) {
    if (statement.record.package !== debianPackage) continue;
    const slot = byId.get(statement.record.vulnerability) ?? {};
    if (statement.record.ecosystem === releaseEcosystem) slot.own ??= statement;
    else if (statement.record.ecosystem === 'debian:sid') slot.sid ??= statement;
    byId.set(statement.record.vulnerability, slot);
  }
  return [...byId.values()].flatMap((slot) => (slot.own ?? slot.sid ? [(slot.own ?? slot.sid)!] : [])).sort((a, b) => (a.record.vulnerability < b.record.vulnerability ? -1 : 1));
}

/** The file with the events the tracker proves for one package. An advisory already fixed,
 *  not-affected or a false positive is left alone, so a second run adds nothing. */
export function applyTrackerStatements(file: AdvisoryFile | undefined, source: TrackerSource, statements: readonly TrackerStatement[], options: ApplyTrackerOptions): TrackerDerivation {
  let current = file;
  const added: TrackerDerivation['added'] = [];
  const skipped: TrackerDerivation['skipped'] = [];
  for (const statement of deciding(statements, source.debianPackage, options.release)) {
    const { record } = statement;
    const id = record.vulnerability;
    const existing = current?.advisories.find((advisory) => advisory.id === id);
    if (existing?.events.some((event) => event.type === 'fixed' || event.type === 'not-affected' || event.type === 'false-positive')) continue;
    let data: AdvisoryEvent['data'];
    let type: 'fixed' | 'not-affected';
    if (record.status === 'not-affected') {
      const justification = justificationOfTrackerNote(record.note);
      if (!justification) {
        skipped.push({ id, reason: `not affected, but the tracker's reason ${JSON.stringify(record.note ?? '')} states no OpenVEX justification (${statement.evidence})` });
        continue;
      }
      type = 'not-affected';
      data = { justification, impact: statement.evidence };
    } else {
      const fixed = record.ranges[0]?.fixed;
      if (fixed === undefined) continue; // open in Debian too: nothing proven
      if (options.compareDebian(source.debianVersion, fixed) < 0) {
        skipped.push({ id, reason: `fixed in Debian ${fixed}, above the ${source.debianVersion} built` });
        continue;
      }
      type = 'fixed';
      data = { version: source.version, evidence: statement.evidence };
    }
    const latest = existing ? currentEvent(existing).timestamp : undefined;
    const dated = statement.date ?? options.now;
    const timestamp = latest && Date.parse(latest) > Date.parse(dated) ? latest : dated;
    current = addAdvisoryEvent(current, source.name, id, { timestamp, type, data } as AdvisoryEvent, { mode: 'upsert', aliases: record.aliases, where: options.where });
    added.push({ id, type });
  }
  return { file: current ?? { package: source.name, advisories: [] }, added, skipped };
}
