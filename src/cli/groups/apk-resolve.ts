import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerApkSolverTest } from '../commands/apk-solver-test.ts';

/** `kiln apk solver-test`. */
export function registerApkResolveCommands(apk: Command, context: CliContext): void {
  registerApkSolverTest(apk, context);
}
