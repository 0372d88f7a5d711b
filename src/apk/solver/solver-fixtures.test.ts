import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSolverTest, runSolverTest } from './test-file.ts';

// Every apk-tools solver test in the fixtures, run through the same code as `kiln apk solver-test`:
// the simulated apk output must equal the expected text byte for byte.
const dir = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk', 'solver');
const files = readdirSync(dir).filter((name) => name.endsWith('.test')).sort();

describe('apk-tools solver tests', () => {
  it('finds the fixture tests', () => {
    expect(files.length).toBe(63);
  });
  it.each(files)('%s', (file) => {
    const test = parseSolverTest(readFileSync(join(dir, file), 'utf8'));
    const outcome = runSolverTest(test, (name) => readFileSync(join(dir, name), 'utf8'));
    expect(outcome.actual).toBe(outcome.expected);
    expect(outcome.passed).toBe(true);
  });
});
