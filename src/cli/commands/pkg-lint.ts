import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { readApkFile } from '../../apk/index.ts';
import { BuildError, checkRecipe, lintEntries } from '../../package-builder/index.ts';
import type { LintEntry, LintFinding, RecipeCheck } from '../../package-builder/index.ts';
import { KilnError, unreadableInput } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { collect } from './pkg-options.ts';

interface LintFlags {
  disable?: string[];
  arch?: string;
  pipelineDir?: string[];
  json?: boolean;
}

/** What one argument turned out to be and what linting it found. */
interface LintReport {
  file: string;
  findings: LintFinding[];
  /** Set when the file was a recipe, checked instead of a package. */
  recipe?: Omit<RecipeCheck, 'file'>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const RECIPE_NAME = /\.ya?ml$/i;

/** `kiln pkg lint FILE…`: melange's package linters over built .apk files; a recipe (`*.yaml`),
 *  the usual first guess, is checked as a build would check it before running (load, validate,
 *  compile) rather than misread as a package. */
export function registerPkgLint(pkg: Command, context: CliContext): void {
  pkg
    .command('lint')
    .description('run the package linters (dev, infodir, libtool/la-files, setuidgid, tempdir, usrmerge, varempty, worldwrite; warnings: opt, srv, usrlocal, object) on .apk files; a recipe (*.yaml) is loaded and compiled instead')
    .argument('<files...>', '.apk files (melange lint), or recipes (*.yaml) to check')
    .option('--disable <LINTER>', 'downgrade a required linter to a warning (repeatable), like checks.disabled', collect)
    .option('--arch <ARCH>', 'recipes: architecture to compile for (default the host\'s)')
    .addOption(new Option('--pipeline-dir <DIR>', 'recipes: directory of extra pipeline definitions (repeatable)').argParser(collect))
    .option('--json', 'print findings as JSON')
    .action(async (files: string[], flags: LintFlags) => {
      const report: LintReport[] = [];
      for (const file of files.map((p) => resolve(context.cwd, p))) {
        if (await isGzip(file)) {
          report.push({ file, findings: lintEntries(await packageEntries(file), flags.disable ?? []) });
          continue;
        }
        if (!RECIPE_NAME.test(file)) {
          throw new KilnError('USAGE', `${file}: not an .apk package (it is not gzip-compressed); kiln pkg lint checks built .apk files, and melange recipes (*.yaml)`, { detail: { file } });
        }
        const { file: _file, ...recipe } = await checkRecipe({
          recipeFile: file,
          ...(flags.arch ? { arch: flags.arch } : {}),
          ...(flags.pipelineDir ? { pipelineDirs: flags.pipelineDir.map((dir) => resolve(context.cwd, dir)) } : {}),
        });
        report.push({ file, findings: [], recipe });
      }
      if (flags.json) printJson(context, report);
      else {
        for (const { file, findings, recipe } of report) {
          if (recipe) {
            context.stderr(`${file}: recipe ${recipe.origin}-${recipe.version} loads and compiles for ${recipe.arch}: ${plural(recipe.packages.length, 'package')} (${recipe.packages.join(', ')}), ${plural(recipe.steps, 'build step')}, ${plural(recipe.testSteps, 'test step')}; lint the built .apk files for package findings\n`);
          }
          for (const f of findings) context.stderr(`${file}: ${f.required ? 'error' : 'warning'}: ${f.linter}: ${f.path}: ${f.message}\n`);
        }
      }
      const failed = report.filter((r) => r.findings.some((f) => f.required));
      if (failed.length > 0) {
        throw new BuildError('LINT_FAILED', `required linters failed in ${failed.map((r) => r.file).join(', ')}`, { detail: { files: failed.map((r) => r.file) } });
      }
    });
}

/** Whether the file starts with gzip's magic bytes, as every .apk does. */
async function isGzip(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw unreadableInput('package', file, error);
  }
  try {
    const head = Buffer.alloc(GZIP_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === GZIP_MAGIC.length && GZIP_MAGIC.every((byte, index) => head[index] === byte);
  } catch (error) {
    throw unreadableInput('package', file, error);
  } finally {
    await handle.close();
  }
}

async function packageEntries(file: string): Promise<LintEntry[]> {
  const entries: LintEntry[] = [];
  for await (const item of readApkFile(file, { allowUntrusted: true })) {
    if (item.kind !== 'entry') continue;
    const kind = item.entry.type === 'directory' ? 'dir' : item.entry.type === 'symlink' ? 'symlink' : 'file';
    entries.push({ path: item.entry.path, mode: item.entry.mode, kind });
  }
  return entries;
}
