import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** Registers the `kiln pkg …` commands. */
export function registerPkgCommands(_program: Command, _context: CliContext): void {}
