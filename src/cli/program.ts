import { Command, CommanderError } from 'commander';
import { KilnError } from '../lib/index.ts';
import type { CliContext, RegisterCommands } from './context.ts';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, formatError } from './exit-codes.ts';
import { registerApkCommands } from './groups/apk.ts';
import { registerImageCommands } from './groups/image.ts';
import { registerRegistryCommands } from './groups/registry.ts';
import { registerPkgCommands } from './groups/pkg.ts';
import { registerTrustCommands } from './groups/trust.ts';

export const KILN_VERSION = '0.1.0';

const GROUPS: readonly RegisterCommands[] = [
  registerApkCommands,
  registerImageCommands,
  registerPkgCommands,
  registerRegistryCommands,
  registerTrustCommands,
];

export function buildProgram(context: CliContext): Command {
  const program = new Command('kiln')
    .description('Minimal, hardened, reproducible container images from apk packages')
    .version(KILN_VERSION)
    .showHelpAfterError()
    .configureOutput({ writeOut: context.stdout, writeErr: context.stderr })
    .exitOverride();
  for (const register of GROUPS) register(program, context);
  // Subcommands inherit output and exit handling so `--help` and usage errors never call process.exit.
  const apply = (command: Command): void => {
    command.configureOutput({ writeOut: context.stdout, writeErr: context.stderr }).exitOverride();
    command.commands.forEach(apply);
  };
  program.commands.forEach(apply);
  return program;
}

/** Runs the CLI in-process and returns its exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      return EXIT_USAGE;
    }
    if (error instanceof KilnError && error.code === 'USAGE') {
      context.stderr(formatError(error));
      return EXIT_USAGE;
    }
    context.stderr(formatError(error));
    return exitCodeFor(error);
  }
}
