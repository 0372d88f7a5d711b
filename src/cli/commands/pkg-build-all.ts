import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BuildError, buildAll } from '../../package-builder/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { addBuildOptions, createDebianSources, createEnvironment, sharedBuildOptions, createPublisher, createRunner, readEnvFile, readVarsFile, sourceDateEpoch, stepLogger, unsignedNotice } from './pkg-options.ts';
import type { PkgBuildFlags } from './pkg-options.ts';

interface BuildAllFlags extends PkgBuildFlags {
  jobs?: string;
  dryRun?: boolean;
}

/** `kiln pkg build-all DIR`: every recipe of a directory in dependency order. */
export function registerPkgBuildAll(pkg: Command, context: CliContext): void {
  addBuildOptions(
    pkg
      .command('build-all')
      .description('build every recipe (*.yaml) in a directory in dependency order, in parallel, skipping recipes whose inputs are unchanged')
      .argument('<dir>', 'directory of recipes; <dir>/<package>/ is the source directory of that recipe when present')
      .option('-j, --jobs <N>', 'parallel builds (default: number of cores)')
      .option('--dry-run', 'print the plan (order, up-to-date or not) without building'),
  ).action(async (dir: string, flags: BuildAllFlags) => {
    const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
    if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new KilnError('USAGE', `--jobs must be a positive integer, got ${JSON.stringify(flags.jobs)}`);
    const sde = sourceDateEpoch(flags, context);
    const varsOverride = await readVarsFile(flags.varsFile && resolve(context.cwd, flags.varsFile));
    const preloaded = await readEnvFile(flags.envFile && resolve(context.cwd, flags.envFile));
    const environment = await createEnvironment(flags, context);
    let result: Awaited<ReturnType<typeof buildAll>>;
    try {
      result = await buildAll(
        {
          dir: resolve(context.cwd, dir),
          outDir: resolve(context.cwd, flags.outDir),
          ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
          ...(jobs ? { jobs } : {}),
          ...(flags.dryRun ? { dryRun: true } : {}),
          ...sharedBuildOptions(flags, context, varsOverride),
          ...(preloaded ? { environment: preloaded } : {}),
        },
        { runner: createRunner(flags), debianSources: createDebianSources(flags, context), environment: environment.provider, publisher: await createPublisher(flags, sde, context), onLog: stepLogger(context) },
      );
    } finally {
      environment.close();
    }
    const summary = result.outcomes.map((o) => ({
      name: o.name,
      status: o.status,
      inputHash: o.inputHash,
      ...(o.error ? { error: o.error } : {}),
      ...(o.note ? { note: o.note } : {}),
      ...(o.blockedBy ? { blockedBy: o.blockedBy } : {}),
      ...(o.result ? { packages: o.result.packages.map((p) => p.file) } : {}),
    }));
    if (flags.json) printJson(context, { order: result.plan.order, recipes: summary, signed: Boolean(flags.signingKey), durationMs: result.durationMs });
    else {
      for (const o of summary) {
        const why = o.blockedBy ? ` (blocked by ${o.blockedBy.join(', ')})` : o.note ? ` (${o.note})` : o.status === 'invalid' && o.error ? `: ${o.error.split('\n')[0]}` : '';
        context.stderr(`${o.status.padEnd(10)} ${o.name}${why}\n`);
      }
    }
    const built = result.outcomes.filter((o) => o.status === 'built');
    const indexFile = built.find((o) => o.result?.indexFile)?.result?.indexFile;
    if (!flags.signingKey && built.length > 0) context.stderr(unsignedNotice(`the packages of ${plural(built.length, 'recipe')}${indexFile ? ` and the index ${indexFile}` : ''}`));
    const failed = result.outcomes.filter((o) => o.status === 'failed' || o.status === 'blocked' || o.status === 'invalid');
    if (failed.length > 0) {
      throw new BuildError('BUILD_ALL_FAILED', `${failed.length} of ${plural(result.outcomes.filter((o) => o.status !== 'skipped').length, 'recipe')} did not ${flags.dryRun ? 'load' : 'build'}:\n${failed.map((o) => `  ${o.name}: ${o.status === 'blocked' ? `blocked by ${o.blockedBy!.join(', ')}` : o.error!.split('\n')[0]}`).join('\n')}`, {
        detail: { failed: failed.map((o) => o.name) },
      });
    }
  });
}
