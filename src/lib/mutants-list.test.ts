import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `npm run mutants` mutates snippets of code it names by text; when the code moves or changes, the
// list must follow, or the score silently stops measuring. `--list` checks every snippet is present
// exactly once and every named test file exists, without mutating anything.
const root = join(import.meta.dirname, '..', '..');

describe('the mutants list', () => {
  it('names snippets that exist exactly once, in files and with tests that exist', async () => {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'mutants.ts'), '--list'], { cwd: root }).then(
      (out) => ({ code: 0, ...out }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| function')).length).toBeGreaterThanOrEqual(20);
  });
});
