import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildRecipe } from '../../package-builder/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { addBuildOptions, interactiveRequested, createDebianSources, createEnvironment, sharedBuildOptions, createPublisher, createRunner, readEnvFile, readVarsFile, sourceDateEpoch, stepLogger, unsignedNotice } from './pkg-options.ts';
import type { PkgBuildFlags } from './pkg-options.ts';

interface BuildFlags extends PkgBuildFlags {
  sourceDir?: string;
  emptyWorkspace?: boolean;
  keepWorkspace?: boolean;
  interactive?: boolean;
}

const DISCOVERY = ['.melange.yaml', '.melange.yml', 'melange.yaml', 'melange.yml'];

/** `kiln pkg build [RECIPE]`: melange build. */
export function registerPkgBuild(pkg: Command, context: CliContext): void {
  addBuildOptions(
    pkg
      .command('build')
      .description('build the packages of a melange recipe in a sandbox: an .apk per package and subpackage (signed with --signing-key), index, SBOM and provenance')
      .argument('[recipe]', `recipe file (default: first of ${DISCOVERY.join(', ')})`)
      .option('--source-dir <DIR>', 'files copied into the workspace (default: the recipe\'s directory)')
      .option('--empty-workspace', 'start from an empty workspace')
      .option('--keep-workspace', 'keep the workspace after the build, for debugging')
      .option('-i, --interactive', 'when a step fails, open a shell in its sandbox (stdin must be a terminal)'),
  ).action(async (recipeArg: string | undefined, flags: BuildFlags) => {
    const recipeFile = recipeArg ? resolve(context.cwd, recipeArg) : await discover(context.cwd);
    const sde = sourceDateEpoch(flags, context);
    const varsOverride = await readVarsFile(flags.varsFile && resolve(context.cwd, flags.varsFile));
    const preloaded = await readEnvFile(flags.envFile && resolve(context.cwd, flags.envFile));
    const environment = await createEnvironment(flags, context);
    let result: Awaited<ReturnType<typeof buildRecipe>>;
    try {
      result = await buildRecipe(
        {
          recipeFile,
          outDir: resolve(context.cwd, flags.outDir),
          sourceDir: flags.emptyWorkspace ? null : flags.sourceDir ? resolve(context.cwd, flags.sourceDir) : undefined,
          ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
          ...sharedBuildOptions(flags, context, varsOverride),
          ...(preloaded ? { environment: preloaded } : {}),
          ...(flags.keepWorkspace ? { keepWorkspace: true } : {}),
          ...(interactiveRequested(flags, context) ? { interactive: true } : {}),
        },
        { runner: createRunner(flags), debianSources: createDebianSources(flags, context), environment: environment.provider, publisher: await createPublisher(flags, sde, context), onLog: stepLogger(context) },
      );
    } finally {
      environment.close();
    }
    if (flags.json) {
      printJson(context, {
        origin: result.origin,
        version: result.version,
        arch: result.arch,
        packages: result.packages.map((p) => ({ name: p.name, version: p.version, file: p.file, sha256: p.sha256, size: p.size, identity: p.identity, depends: p.depends, provides: p.provides })),
        index: result.indexFile ?? null,
        signed: Boolean(flags.signingKey),
        provenance: result.provenanceFile,
        environment: result.environment,
        steps: result.stepsRun,
        stepTimings: result.stepTimings,
        durationMs: result.durationMs,
      });
    } else {
      for (const p of result.packages) context.stderr(`built ${p.file}\n`);
    }
    if (!flags.signingKey) context.stderr(unsignedNotice(`${plural(result.packages.length, 'package')}${result.indexFile ? ` and the index ${result.indexFile}` : ''}`));
  });
}

async function discover(cwd: string): Promise<string> {
  for (const name of DISCOVERY) {
    try {
      await access(join(cwd, name));
      return join(cwd, name);
    } catch {
      // try the next name
    }
  }
  throw new KilnError('USAGE', `no recipe given and none of ${DISCOVERY.join(', ')} exists in ${cwd}`);
}
