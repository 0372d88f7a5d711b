import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerApkFetch } from '../commands/apk-fetch.ts';

/** `kiln apk resolve` and `kiln apk fetch`. */
export function registerApkRepositoryCommands(apk: Command, context: CliContext): void {
  registerApkFetch(apk, context);
}
