import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerApkFetch } from '../commands/apk-fetch.ts';
import { registerApkResolve } from '../commands/apk-resolve.ts';

/** `kiln apk resolve` and `kiln apk fetch`. */
export function registerApkRepositoryCommands(apk: Command, context: CliContext): void {
  registerApkResolve(apk, context);
  registerApkFetch(apk, context);
}
