import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** Registers the `kiln registry …` commands. */
export function registerRegistryCommands(_program: Command, _context: CliContext): void {}
