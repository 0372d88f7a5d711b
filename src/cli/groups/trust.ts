import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** Registers the `kiln trust …` commands. */
export function registerTrustCommands(_program: Command, _context: CliContext): void {}
