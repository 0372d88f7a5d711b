// debian/changelog: entries newest first, each with its version, date and the CVE ids it names. Pure.

/** One changelog entry. */
export interface ChangelogEntry {
  source: string;
  version: string;
  distributions: string;
  /** Seconds since the epoch of the trailer line's date. */
  timestamp: number;
  /** CVE ids named in the entry's text, each with the line that names it (the evidence). */
  cves: { id: string; line: string }[];
  /** The change lines (trimmed). */
  changes: string[];
}

const HEADER = /^(\S+) \(([^()\s]+)\) ([^;]*);/;
const TRAILER = /^ -- .*?<[^>]*> {1,2}(.+)$/;
const CVE = /CVE-\d{4}-\d{4,}/g;

/** Parses a changelog; entries without a parsable trailer date are refused by the caller through
 *  `problems`, which names the line. */
export function parseChangelog(text: string): { entries: ChangelogEntry[]; problems: string[] } {
  const entries: ChangelogEntry[] = [];
  const problems: string[] = [];
  let current: Omit<ChangelogEntry, 'timestamp'> | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const header = HEADER.exec(line);
    if (header) {
      current = { source: header[1]!, version: header[2]!, distributions: header[3]!.trim(), cves: [], changes: [] };
      return;
    }
    const trailer = TRAILER.exec(line);
    if (trailer && current) {
      const timestamp = Date.parse(trailer[1]!.trim());
      if (Number.isNaN(timestamp)) problems.push(`line ${index + 1}: date "${trailer[1]!.trim()}" does not parse`);
      else entries.push({ ...current, timestamp: Math.floor(timestamp / 1000) });
      current = undefined;
      return;
    }
    if (current && line.trim() !== '') {
      const text = line.trim();
      current.changes.push(text);
      for (const id of new Set(text.match(CVE) ?? [])) if (!current.cves.some((cve) => cve.id === id)) current.cves.push({ id, line: text });
    }
  });
  return { entries, problems };
}
