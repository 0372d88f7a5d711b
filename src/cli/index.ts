export { runCli, buildProgram, KILN_VERSION } from './program.ts';
export type { CliContext, RegisterCommands } from './context.ts';
