import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** `kiln apk resolve` (and `kiln apk fetch`). */
export function registerApkRepositoryCommands(_apk: Command, _context: CliContext): void {}
