import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerApkPackageCommands } from './apk-package.ts';
import { registerApkResolveCommands } from './apk-resolve.ts';
import { registerApkRepositoryCommands } from './apk-repository.ts';

/** Registers `kiln keygen` and the `kiln apk …` commands. */
export function registerApkCommands(program: Command, context: CliContext): void {
  const apk = program.command('apk').description('read, write, sign, index and resolve apk packages');
  registerApkPackageCommands(program, apk, context);
  registerApkResolveCommands(apk, context);
  registerApkRepositoryCommands(apk, context);
}
