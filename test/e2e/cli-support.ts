// The CLI run in-process, as the e2e tests drive it: exit code plus everything it printed.
import { runCli } from '../../src/cli/index.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kiln ARGS` with exactly this environment and working directory, no TTY unless `isTTY`
 *  (stderr taken for a terminal, as for progress bars). */
export async function runKiln(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; isTTY?: boolean }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: options.env,
    cwd: options.cwd,
    isTTY: options.isTTY ?? false,
  });
  return { code, stdout, stderr };
}
