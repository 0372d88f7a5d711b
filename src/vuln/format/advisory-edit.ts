import { stringify } from 'yaml';
import { compareVersions } from '../../apk/index.ts';
import { VulnError } from '../errors.ts';
import { advisoryFileSchema, currentEvent } from './advisory.ts';
import type { AdvisoryEvent, AdvisoryFile } from './advisory.ts';

// Pure: edits of Kiln advisories files — one event added by hand (`kiln advisory create|update`)
// and the `fixed` events a Kiln OS package's Debian changelog proves — and their YAML text.

/** A CVE a Debian changelog entry names, at or below the Debian version a package was built from. */
export interface ChangelogFix {
  id: string;
  /** The Debian version of the (oldest) entry that names it. */
  debianVersion: string;
  source: string;
  /** The changelog line naming it: the evidence. */
  line: string;
  /** The entry's date (ISO 8601). */
  timestamp: string;
}

/** A changelog entry as src/debian's parseChangelog gives it (the fields used here). */
export interface ChangelogEntryLike {
  source: string;
  version: string;
  timestamp: number;
  cves: ReadonlyArray<{ id: string; line: string }>;
}

/** The CVEs the entries at or below `builtVersion` name, each with the oldest entry naming it
 *  (where the fix came in). `compareDebian` orders Debian versions. */
export function changelogFixes(entries: readonly ChangelogEntryLike[], builtVersion: string, compareDebian: (a: string, b: string) => number): ChangelogFix[] {
  const fixes = new Map<string, ChangelogFix>();
  for (const entry of entries) {
    if (compareDebian(entry.version, builtVersion) > 0) continue;
    for (const cve of entry.cves) {
      const known = fixes.get(cve.id);
      if (known && compareDebian(known.debianVersion, entry.version) <= 0) continue;
      fixes.set(cve.id, { id: cve.id, debianVersion: entry.version, source: entry.source, line: cve.line, timestamp: new Date(entry.timestamp * 1000).toISOString().replace('.000Z', 'Z') });
    }
  }
  return [...fixes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function validated(file: AdvisoryFile, where: string): AdvisoryFile {
  const parsed = advisoryFileSchema.safeParse(file);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
    throw new VulnError('VULN_ADVISORY_INVALID', `${where}: ${field || 'document'}: ${issue.message}`, { detail: { file: where, field } });
  }
  return parsed.data;
}

/** Options of {@link addAdvisoryEvent}. */
export interface AddEventOptions {
  /** `create`: the advisory must not exist yet; `update`: it must; `upsert`: either. */
  mode: 'create' | 'update' | 'upsert';
  aliases?: readonly string[];
  /** Names the file in errors. */
  where: string;
}

/** The file with one event appended to a vulnerability's advisory (the advisory created when
 *  absent), validated against the schema: an event earlier than the current one is refused. */
export function addAdvisoryEvent(file: AdvisoryFile | undefined, pkg: string, id: string, event: AdvisoryEvent, options: AddEventOptions): AdvisoryFile {
  const base: AdvisoryFile = file ?? { package: pkg, advisories: [] };
  const existing = base.advisories.find((advisory) => advisory.id === id);
  if (existing && options.mode === 'create') throw new VulnError('VULN_ADVISORY_INVALID', `${options.where}: ${id} already has an advisory (use kiln advisory update)`, { detail: { file: options.where, id } });
  if (!existing && options.mode === 'update') throw new VulnError('VULN_ADVISORY_INVALID', `${options.where}: ${pkg} has no advisory for ${id} (use kiln advisory create)`, { detail: { file: options.where, id } });
  const aliases = [...new Set([...(existing?.aliases ?? []), ...(options.aliases ?? [])])];
  const advisory = { id, ...(aliases.length ? { aliases } : {}), events: [...(existing?.events ?? []), event] };
  const advisories = existing ? base.advisories.map((item) => (item.id === id ? advisory : item)) : [...base.advisories, advisory].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return validated({ package: base.package, advisories }, options.where);
}

/** The file with a `fixed` event at `packageVersion` for every changelog fix the advisory does not
 *  already record as fixed at that version or earlier; `added` lists the ids that gained one. The
 *  event is dated by the changelog entry (or the advisory's latest event, if later). */
export function applyChangelogFixes(file: AdvisoryFile | undefined, pkg: string, packageVersion: string, fixes: readonly ChangelogFix[], where: string): { file: AdvisoryFile; added: string[] } {
  let current = file;
  const added: string[] = [];
  for (const fix of fixes) {
    const existing = current?.advisories.find((advisory) => advisory.id === fix.id);
    const latest = existing ? currentEvent(existing) : undefined;
    if (latest?.type === 'fixed' && compareVersions(latest.data.version, packageVersion) <= 0) continue;
    if (latest && (latest.type === 'not-affected' || latest.type === 'false-positive')) continue;
    const timestamp = latest && Date.parse(latest.timestamp) > Date.parse(fix.timestamp) ? latest.timestamp : fix.timestamp;
    const event: AdvisoryEvent = { timestamp, type: 'fixed', data: { version: packageVersion, evidence: `debian/changelog ${fix.source} ${fix.debianVersion}: ${fix.line}` } };
    current = addAdvisoryEvent(current, pkg, fix.id, event, { mode: 'upsert', where });
    added.push(fix.id);
  }
  return { file: current ?? validated({ package: pkg, advisories: [] }, where), added };
}

/** The YAML text of an advisories file (the schema's field order, one event per line). */
export function stringifyAdvisoryFile(file: AdvisoryFile): string {
  return stringify(file, { lineWidth: 0 });
}
