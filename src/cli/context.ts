
/** What a command needs from its surroundings, so commands run in-process in tests. */
export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** True when stderr is a terminal: only then is progress drawn. */
  isTTY: boolean;
}

/** A command group (`kiln apk …`, `kiln image …`) adds its commands to the program. */

/** Prints a value as one line of JSON on stdout, the `--json` contract for CI. */
export function printJson(context: CliContext, value: unknown): void {
  context.stdout(`${JSON.stringify(value)}\n`);
}
