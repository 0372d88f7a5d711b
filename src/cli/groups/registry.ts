import type { Command } from 'commander';
import { registerRegistryGc } from '../commands/registry-gc.ts';
import { registerRegistryHtpasswd } from '../commands/registry-htpasswd.ts';
import { registerRegistryServe } from '../commands/registry-serve.ts';
import type { CliContext } from '../context.ts';

/** Registers the `kiln registry …` commands. */
export function registerRegistryCommands(program: Command, context: CliContext): void {
  const registry = program.command('registry').description('run and maintain the OCI distribution registry');
  registerRegistryServe(registry, context);
  registerRegistryGc(registry, context);
  registerRegistryHtpasswd(registry, context);
}
