import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { BuildError, checkRecipeDir } from '../../package-builder/index.ts';
import type { RecipeFileCheck } from '../../package-builder/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { collect } from './pkg-options.ts';

interface CheckFlags {
  arch?: string[];
  pipelineDir?: string[];
  json?: boolean;
}

/** `kiln pkg check DIR`: loads and compiles every recipe of a directory (a checkout of a melange
 *  package repository) for each architecture, with the directory's own `pipelines/`, and reports
 *  every failure with its file, line and field; exits 1 when any recipe fails. */
export function registerPkgCheck(pkg: Command, context: CliContext): void {
  pkg
    .command('check')
    .description('load and compile every recipe (*.yaml with a package: mapping) in a directory for each architecture, with DIR/pipelines as a pipeline directory; print a summary and every error (file, line, field)')
    .argument('<dir>', 'directory of recipes (for example a checkout of wolfi-dev/os)')
    .addOption(new Option('--arch <ARCH>', 'architecture to compile for (repeatable or comma-separated; default x86_64 and aarch64)').argParser(collect))
    .addOption(new Option('--pipeline-dir <DIR>', 'further directory of pipeline definitions, searched first (repeatable)').argParser(collect))
    .option('--json', 'print the summary and every file\'s result as JSON')
    .action(async (dir: string, flags: CheckFlags) => {
      const archs = (flags.arch ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
      const result = await checkRecipeDir({
        dir: resolve(context.cwd, dir),
        ...(archs.length > 0 ? { archs } : {}),
        ...(flags.pipelineDir ? { pipelineDirs: flags.pipelineDir.map((path) => resolve(context.cwd, path)) } : {}),
      });
      const { summary } = result;
      if (flags.json) printJson(context, result);
      else {
        for (const file of result.files) printFile(context, file);
        const percent = summary.recipes === 0 ? 100 : (100 * summary.compiled) / summary.recipes;
        context.stderr(
          `${plural(summary.recipes, 'recipe')} for ${result.archs.join(', ')}: ${summary.loaded} loaded, ${summary.compiled} compiled (${percent.toFixed(1)} %), ${summary.failed} failed` +
            `${summary.unsupported ? `; ${summary.unsupported} use a feature a build refuses` : ''}${summary.skipped ? `; ${plural(summary.skipped, 'file')} skipped (not recipes)` : ''}\n`,
        );
      }
      if (summary.failed > 0) {
        throw new BuildError('RECIPE_CHECK_FAILED', `${summary.failed} of ${plural(summary.recipes, 'recipe')} in ${result.dir} did not load or compile`, {
          detail: { failed: result.files.filter((file) => file.status === 'failed').map((file) => file.file) },
        });
      }
    });
}

function printFile(context: CliContext, file: RecipeFileCheck): void {
  if (file.status === 'skipped') {
    context.stderr(`skipped  ${file.file}: ${file.note ?? 'not a recipe'}\n`);
    return;
  }
  for (const error of file.errors ?? []) {
    // An error inside a pipeline definition names the definition; say which recipe reached it.
    const where = error.line === undefined ? `${error.file}: ` : error.file !== file.file ? `${file.file}: in ` : '';
    const field = error.field ? ` [${error.field}]` : '';
    context.stderr(`error    ${where}${error.message.split('\n')[0]}${field}${error.arch ? ` (${error.arch})` : ''}\n`);
  }
  for (const warning of file.warnings ?? []) context.stderr(`warning  ${warning}\n`);
  if (file.note) context.stderr(`note     ${file.file}: ${file.note}\n`);
}
