import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertInputDirectory } from '../../lib/index.ts';
import { loadAdvisoryDirectory, VulnError } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

/** `kiln advisory validate [DIR]`: check every advisories file against Kiln's advisory schema. */
export function registerAdvisoryValidate(advisory: Command, context: CliContext): void {
  advisory
    .command('validate')
    .description("check every <origin>.yaml of an advisories directory against Kiln's advisory schema; exits 1 naming each file, line and field at fault")
    .argument('[dir]', 'advisories directory', 'os/advisories')
    .option('--json', 'print {files, advisories, errors} as JSON')
    .action(async (dir: string, flags: { json?: boolean }) => {
      const path = resolve(context.cwd, dir);
      await assertInputDirectory(path, 'advisories directory');
      const loaded = await loadAdvisoryDirectory(path);
      const advisories = loaded.files.reduce((sum, entry) => sum + entry.file.advisories.length, 0);
      if (flags.json) printJson(context, { files: loaded.files.length + loaded.errors.length, advisories, errors: loaded.errors.map((error) => error.message) });
      else {
        for (const error of loaded.errors) context.stderr(`kiln: ${error.message}\n`);
        if (loaded.errors.length === 0) context.stdout(`${loaded.files.length} files, ${advisories} advisories: valid\n`);
      }
      if (loaded.errors.length > 0) {
        throw new VulnError('VULN_ADVISORY_INVALID', `${dir}: ${loaded.errors.length} of ${loaded.files.length + loaded.errors.length} advisories files are invalid`, { detail: { dir, invalid: loaded.errors.length } });
      }
    });
}
