// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { runCli, buildProgram, KILN_VERSION } from './program.ts';
export type { CliContext } from './context.ts';
