import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/index.ts';
import { BASELINES } from './format/baselines.ts';
import type { ImageCheckReport } from './format/check-model.ts';
import { baselineCoverage, coverageMarkdown } from './format/coverage.ts';
import { assessmentResults, componentDefinition, planOfActionAndMilestones } from './format/oscal.ts';
import type { OscalInput } from './format/oscal.ts';
import { htmlSummary } from './format/html.ts';
import { responsibilityCsv, responsibilityMarkdown, responsibilityMatrix } from './format/responsibility.ts';
import { markdownSummary } from './format/summary.ts';

/** File names `kiln comply report` writes in its output directory. */
export const REPORT_FILES = {
  componentDefinition: 'component-definition.json',
  assessmentResults: 'assessment-results.json',
  poam: 'poam.json',
  summary: 'summary.md',
  summaryHtml: 'summary.html',
  coverage: 'coverage.json',
  coverageSummary: 'coverage.md',
  responsibility: 'responsibility.json',
  responsibilityCsv: 'responsibility.csv',
  responsibilitySummary: 'responsibility.md',
} as const;

/** Formats of the human summary `kiln comply report --format` chooses from. */
export const SUMMARY_FORMATS = ['markdown', 'html'] as const;
/** A human summary format. */
export type SummaryFormat = (typeof SUMMARY_FORMATS)[number];

/** What was written, by kind (the POA&M only when a check failed or a vulnerability is open within its SLA). */
export interface WrittenReport {
  componentDefinition: string;
  assessmentResults: string;
  poam?: string;
  /** The Markdown summary, when that format was chosen. */
  summary?: string;
  /** The HTML summary, when that format was chosen. */
  summaryHtml?: string;
  /** Customer-responsibility matrix over the FedRAMP baselines: JSON, CSV and Markdown. */
  responsibility: string;
  responsibilityCsv: string;
  responsibilitySummary: string;
  /** FedRAMP Moderate and High coverage, JSON and Markdown. */
  coverage: string;
  coverageSummary: string;
}

/** How each file Kiln writes begins, so a file of the same name that Kiln did not write is never
 *  removed as stale. */
const KILN_MARKERS: Record<'poam' | 'summary' | 'summaryHtml', string> = {
  poam: '{\n  "plan-of-action-and-milestones": {',
  summary: '# Kiln hardening checks\n',
  summaryHtml: '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>Kiln hardening checks</title>',
};

/** Removes a file a previous run wrote that this run does not (a POA&M once every item is closed, the
 *  summary of a format no longer asked for), so the directory never mixes two runs: only when its
 *  beginning is what Kiln writes there. */
async function removeStale(path: string, marker: string): Promise<void> {
  let head: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(Buffer.byteLength(marker));
      head = buffer.subarray(0, (await handle.read(buffer, 0, buffer.length, 0)).bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (head === marker) await unlink(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
}

/** Writes the OSCAL documents, the human summaries (Markdown and HTML unless `formats` picks), the
 *  FedRAMP baseline coverage and the customer-responsibility matrix of check reports into `dir`
 *  (created when missing); each file is written atomically, and a POA&M or summary an earlier run
 *  left there that this run does not write is removed. */
export async function writeComplianceReport(dir: string, reports: readonly ImageCheckReport[], run: { start: string; end: string; toolVersion: string }, formats: readonly SummaryFormat[] = SUMMARY_FORMATS): Promise<WrittenReport> {
  const input: OscalInput = { reports, ...run, files: { componentDefinition: REPORT_FILES.componentDefinition, assessmentResults: REPORT_FILES.assessmentResults, poam: REPORT_FILES.poam } };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const written: WrittenReport = {
    componentDefinition: join(dir, REPORT_FILES.componentDefinition),
    assessmentResults: join(dir, REPORT_FILES.assessmentResults),
    coverage: join(dir, REPORT_FILES.coverage),
    coverageSummary: join(dir, REPORT_FILES.coverageSummary),
    responsibility: join(dir, REPORT_FILES.responsibility),
    responsibilityCsv: join(dir, REPORT_FILES.responsibilityCsv),
    responsibilitySummary: join(dir, REPORT_FILES.responsibilitySummary),
  };
  await writeFileAtomic(written.componentDefinition, json(componentDefinition(input)), { createParents: true });
  await writeFileAtomic(written.assessmentResults, json(assessmentResults(input)));
  const poam = planOfActionAndMilestones(input);
  if (poam) {
    written.poam = join(dir, REPORT_FILES.poam);
    await writeFileAtomic(written.poam, json(poam));
  }
  if (formats.includes('markdown')) {
    written.summary = join(dir, REPORT_FILES.summary);
    await writeFileAtomic(written.summary, markdownSummary(reports, run.end));
  }
  if (formats.includes('html')) {
    written.summaryHtml = join(dir, REPORT_FILES.summaryHtml);
    await writeFileAtomic(written.summaryHtml, htmlSummary(reports, run.end));
  }
  const coverages = BASELINES.map((baseline) => baselineCoverage(reports, baseline));
  await writeFileAtomic(written.coverage, json(coverages));
  await writeFileAtomic(written.coverageSummary, coverageMarkdown(coverages));
  const matrix = responsibilityMatrix(reports);
  await writeFileAtomic(written.responsibility, json(matrix));
  await writeFileAtomic(written.responsibilityCsv, responsibilityCsv(matrix));
  await writeFileAtomic(written.responsibilitySummary, responsibilityMarkdown(matrix));
  for (const [kind, marker] of Object.entries(KILN_MARKERS) as Array<[keyof typeof KILN_MARKERS, string]>) {
    if (!written[kind]) await removeStale(join(dir, REPORT_FILES[kind]), marker);
  }
  return written;
}
