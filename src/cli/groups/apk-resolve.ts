import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** `kiln apk solver-test`. */
export function registerApkResolveCommands(_apk: Command, _context: CliContext): void {}
