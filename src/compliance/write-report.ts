import { join } from 'node:path';
import { writeFileAtomic } from '../lib/index.ts';
import { BASELINES } from './format/baselines.ts';
import type { ImageCheckReport } from './format/check-model.ts';
import { baselineCoverage, coverageMarkdown } from './format/coverage.ts';
import { assessmentResults, componentDefinition, planOfActionAndMilestones } from './format/oscal.ts';
import type { OscalInput } from './format/oscal.ts';
import { markdownSummary } from './format/summary.ts';

/** File names `kiln comply report` writes in its output directory. */
export const REPORT_FILES = {
  componentDefinition: 'component-definition.json',
  assessmentResults: 'assessment-results.json',
  poam: 'poam.json',
  summary: 'summary.md',
  coverage: 'coverage.json',
  coverageSummary: 'coverage.md',
} as const;

/** What was written, by kind (the POA&M only when a check failed). */
export interface WrittenReport {
  componentDefinition: string;
  assessmentResults: string;
  poam?: string;
  summary: string;
  /** FedRAMP Moderate and High coverage, JSON and Markdown. */
  coverage: string;
  coverageSummary: string;
}

/** Writes the OSCAL documents, the Markdown summary and the FedRAMP baseline coverage of check
 *  reports into `dir` (created when missing); each file is written atomically. */
export async function writeComplianceReport(dir: string, reports: readonly ImageCheckReport[], run: { start: string; end: string; toolVersion: string }): Promise<WrittenReport> {
  const input: OscalInput = { reports, ...run, files: { componentDefinition: REPORT_FILES.componentDefinition, assessmentResults: REPORT_FILES.assessmentResults, poam: REPORT_FILES.poam } };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const written: WrittenReport = {
    componentDefinition: join(dir, REPORT_FILES.componentDefinition),
    assessmentResults: join(dir, REPORT_FILES.assessmentResults),
    summary: join(dir, REPORT_FILES.summary),
    coverage: join(dir, REPORT_FILES.coverage),
    coverageSummary: join(dir, REPORT_FILES.coverageSummary),
  };
  await writeFileAtomic(written.componentDefinition, json(componentDefinition(input)), { createParents: true });
  await writeFileAtomic(written.assessmentResults, json(assessmentResults(input)));
  const poam = planOfActionAndMilestones(input);
  if (poam) {
    written.poam = join(dir, REPORT_FILES.poam);
    await writeFileAtomic(written.poam, json(poam));
  }
  await writeFileAtomic(written.summary, markdownSummary(reports, run.end));
  const coverages = BASELINES.map((baseline) => baselineCoverage(reports, baseline));
  await writeFileAtomic(written.coverage, json(coverages));
  await writeFileAtomic(written.coverageSummary, coverageMarkdown(coverages));
  return written;
}
