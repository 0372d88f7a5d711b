// Shared setup of the trust e2e tests: run the CLI in-process, locate blobs in docker-registry's
// storage for tamper tests.
import { join } from 'node:path';
import { runCli } from '../../src/cli/index.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function kiln(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { HOME: options.cwd, DOCKER_CONFIG: join(options.cwd, '.docker'), ...(options.env ?? {}) },
    cwd: options.cwd,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** Path of a blob in Distribution's filesystem storage. */
export function distributionBlobPath(dataDir: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}
