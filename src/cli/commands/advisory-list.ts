import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertInputDirectory } from '../../lib/index.ts';
import { loadAdvisoryDirectory, summarizeAdvisories } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

/** `kiln advisory list [DIR]`: the current state of every advisory. */
export function registerAdvisoryList(advisory: Command, context: CliContext): void {
  advisory
    .command('list')
    .description('list every advisory with its current state (latest event), fixed version or justification; invalid files are reported on stderr and skipped')
    .argument('[dir]', 'advisories directory', 'os/advisories')
    .option('--package <NAME>', 'only this origin package')
    .option('--status <TYPE>', 'only advisories whose latest event is this type (detected, affected, fixed, not-affected, false-positive, pending-upstream, fix-not-planned)')
    .option('--json', 'print the advisories as JSON')
    .action(async (dir: string, flags: { package?: string; status?: string; json?: boolean }) => {
      const path = resolve(context.cwd, dir);
      await assertInputDirectory(path, 'advisories directory');
      const loaded = await loadAdvisoryDirectory(path);
      for (const error of loaded.errors) context.stderr(`warning: ${error.message} (skipped)\n`);
      const rows = summarizeAdvisories(loaded.files).filter((row) => (!flags.package || row.package === flags.package) && (!flags.status || row.status === flags.status));
      if (flags.json) {
        printJson(context, rows);
        return;
      }
      const cells = rows.map((row) => [row.package, row.id, row.status, row.since, row.detail ?? '']);
      const header = ['PACKAGE', 'VULNERABILITY', 'STATUS', 'SINCE', 'DETAIL'];
      const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
      for (const row of [header, ...cells]) context.stdout(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()}\n`);
    });
}
