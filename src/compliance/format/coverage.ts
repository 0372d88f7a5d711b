import type { Baseline } from './baselines.ts';
import type { ImageCheckReport } from './check-model.ts';
import { assessControl } from './control-assessment.ts';
import type { ControlState } from './control-assessment.ts';
import { controlLabel } from './controls.ts';

// Pure: control by control, what a baseline asks for and what Kiln's image evidence says about it.
// Kiln claims nothing it did not check: a control no check cites is `not-evidenced` — the image gives
// no evidence for it, so it is inherited from the platform or the customer's to meet (which of the
// two depends on the system's own responsibility matrix, not on the image).

/** What the image evidence says about one baseline control. */
export type CoverageState = 'evidenced' | 'partial' | 'gap' | 'not-run' | 'not-evidenced';

/** One control of a baseline. */
export interface ControlCoverage {
  id: string;
  label: string;
  state: CoverageState;
  /** Checks citing the control, `id: status` per image platform. */
  checks: string[];
}

/** A baseline's coverage by the checks of one run. */
export interface BaselineCoverage {
  baseline: Baseline['id'];
  title: string;
  source: string;
  counts: Record<CoverageState, number>;
  controls: ControlCoverage[];
  /** Controls the checks cite that the baseline does not select. */
  outside: string[];
}

/**
 * `evidenced`: every check of the control ran and passed on every image, and a pass establishes it;
 * `partial`: none failed, but a check of it did not run on some image, or the passes cannot
 * establish it (FIPS-configured for SC-13); `gap`: a check of it failed, or was only allowed for a
 * dev variant; `not-run`: checks cite it but none ran; `not-evidenced`: no check cites it (platform
 * or customer responsibility).
 */
export function baselineCoverage(reports: readonly ImageCheckReport[], baseline: Baseline): BaselineCoverage {
  const counts: Record<CoverageState, number> = { evidenced: 0, partial: 0, gap: 0, 'not-run': 0, 'not-evidenced': 0 };
  const selected = new Set(baseline.controls);
  const controls = baseline.controls.map((id): ControlCoverage => {
    const results = reports.flatMap((report) => report.checks.filter((check) => (check.controls as readonly string[]).includes(id)).map((check) => ({ check, platform: report.image.platform })));
    const state: CoverageState = results.length ? STATE[assessControl(id, results.map(({ check }) => check)).state] : 'not-evidenced';
    counts[state]++;
    return { id, label: controlLabel(id), state, checks: results.map(({ check, platform }) => `${check.id}: ${check.status} (${platform})`) };
  });
  const cited = [...new Set(reports.flatMap((report) => report.checks.flatMap((check) => check.controls as readonly string[])))].sort();
  return { baseline: baseline.id, title: baseline.title, source: baseline.source, counts, controls, outside: cited.filter((id) => !selected.has(id)) };
}

const STATE: Record<ControlState, CoverageState> = { satisfied: 'evidenced', partial: 'partial', failed: 'gap', 'not-run': 'not-run' };

/** The coverage of several baselines as Markdown: counts, then the controls with image evidence. */
export function coverageMarkdown(coverages: readonly BaselineCoverage[]): string {
  const lines = ['# Baseline coverage by Kiln image evidence', '', 'A control no Kiln check cites is "not evidenced": the image gives no evidence for it, so it is inherited from the platform or remains the customer\'s, as the system\'s responsibility matrix says. "not run" controls are cited by checks that lacked data, and "partial" ones by checks of which some passed while others lacked data or cannot establish the control (FIPS-configured is not FIPS-validated); neither is counted as met.', ''];
  for (const coverage of coverages) {
    lines.push(`## ${coverage.title}`, '', `${coverage.controls.length} controls: ${coverage.counts.evidenced} evidenced, ${coverage.counts.partial} partly evidenced, ${coverage.counts.gap} with a gap, ${coverage.counts['not-run']} cited but not run, ${coverage.counts['not-evidenced']} not evidenced by the image.`, '');
    lines.push('| control | state | checks |', '|---|---|---|');
    for (const control of coverage.controls.filter((item) => item.state !== 'not-evidenced')) lines.push(`| ${control.label} | ${control.state} | ${control.checks.join('; ')} |`);
    if (coverage.outside.length) lines.push('', `Cited by checks but not selected by this baseline: ${coverage.outside.map(controlLabel).join(', ')}.`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
