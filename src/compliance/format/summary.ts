import type { CheckStatus, ImageCheckReport } from './check-model.ts';
import { controlLabel } from './controls.ts';

// Pure: the human summary of check reports (Markdown), and the one-line-per-check text output.

const MARK: Record<CheckStatus, string> = { pass: 'pass', fail: '**FAIL**', allowed: 'allowed (dev)', 'not-run': 'not run', 'not-applicable': 'n/a' };

function cell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/** A Markdown summary: per image, a table of every check with status, severity, controls and why. */
export function markdownSummary(reports: readonly ImageCheckReport[], when: string): string {
  const lines = ['# Kiln hardening checks', '', `Run at ${when}. "not run" means the data the check needs was not available; it is never counted as passed. Dev variants may ship a shell, package manager and compiler ("allowed").`, ''];
  for (const report of reports) {
    const image = report.image;
    lines.push(`## ${image.name} (${image.platform})`, '');
    lines.push(`- variant: ${image.variant.kind}${image.variant.reason ? ` (${image.variant.reason})` : ''}`);
    if (image.manifestDigest) lines.push(`- manifest: \`${image.manifestDigest}\``);
    lines.push(`- config: \`${image.configDigest}\``);
    lines.push(`- SBOM: ${image.sbom ? `\`${image.sbom.path}\` (${image.sbom.format}, \`${image.sbom.digest}\`)` : 'none given'}`);
    lines.push(`- result: ${Object.entries(report.counts).filter(([, count]) => count).map(([status, count]) => `${count} ${status}`).join(', ')}${report.isBlocking ? ' — **a high or critical check failed**' : ''}`, '');
    lines.push('| check | status | severity | controls | summary |', '|---|---|---|---|---|');
    for (const check of report.checks) {
      lines.push(`| ${check.id} | ${MARK[check.status]} | ${check.severity} | ${check.controls.map(controlLabel).join(', ')} | ${cell(check.summary)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Text lines for `kiln comply check` without --json. */
export function checkLines(report: ImageCheckReport): string[] {
  const image = report.image;
  const head = `${image.name} ${image.platform} (${image.variant.kind}): ${Object.entries(report.counts).filter(([, count]) => count).map(([status, count]) => `${count} ${status}`).join(', ')}`;
  const width = Math.max(...report.checks.map((check) => check.id.length));
  return [head, ...report.checks.map((check) => `  ${check.status.padEnd(14)} ${check.id.padEnd(width)} [${check.severity}] ${check.summary}`)];
}
