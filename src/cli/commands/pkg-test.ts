import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { testRecipe } from '../../package-builder/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { collect, createEnvironment, createRunner, interactiveRequested, stepLogger } from './pkg-options.ts';
import type { PkgBuildFlags } from './pkg-options.ts';

/** `kiln pkg test RECIPE [PACKAGE]`: melange test. */
export function registerPkgTest(pkg: Command, context: CliContext): void {
  pkg
    .command('test')
    .description('run the test pipelines of a recipe against its built packages (from --out-dir)')
    .argument('<recipe>', 'recipe file')
    .argument('[package]', 'test only this package or subpackage')
    .option('--arch <ARCH>', 'architecture (default the host\'s)')
    .option('--out-dir <DIR>', 'where the packages were built (melange layout)', './packages/')
    .addOption(new Option('--runner <RUNNER>', 'sandbox runner').choices(['bubblewrap', 'fake']).default('bubblewrap'))
    .option('--bootstrap-host', 'use the host root filesystem (read-only) as the test environment; the package is mounted at /tmp/kiln-test-root')
    .addOption(new Option('--pipeline-dir <DIR>', 'directory of extra pipeline definitions (repeatable)').argParser(collect))
    .addOption(new Option('-r, --repository-append <REPO>', 'repository for the test environment (the --out-dir is added; repeatable)').argParser(collect))
    .addOption(new Option('-k, --keyring-append <KEY>', 'public key trusted for those repositories (repeatable)').argParser(collect))
    .option('--apk-cache-dir <DIR>', 'cache of fetched packages and indexes')
    .option('--ignore-signatures', 'accept test-environment repositories without a trusted signature')
    .option('-i, --interactive', 'when a test step fails, open a shell in its sandbox (stdin must be a terminal)')
    .option('--json', 'print the tested packages as JSON')
    .action(async (recipe: string, packageName: string | undefined, flags: PkgBuildFlags & { interactive?: boolean }) => {
      const environment = await createEnvironment(flags, context);
      let outcomes: Awaited<ReturnType<typeof testRecipe>>;
      try {
        outcomes = await testRecipe(
          {
            recipeFile: resolve(context.cwd, recipe),
            outDir: resolve(context.cwd, flags.outDir),
            ...(flags.arch ? { arch: flags.arch } : {}),
            ...(packageName ? { packageName } : {}),
            ...(interactiveRequested(flags, context) ? { interactive: true } : {}),
            ...(flags.pipelineDir ? { pipelineDirs: flags.pipelineDir.map((dir) => resolve(context.cwd, dir)) } : {}),
          },
          { runner: createRunner(flags), environment: environment.provider, onLog: stepLogger(context) },
        );
      } finally {
        environment.close();
      }
      if (flags.json) printJson(context, { tested: outcomes });
      else for (const o of outcomes) context.stderr(`tested ${o.package} (${plural(o.steps, 'step')})\n`);
    });
}
