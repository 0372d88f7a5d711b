import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readApkFile } from '../../apk/index.ts';
import { BuildError, lintEntries } from '../../build/index.ts';
import type { LintEntry, LintFinding } from '../../build/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { collect } from './pkg-options.ts';

interface LintFlags {
  disable?: string[];
  json?: boolean;
}

/** `kiln pkg lint PKG…`: melange's package linters over built .apk files. */
export function registerPkgLint(pkg: Command, context: CliContext): void {
  pkg
    .command('lint')
    .description('run the package linters (dev, infodir, libtool/la-files, setuidgid, tempdir, usrmerge, varempty, worldwrite; warnings: opt, srv, usrlocal, object) on .apk files')
    .argument('<packages...>', '.apk files')
    .option('--disable <LINTER>', 'downgrade a required linter to a warning (repeatable), like checks.disabled', collect)
    .option('--json', 'print findings as JSON')
    .action(async (packages: string[], flags: LintFlags) => {
      const report: { file: string; findings: LintFinding[] }[] = [];
      for (const file of packages.map((p) => resolve(context.cwd, p))) {
        const entries: LintEntry[] = [];
        for await (const item of readApkFile(file, { allowUntrusted: true })) {
          if (item.kind !== 'entry') continue;
          const kind = item.entry.type === 'directory' ? 'dir' : item.entry.type === 'symlink' ? 'symlink' : 'file';
          entries.push({ path: item.entry.path, mode: item.entry.mode, kind });
        }
        report.push({ file, findings: lintEntries(entries, flags.disable ?? []) });
      }
      if (flags.json) printJson(context, report);
      else for (const { file, findings } of report) for (const f of findings) context.stderr(`${file}: ${f.required ? 'error' : 'warning'}: ${f.linter}: ${f.path}: ${f.message}\n`);
      const failed = report.filter((r) => r.findings.some((f) => f.required));
      if (failed.length > 0) {
        throw new BuildError('LINT_FAILED', `required linters failed in ${failed.map((r) => r.file).join(', ')}`, { detail: { files: failed.map((r) => r.file) } });
      }
    });
}
