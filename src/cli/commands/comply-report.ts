import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkImage, SUMMARY_FORMATS, writeComplianceReport } from '../../compliance/index.ts';
import type { SummaryFormat } from '../../compliance/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addComplyOptions, openCheckOptions, signaturePolicyFromFlags } from './comply-options.ts';
import { addIdentityOptions } from './trust-options.ts';
import type { IdentityFlags } from './trust-options.ts';
import type { ComplyFlags } from './comply-options.ts';

/** `kiln comply report IMAGE --out DIR`: runs the checks and writes OSCAL evidence. Exits 0 once the
 *  documents are written, whatever the checks found (the findings are in them); 1 when the image
 *  cannot be read or a file cannot be written. */
export function registerComplyReport(comply: Command, context: CliContext): void {
  const command = addIdentityOptions(addComplyOptions(comply.command('report').description('run the hardening checks and write OSCAL component-definition.json, assessment-results.json, poam.json (when a check failed or a CVE is open within its SLA), summary.md/summary.html, FedRAMP Moderate/High baseline coverage (coverage.json, coverage.md) and a customer-responsibility matrix (responsibility.json, .csv, .md)'))
    .requiredOption('--out <DIR>', 'directory to write the documents in (created when missing; Kiln\'s files in it are replaced, and a poam.json or summary an earlier run left that this run does not write is removed)')
    .option('--format <LIST>', 'human summary formats: markdown (summary.md), html (summary.html, self-contained), comma-separated', 'markdown,html')
    .option('--json', 'print {"files": {...}, "images": [{"image", "counts", "isBlocking"}]} on stdout'));
  command.action(async (image: string, flags: ComplyFlags & IdentityFlags & { out: string; json?: boolean; format: string }) => {
    const formats = flags.format.split(',').map((item) => item.trim()).filter(Boolean);
    const unknown = formats.filter((item) => !(SUMMARY_FORMATS as readonly string[]).includes(item));
    if (unknown.length || !formats.length) throw new KilnError('USAGE', `--format ${flags.format}: use markdown, html or markdown,html`);
    const start = new Date().toISOString();
    const signaturePolicy = await signaturePolicyFromFlags(flags, context);
    const opened = await openCheckOptions(context, image, flags);
    if (signaturePolicy) opened.options.signaturePolicy = signaturePolicy;
    let reports;
    try {
      reports = await checkImage(opened.options);
    } finally {
      opened.close();
    }
    const end = new Date().toISOString();
    const files = await writeComplianceReport(resolve(context.cwd, flags.out), reports, { start, end, toolVersion: kilnVersion(command) }, formats as SummaryFormat[]);
    if (flags.json) {
      printJson(context, { files, images: reports.map((report) => ({ image: report.image, counts: report.counts, isBlocking: report.isBlocking })) });
      return;
    }
    for (const report of reports) {
      context.stdout(`${report.image.name} ${report.image.platform}: ${Object.entries(report.counts).filter(([, count]) => count).map(([status, count]) => `${count} ${status}`).join(', ')}\n`);
    }
    for (const path of Object.values(files)) if (path) context.stdout(`wrote ${path}\n`);
  });
}

/** The version the root program was given, read at run time so this command does not import the
 *  program that registers it. */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}
