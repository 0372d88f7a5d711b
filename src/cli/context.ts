/** What a command needs from its surroundings, so commands run in-process in tests. */
export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** True when stderr is a terminal: only then is progress drawn. */
  isTTY: boolean;
  /** True when the process exists only for this command (kiln's own main, not a test or a server
   *  running commands in-process): process-wide settings such as V8 flags may then be tuned for it. */
  shortLivedProcess?: boolean;
}

/** Prints a value as one line of JSON on stdout, the `--json` contract for CI. */
export function printJson(context: CliContext, value: unknown): void {
  context.stdout(`${JSON.stringify(value)}\n`);
}
