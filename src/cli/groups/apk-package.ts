import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** `kiln keygen` (top level) and `kiln apk info|verify|mkpkg|index`. */
export function registerApkPackageCommands(_program: Command, _apk: Command, _context: CliContext): void {}
