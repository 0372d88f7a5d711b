import type { CheckStatus, ImageCheckReport } from './check-model.ts';
import { controlLabel } from './controls.ts';

// Pure: the human summary of check reports as one self-contained HTML page (no script, no external
// style or font), every value escaped. Accessible by structure: a language, a title, one h1 and an
// h2 per image, tables with captions and scoped column headers, statuses in words (not colour alone).

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const LABEL: Record<CheckStatus, string> = { pass: 'pass', fail: 'FAIL', allowed: 'allowed (dev variant)', 'not-run': 'not run', 'not-applicable': 'not applicable' };

const STYLE = [
  'body{font-family:system-ui,sans-serif;margin:2rem;line-height:1.4;color:#1b1b1b;background:#fff}',
  'table{border-collapse:collapse;width:100%;margin-bottom:2rem}',
  'caption{text-align:left;font-weight:600;padding:.5rem 0}',
  'th,td{border:1px solid #767676;padding:.35rem .5rem;text-align:left;vertical-align:top}',
  'th{background:#f0f0f0}',
  '.fail{background:#fde8e8;font-weight:700}.pass{background:#e7f5ea}.allowed{background:#fff4d6}.not-run{background:#f0f0f0}',
  'code{font-size:.9em;word-break:break-all}',
].join('');

/** The summary page: per image its identity, counts and a table of every check. */
export function htmlSummary(reports: readonly ImageCheckReport[], when: string): string {
  const e = escapeHtml;
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Kiln hardening checks</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    '<h1>Kiln hardening checks</h1>',
    `<p>Run at <time datetime="${e(when)}">${e(when)}</time>. &ldquo;not run&rdquo; means the data the check needs was not available; it is never counted as passed. Dev variants may ship a shell, package manager and compiler (&ldquo;allowed&rdquo;).</p>`,
  ];
  reports.forEach((report, index) => {
    const image = report.image;
    const id = `image-${index + 1}`;
    const counts = Object.entries(report.counts).filter(([, count]) => count).map(([status, count]) => `${count} ${status}`).join(', ');
    out.push(`<section aria-labelledby="${id}">`, `<h2 id="${id}">${e(image.name)} (${e(image.platform)})</h2>`, '<dl>');
    const item = (term: string, value: string) => out.push(`<dt>${e(term)}</dt><dd>${value}</dd>`);
    item('Variant', e(`${image.variant.kind}${image.variant.reason ? ` (${image.variant.reason})` : ''}`));
    if (image.manifestDigest) item('Manifest', `<code>${e(image.manifestDigest)}</code>`);
    item('Config', `<code>${e(image.configDigest)}</code>`);
    item('SBOM', image.sbom ? `<code>${e(image.sbom.path)}</code> (${e(image.sbom.format)}, <code>${e(image.sbom.digest)}</code>)` : 'none given');
    item('Result', `${e(counts)}${report.isBlocking ? ' &mdash; <strong>a high or critical check failed</strong>' : ''}`);
    out.push('</dl>', '<table>', `<caption>Checks of ${e(image.name)} (${e(image.platform)})</caption>`, '<thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Severity</th><th scope="col">Controls</th><th scope="col">Summary</th></tr></thead>', '<tbody>');
    for (const check of report.checks) {
      out.push(`<tr><th scope="row"><code>${e(check.id)}</code><br>${e(check.title)}</th><td class="${check.status}">${e(LABEL[check.status])}</td><td>${e(check.severity)}</td><td>${e(check.controls.map(controlLabel).join(', '))}</td><td>${e(check.summary)}</td></tr>`);
    }
    out.push('</tbody>', '</table>', '</section>');
  });
  out.push('</main>', '</body>', '</html>');
  return `${out.join('\n')}\n`;
}
