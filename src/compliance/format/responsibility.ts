import { BASELINES } from './baselines.ts';
import type { ImageCheckReport } from './check-model.ts';
import { CONTROL_TITLES } from './controls.ts';
import { baselineCoverage } from './coverage.ts';
import type { CoverageState } from './coverage.ts';

// Pure: a customer-responsibility matrix over the FedRAMP baselines, from one run's checks. It
// claims no more than the coverage report: the image's part of a control is `kiln-image` only when
// every check citing it ran and passed and a pass establishes it; a control Kiln's checks cite but
// did not establish in this run (a failure, a dev allowance, a check without data, or partial
// evidence such as FIPS-configured for SC-13) is `shared` — Kiln gives the means, the
// customer closes it; every other control is `customer` (the customer's or inherited from their
// platform, as their own system security plan says: the image cannot tell which).

/** Who meets a control, as far as the image evidence says. */
export type Responsibility = 'kiln-image' | 'shared' | 'customer';

/** One control of the matrix. */
export interface ResponsibilityRow {
  control: string;
  label: string;
  /** Catalog title, for the controls Kiln's checks cite. */
  title?: string;
  /** Baselines that select the control (`fedramp-moderate`, `fedramp-high`). */
  baselines: string[];
  responsibility: Responsibility;
  coverage: CoverageState;
  /** Checks citing the control, `id: status (platform)`. */
  checks: string[];
  note: string;
}

const NOTES: Record<CoverageState, string> = {
  evidenced: 'the image meets its part: every check citing the control that ran passed; the customer inherits it for the image and documents it in the SSP',
  partial: 'partly evidenced, not established: checks citing the control passed, but others lacked data in this run or the passes cannot establish it (FIPS-configured is not FIPS-validated): the customer supplies the rest of the evidence',
  gap: 'cited by Kiln checks, but one failed or was only allowed for a dev variant: the customer must remediate or accept the risk (POA&M)',
  'not-run': 'cited by Kiln checks that lacked data in this run (scan, signed index, rebuild or registry): the customer supplies the evidence or runs the check with it',
  'not-evidenced': 'no Kiln check gives evidence: the customer\'s, or inherited from their platform',
};

const RESPONSIBILITY: Record<CoverageState, Responsibility> = { evidenced: 'kiln-image', partial: 'shared', gap: 'shared', 'not-run': 'shared', 'not-evidenced': 'customer' };

/** The matrix: every control of the FedRAMP Moderate and High baselines, in High's order. */
export function responsibilityMatrix(reports: readonly ImageCheckReport[]): ResponsibilityRow[] {
  const coverages = BASELINES.map((baseline) => ({ baseline, coverage: baselineCoverage(reports, baseline) }));
  const order: string[] = [];
  const rows = new Map<string, ResponsibilityRow>();
  for (const { baseline, coverage } of [...coverages].reverse()) {
    for (const control of coverage.controls) {
      const row = rows.get(control.id);
      if (row) {
        row.baselines.unshift(baseline.id);
        continue;
      }
      order.push(control.id);
      const title = (CONTROL_TITLES as Record<string, string>)[control.id];
      rows.set(control.id, { control: control.id, label: control.label, ...(title ? { title } : {}), baselines: [baseline.id], responsibility: RESPONSIBILITY[control.state], coverage: control.state, checks: control.checks, note: NOTES[control.state] });
    }
  }
  return order.map((id) => rows.get(id)!);
}

const COLUMNS = ['control', 'title', 'fedramp-moderate', 'fedramp-high', 'responsibility', 'coverage', 'checks', 'note'] as const;

function cells(row: ResponsibilityRow): Record<(typeof COLUMNS)[number], string> {
  return {
    control: row.label,
    title: row.title ?? '',
    'fedramp-moderate': row.baselines.includes('fedramp-moderate') ? 'yes' : 'no',
    'fedramp-high': row.baselines.includes('fedramp-high') ? 'yes' : 'no',
    responsibility: row.responsibility,
    coverage: row.coverage,
    checks: row.checks.join('; '),
    note: row.note,
  };
}

/** The matrix as CSV (RFC 4180 quoting), header first. */
export function responsibilityCsv(rows: readonly ResponsibilityRow[]): string {
  const quote = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return `${[COLUMNS.join(','), ...rows.map((row) => { const values = cells(row); return COLUMNS.map((column) => quote(values[column])).join(','); })].join('\r\n')}\r\n`;
}

/** The matrix as Markdown: counts, then the controls with image evidence or shared, then a count
 *  of the customer's (listed by id). */
export function responsibilityMarkdown(rows: readonly ResponsibilityRow[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
  const count = (kind: Responsibility) => rows.filter((row) => row.responsibility === kind).length;
  const lines = [
    '# Customer responsibility matrix (FedRAMP Rev 5 Moderate and High)',
    '',
    `${rows.length} controls: ${count('kiln-image')} met by the image's evidence (kiln-image), ${count('shared')} shared, ${count('customer')} the customer's or inherited from their platform. The image claims only what its checks evidenced in this run.`,
    '',
    '| control | title | Moderate | High | responsibility | coverage | checks | note |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows.filter((item) => item.responsibility !== 'customer')) {
    const values = cells(row);
    lines.push(`| ${values.control} | ${cell(values.title)} | ${values['fedramp-moderate']} | ${values['fedramp-high']} | ${values.responsibility} | ${values.coverage} | ${cell(values.checks)} | ${cell(values.note)} |`);
  }
  const customer = rows.filter((row) => row.responsibility === 'customer');
  lines.push('', `## The customer's (${customer.length})`, '', NOTES['not-evidenced'].replace(/^./, (char) => char.toUpperCase()) + ':', '', customer.map((row) => row.label).join(', ') + '.', '');
  return `${lines.join('\n')}\n`;
}
