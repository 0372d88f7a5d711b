import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerPkgBuild } from '../commands/pkg-build.ts';
import { registerPkgBuildAll } from '../commands/pkg-build-all.ts';
import { registerPkgIndex } from '../commands/pkg-index.ts';
import { registerPkgLint } from '../commands/pkg-lint.ts';
import { registerPkgSign } from '../commands/pkg-sign.ts';
import { registerPkgTest } from '../commands/pkg-test.ts';

/** Registers the `kiln pkg …` commands (melange-compatible package building). */
export function registerPkgCommands(program: Command, context: CliContext): void {
  const pkg = program.command('pkg').description('build, test, lint, sign and index apk packages from melange recipes');
  registerPkgBuild(pkg, context);
  registerPkgBuildAll(pkg, context);
  registerPkgTest(pkg, context);
  registerPkgLint(pkg, context);
  registerPkgSign(pkg, context);
  registerPkgIndex(pkg, context);
}
