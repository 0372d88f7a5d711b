import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerAdvisoryEventCommand } from './advisory-event-options.ts';

/** `kiln advisory create PACKAGE VULNERABILITY --type TYPE …`. */
export function registerAdvisoryCreate(advisory: Command, context: CliContext): void {
  registerAdvisoryEventCommand(advisory, context, 'create');
}
