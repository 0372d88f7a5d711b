import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every Kiln test makes its scratch directories as `$TMPDIR/kiln-*`. Directories that a test leaves
// behind (a failed build kept for inspection, a sandbox workspace) are removed once the whole run
// has finished, so repeated runs do not fill the disk; ones that existed before the run are kept.
const pattern = /^kiln-(?!test-cache$)/;
let before = new Set<string>();

export function setup(): void {
  before = new Set(readdirSync(tmpdir()).filter((name) => pattern.test(name)));
}

export function teardown(): void {
  if (process.env.KILN_KEEP_TEST_DIRS === '1') return;
  for (const name of readdirSync(tmpdir())) {
    if (pattern.test(name) && !before.has(name)) rmSync(join(tmpdir(), name), { recursive: true, force: true, maxRetries: 3 });
  }
}
