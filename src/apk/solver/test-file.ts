// apk-tools solver test files (`*.test`, apk-format.md §6.8) and a runner that feeds them to the
// simulator and compares output byte for byte, like test/solver.sh.
import type { SimulatedRepository, SimulationResult } from './simulate.ts';
import { simulateApk } from './simulate.ts';

/** A parsed `.test` file. */
export interface SolverTest {
  args: string[];
  repositories: Array<{ tag?: string; file: string }>;
  installed?: string;
  world?: string[];
  cache?: string;
  /** Expected output, each line followed by `\n`. */
  expected: string;
  /** Set when the file has an unknown `@` directive (the test is invalid). */
  invalid?: string;
}

/** Parses a test file the way solver.sh's `while read` loop does (only newline-terminated lines). */
export function parseSolverTest(text: string): SolverTest {
  const test: SolverTest = { args: [], repositories: [], expected: '' };
  const lines = text.split('\n');
  lines.pop();
  let expecting = false;
  const expected: string[] = [];
  for (const line of lines) {
    const rest = line.slice(line.indexOf(' ') + 1);
    if (line.startsWith('@ARGS ')) {
      test.args.push(...rest.split(/\s+/).filter(Boolean));
    } else if (line.startsWith('@WORLD ')) {
      test.world = rest.split(/\s+/).filter(Boolean);
    } else if (line.startsWith('@INSTALLED ')) {
      test.installed = rest;
    } else if (line.startsWith('@REPO @')) {
      const [tag, file] = [rest.slice(0, rest.lastIndexOf(' ')), rest.slice(rest.lastIndexOf(' ') + 1)];
      test.repositories.push({ tag: tag.slice(1), file });
    } else if (line.startsWith('@REPO ')) {
      test.repositories.push({ file: rest });
    } else if (line.startsWith('@CACHE ')) {
      test.cache = rest;
    } else if (line === '@EXPECT') {
      expecting = true;
    } else if (line.startsWith('@')) {
      test.invalid = line;
      break;
    } else if (expecting) {
      expected.push(`${line}\n`);
    }
  }
  test.expected = expected.join('');
  return test;
}

/** Outcome of one test file. */
export interface SolverTestOutcome {
  passed: boolean;
  expected: string;
  actual: string;
  exitCode: number;
  /** Unified-style diff (expected → actual); empty when passed. */
  diff: string;
}

/** Runs a parsed test; `readFile` resolves the test's sibling files (repositories, installed, cache). */
export function runSolverTest(test: SolverTest, readFile: (name: string) => string, options: { arch?: string; now?: Date } = {}): SolverTestOutcome {
  if (test.invalid) {
    const actual = `invalid spec: ${test.invalid}\n`;
    return { passed: false, expected: test.expected, actual, exitCode: 1, diff: unifiedDiff(test.expected, actual) };
  }
  const repositories: SimulatedRepository[] = test.repositories.map((r) => ({ key: r.file, index: readFile(r.file), ...(r.tag ? { tag: r.tag } : {}) }));
  const result: SimulationResult = simulateApk({
    args: test.args,
    repositories,
    ...(test.installed !== undefined ? { installed: readFile(test.installed) } : {}),
    ...(test.world !== undefined ? { world: test.world.join('\n') } : {}),
    ...(test.cache !== undefined ? { cache: readFile(test.cache) } : {}),
    ...(options.arch ? { arch: options.arch } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const passed = result.output === test.expected;
  return { passed, expected: test.expected, actual: result.output, exitCode: result.exitCode, diff: passed ? '' : unifiedDiff(test.expected, result.output) };
}

/** A minimal line diff in unified style (one hunk covering both texts). */
export function unifiedDiff(expected: string, actual: string): string {
  const a = expected === '' ? [] : expected.replace(/\n$/, '').split('\n');
  const b = actual === '' ? [] : actual.replace(/\n$/, '').split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const lines = ['--- expected', '+++ actual', `@@ -1,${a.length} +1,${b.length} @@`];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(` ${a[i]}`);
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      lines.push(`-${a[i]}`);
      i++;
    } else {
      lines.push(`+${b[j]}`);
      j++;
    }
  }
  return `${lines.join('\n')}\n`;
}
