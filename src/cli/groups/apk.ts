import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** Registers the `kiln apk …` commands. */
export function registerApkCommands(_program: Command, _context: CliContext): void {}
