import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Private podman storage for a test: the image store under `dir`, and the run root in a short
 * directory of its own, because podman refuses a run root path longer than 50 characters and a test
 * run's private TMPDIR is deeper than that allows. Call `remove` when done.
 */
export async function podmanStorage(dir: string): Promise<{ flags: string[]; remove: () => Promise<void> }> {
  const runroot = await mkdtemp(join(process.env.KILN_TEST_BASE_TMPDIR ?? tmpdir(), 'kp-'));
  return {
    flags: ['--root', join(dir, 'podman-root'), '--runroot', runroot, '--storage-driver', 'vfs'],
    remove: () => rm(runroot, { recursive: true, force: true }),
  };
}
