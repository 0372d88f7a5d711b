import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** Registers the `kiln image …` commands. */
export function registerImageCommands(_program: Command, _context: CliContext): void {}
