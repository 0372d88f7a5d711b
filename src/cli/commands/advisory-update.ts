import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerAdvisoryEventCommand } from './advisory-event-options.ts';

/** `kiln advisory update PACKAGE VULNERABILITY --type TYPE …`. */
export function registerAdvisoryUpdate(advisory: Command, context: CliContext): void {
  registerAdvisoryEventCommand(advisory, context, 'update');
}
