import type { AdvisoryFile } from './advisory.ts';
import type { Severity } from './cvss.ts';

// Pure: the remediation SLA report. For every vulnerability that ever affected a package Kiln
// ships (an advisory whose events include something other than not-affected / false-positive):
// when it was first recorded, when (and in which version) it was fixed, how many days it was open
// and whether that broke the SLA for its severity. `now` is passed in.

/** Days allowed per severity before a vulnerability breaches the SLA. */
export type SlaPolicy = Readonly<Record<Severity, number>>;

/** The issue's defaults: critical 7 days, high 14, medium and low 30 (unknown and none as low). */
export const DEFAULT_SLA: SlaPolicy = { CRITICAL: 7, HIGH: 14, MEDIUM: 30, LOW: 30, NONE: 30, UNKNOWN: 30 };

/** One row of the SLA report. */
export interface SlaEntry {
  package: string;
  id: string;
  severity: Severity;
  detected: string;
  fixedVersion?: string;
  fixedAt?: string;
  /** Whole days from detection to the fix, or to `now` while open. */
  daysOpen: number;
  slaDays: number;
  breached: boolean;
}

const DAY = 86_400_000;

/** The SLA report of a set of advisories files; `severityOf` gives each id's severity (from the index). */
export function slaReport(files: ReadonlyArray<{ file: AdvisoryFile }>, options: { now: Date; policy?: SlaPolicy; severityOf: (id: string, aliases: readonly string[]) => Severity }): SlaEntry[] {
  const policy = options.policy ?? DEFAULT_SLA;
  const entries: SlaEntry[] = [];
  for (const { file } of files) {
    for (const advisory of file.advisories) {
      if (advisory.events.every((event) => event.type === 'not-affected' || event.type === 'false-positive')) continue;
      const detected = advisory.events[0]!.timestamp;
      const fixed = advisory.events.find((event) => event.type === 'fixed');
      const end = fixed ? Date.parse(fixed.timestamp) : options.now.getTime();
      const daysOpen = Math.max(0, Math.floor((end - Date.parse(detected)) / DAY));
      const severity = options.severityOf(advisory.id, advisory.aliases ?? []);
      const slaDays = policy[severity];
      entries.push({
        package: file.package,
        id: advisory.id,
        severity,
        detected,
        ...(fixed?.type === 'fixed' ? { fixedVersion: fixed.data.version, fixedAt: fixed.timestamp } : {}),
        daysOpen,
        slaDays,
        breached: daysOpen > slaDays,
      });
    }
  }
  return entries.sort((a, b) => Number(b.breached) - Number(a.breached) || b.daysOpen - a.daysOpen || (a.package < b.package ? -1 : a.package > b.package ? 1 : a.id < b.id ? -1 : 1));
}

const COLUMNS = ['package', 'id', 'severity', 'detected', 'fixedVersion', 'fixedAt', 'daysOpen', 'slaDays', 'breached'] as const;

/** The report as CSV (RFC 4180 quoting), header first. */
export function slaCsv(entries: readonly SlaEntry[]): string {
  const cell = (value: unknown) => {
    const text = value === undefined ? '' : String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${[COLUMNS.join(','), ...entries.map((entry) => COLUMNS.map((column) => cell(entry[column])).join(','))].join('\n')}\n`;
}

/** The report as a Markdown table with a summary line. */
export function slaMarkdown(entries: readonly SlaEntry[]): string {
  const breached = entries.filter((entry) => entry.breached).length;
  const rows = entries.map((entry) => `| ${entry.package} | ${entry.id} | ${entry.severity.toLowerCase()} | ${entry.detected} | ${entry.fixedVersion ? `${entry.fixedVersion} (${entry.fixedAt})` : 'open'} | ${entry.daysOpen} | ${entry.slaDays} | ${entry.breached ? '**breached**' : 'met'} |`);
  return `${[`${entries.length} vulnerabilities, ${breached} past their SLA.`, '', '| package | vulnerability | severity | detected | fixed | days open | SLA days | SLA |', '|---|---|---|---|---|---|---|---|', ...rows].join('\n')}\n`;
}
