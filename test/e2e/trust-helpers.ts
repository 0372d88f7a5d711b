// Shared setup of the trust e2e tests: run the CLI in-process, locate blobs in docker-registry's
// storage for tamper tests.
import { join } from 'node:path';
import { startDockerRegistry } from '../../src/registry-client/testing.ts';
import { runKiln } from './cli-support.ts';
import { startKiln } from './registry-support.ts';
import type { CliRun } from './cli-support.ts';

export type { CliRun };

/** The CLI in a trust test's working directory, with HOME and DOCKER_CONFIG inside it. */
export function kiln(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return runKiln(args, { env: { HOME: options.cwd, DOCKER_CONFIG: join(options.cwd, '.docker'), ...(options.env ?? {}) }, cwd: options.cwd });
}

/** Path of a blob in Distribution's filesystem storage. */
export function distributionBlobPath(dataDir: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** A registry under test: Kiln's own (data under `dataDir`) or Debian's docker-registry. */
export async function startRegistryUnderTest(kind: 'kiln' | 'distribution', dataDir: string): Promise<{ host: string; stop: () => Promise<unknown> }> {
  if (kind === 'kiln') {
    const server = await startKiln(dataDir);
    return { host: server.host, stop: () => server.stop() };
  }
  const registry = await startDockerRegistry();
  return { host: registry.host, stop: () => registry.stop() };
}
