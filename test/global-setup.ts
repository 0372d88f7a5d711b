import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Each test run gets a private temporary directory: TMPDIR points into it for the test workers and
// every process they start, and it is removed once the whole run has finished (unless
// KILN_KEEP_TEST_DIRS=1), so leftovers of a failed build do not pile up and two runs on one machine
// never remove each other's scratch directories. Downloads worth keeping between runs go to
// KILN_TEST_CACHE_DIR, beside it.
let runDir: string | undefined;
let previousTmpdir: string | undefined;

export function setup(): void {
  const base = tmpdir();
  previousTmpdir = process.env.TMPDIR;
  process.env.KILN_TEST_CACHE_DIR ??= join(base, 'kiln-test-cache');
  // For the few tools with path-length limits (podman's run root): the machine's own temp dir.
  process.env.KILN_TEST_BASE_TMPDIR ??= base;
  runDir = mkdtempSync(join(base, 'kiln-test-run-'));
  process.env.TMPDIR = runDir;
}

export function teardown(): void {
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  if (runDir && process.env.KILN_KEEP_TEST_DIRS !== '1') rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
}
