import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertInputDirectory, writeFileAtomic } from '../../lib/index.ts';
import { advisoriesToSecdb, loadAdvisoryDirectory, VulnError } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';

interface SecdbFlags {
  output?: string;
  reponame: string;
  urlprefix: string;
  arch?: string[];
}

/** `kiln advisory secdb [DIR]`: Kiln's advisories as an apk secdb (security.json) for apk-aware scanners. */
export function registerAdvisorySecdb(advisory: Command, context: CliContext): void {
  advisory
    .command('secdb')
    .description('write the advisories as an apk secdb (security.json, as Alpine serves it) to publish beside the package repository; refuses invalid advisories files')
    .argument('[dir]', 'advisories directory', 'os/advisories')
    .option('-o, --output <FILE>', 'write here (atomically) instead of stdout')
    .requiredOption('--urlprefix <URL>', 'repository URL prefix recorded in the secdb')
    .option('--reponame <NAME>', 'repository name recorded in the secdb', 'os')
    .option('--arch <ARCH>', 'architecture the repository serves (repeatable; default x86_64 and aarch64)', (value: string, previous: string[] = []) => [...previous, value])
    .action(async (dir: string, flags: SecdbFlags) => {
      const path = resolve(context.cwd, dir);
      await assertInputDirectory(path, 'advisories directory');
      const loaded = await loadAdvisoryDirectory(path);
      if (loaded.errors.length > 0) {
        for (const error of loaded.errors) context.stderr(`kiln: ${error.message}\n`);
        throw new VulnError('VULN_ADVISORY_INVALID', `${dir}: ${loaded.errors.length} advisories files are invalid; no secdb written`, { detail: { dir, invalid: loaded.errors.length } });
      }
      const text = `${JSON.stringify(advisoriesToSecdb(loaded.files, { reponame: flags.reponame, urlprefix: flags.urlprefix, archs: flags.arch ?? ['x86_64', 'aarch64'] }), null, 2)}\n`;
      if (flags.output) await writeFileAtomic(resolve(context.cwd, flags.output), text);
      else context.stdout(text);
    });
}
