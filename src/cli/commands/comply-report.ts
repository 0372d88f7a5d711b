import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkImage, writeComplianceReport } from '../../compliance/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addComplyOptions, checkOptionsFromFlags } from './comply-options.ts';
import type { ComplyFlags } from './comply-options.ts';

/** `kiln comply report IMAGE --out DIR`: runs the checks and writes OSCAL evidence. Exits 0 once the
 *  documents are written, whatever the checks found (the findings are in them); 1 when the image
 *  cannot be read or a file cannot be written. */
export function registerComplyReport(comply: Command, context: CliContext): void {
  const command = addComplyOptions(comply.command('report').description('run the hardening checks and write OSCAL component-definition.json, assessment-results.json, poam.json (when a check failed), summary.md and FedRAMP Moderate/High baseline coverage (coverage.json, coverage.md)'))
    .requiredOption('--out <DIR>', 'directory to write the documents in (created when missing; files in it are replaced)')
    .option('--json', 'print {"files": {...}, "images": [{"image", "counts", "isBlocking"}]} on stdout');
  command.action(async (image: string, flags: ComplyFlags & { out: string; json?: boolean }) => {
    const start = new Date().toISOString();
    const reports = await checkImage(checkOptionsFromFlags(context, image, flags));
    const end = new Date().toISOString();
    const files = await writeComplianceReport(resolve(context.cwd, flags.out), reports, { start, end, toolVersion: kilnVersion(command) });
    if (flags.json) {
      printJson(context, { files, images: reports.map((report) => ({ image: report.image, counts: report.counts, isBlocking: report.isBlocking })) });
      return;
    }
    for (const report of reports) {
      context.stdout(`${report.image.name} ${report.image.platform}: ${Object.entries(report.counts).filter(([, count]) => count).map(([status, count]) => `${count} ${status}`).join(', ')}\n`);
    }
    for (const path of Object.values(files)) context.stdout(`wrote ${path}\n`);
  });
}

/** The version the root program was given, read at run time so this command does not import the
 *  program that registers it. */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}
