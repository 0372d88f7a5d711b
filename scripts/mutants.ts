// Mutation check (`npm run mutants`): do the tests fail when the code is wrong?
//
// For a fixed set of small pure functions, each mutant changes one operator in a copy of the source
// (`<=` → `<`, `===` → `!==`, `&&` → `||`, `- 1` → `+ 1`, a regexp quantifier …), writes it to the
// real path, runs that module's own test files with vitest, and restores the original in `finally`
// (checked byte for byte). A mutant that no test notices "survives": either the tests check less
// than they say, or the mutant is equivalent to the original and should be replaced here. Every
// mutant must be killed; the script exits 1 if one survives, 2 if the check itself cannot run.
//
// Mutants are exact source snippets (old text → new text), each of which must occur exactly once:
// when the code changes, the script fails loudly instead of silently testing nothing. It edits
// files in place, so do not run it while other test runs or editors use the same checkout.
//
//   npm run mutants                  every mutant
//   npm run mutants -- duration      only mutants whose function or file contains "duration"
//   npm run mutants -- --list        print the mutants without running anything
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One mutation of one function: `from` (exactly once in `file`) becomes `to`. */
interface Mutant {
  fn: string;
  file: string;
  from: string;
  to: string;
  /** The module's own test files; one of them must fail. */
  tests: readonly string[];
}

const VERSION_TESTS = ['src/apk/version.test.ts'];
const DEPENDENCY_TESTS = ['src/apk/dependency.test.ts'];
const RANGE_TESTS = ['src/registry/format/format.test.ts'];
const TEXT_TESTS = ['src/lib/structured-text.test.ts'];
const DURATION_TESTS = ['src/lib/duration.test.ts'];
const TAR_TESTS = ['src/oci/format/tar.test.ts'];

const MUTANTS: readonly Mutant[] = [
  // apk version comparison (apk-tools' version.data vectors and properties)
  { fn: 'compareVersionBits (fuzzy prefix)', file: 'src/apk/version.ts', from: 'if (tb.kind === T_END && fuzzy) return VERSION_EQUAL;', to: 'if (tb.kind === T_END || fuzzy) return VERSION_EQUAL;', tests: VERSION_TESTS },
  { fn: 'splitNameVersion', file: 'src/apk/version.ts', from: 'text.charCodeAt(i + 1) <= C_9', to: 'text.charCodeAt(i + 1) < C_9', tests: VERSION_TESTS },
  { fn: 'versionMatches', file: 'src/apk/version.ts', from: '(op & VERSION_FUZZY) !== 0', to: '(op & VERSION_FUZZY) === 0', tests: VERSION_TESTS },
  // apk dependency parsing and matching
  { fn: 'parseDependency (dangling operator)', file: 'src/apk/dependency.ts', from: 'if (end >= spec.length) return undefined;', to: 'if (end > spec.length) return undefined;', tests: DEPENDENCY_TESTS },
  { fn: 'dependencySatisfiedBy (self-conflict)', file: 'src/apk/dependency.ts', from: 'dependent === provider.identity', to: 'dependent !== provider.identity', tests: DEPENDENCY_TESTS },
  // apk repository tag validation
  { fn: 'parseRepository (tag grammar)', file: 'src/apk/repository/repositories.ts', from: 'const TAG_PATTERN = /^[A-Za-z0-9._+-]+$/;', to: 'const TAG_PATTERN = /^[A-Za-z0-9._+-]*$/;', tests: ['src/apk/repository/repositories.test.ts'] },
  // durations
  { fn: 'parseDurationMs (bare seconds)', file: 'src/lib/duration.ts', from: 'if (/^\\d{1,12}$/.test(trimmed))', to: 'if (/^\\d{1,11}$/.test(trimmed))', tests: DURATION_TESTS },
  { fn: 'parseDurationMs (sum of parts)', file: 'src/lib/duration.ts', from: 'total + Number(part[1])', to: 'total - Number(part[1])', tests: DURATION_TESTS },
  // bounded YAML/JSON input
  { fn: 'parseYamlBounded (size limit)', file: 'src/lib/structured-text.ts', from: 'if (bytes > limits.maxBytes) {', to: 'if (bytes >= limits.maxBytes) {', tests: TEXT_TESTS },
  { fn: 'parseYamlBounded (flow nesting limit)', file: 'src/lib/structured-text.ts', from: 'if (++depth > limits.maxDepth) refuse(line);', to: 'if (++depth >= limits.maxDepth) refuse(line);', tests: TEXT_TESTS },
  // registry byte ranges
  { fn: 'parseByteRange (start at size)', file: 'src/registry/format/ranges.ts', from: "if (start >= size) return { kind: 'unsatisfiable' };", to: "if (start > size) return { kind: 'unsatisfiable' };", tests: RANGE_TESTS },
  { fn: 'parseByteRange (empty suffix)', file: 'src/registry/format/ranges.ts', from: 'if (suffix === 0 || size === 0)', to: 'if (suffix === 0 && size === 0)', tests: RANGE_TESTS },
  { fn: 'parseChunkRange', file: 'src/registry/format/ranges.ts', from: 'return start <= end ?', to: 'return start < end ?', tests: RANGE_TESTS },
  // registry access rules (repository globs)
  { fn: 'repositoryGlob (* within a component)', file: 'src/registry/format/patterns.ts', from: "} else if (char === '*') source += '[^/]*';", to: "} else if (char === '*') source += '.*';", tests: ['src/registry/format/patterns.test.ts'] },
  // image configuration integers (Go syntax)
  { fn: 'parseGoInteger (leading-zero octal)', file: 'src/image/config/parse.ts', from: "else if (text.length > 1 && text.startsWith('0'))", to: "else if (text.length >= 1 && text.startsWith('0'))", tests: ['src/image/config/parse.test.ts'] },
  // path safety of image path mutations
  { fn: 'checkInside (.. above the root)', file: 'src/image/fs/mutations.ts', from: 'if (--depth < 0) fail(', to: 'if (--depth <= 0) fail(', tests: ['src/image/fs/mutations.test.ts'] },
  // image layering plan
  { fn: 'planLayerGroups (budget)', file: 'src/image/layers-plan.ts', from: 'const keep = Math.max(budget - 1, 0);', to: 'const keep = Math.max(budget + 1, 0);', tests: ['src/image/layers-plan.test.ts'] },
  // SPDX ids
  { fn: 'spdxId', file: 'src/sbom/spdx.ts', from: 'replace(/[^A-Za-z0-9.-]/g', to: 'replace(/[^A-Za-z0-9-]/g', tests: ['src/sbom/sbom.test.ts'] },
  // content checks of the filesystem blob store (size and digest)
  { fn: 'checkContent (expected size)', file: 'src/storage/fs/fs-blob-store.ts', from: 'if (expectedSize !== undefined && size !== expectedSize) {', to: 'if (expectedSize !== undefined || size !== expectedSize) {', tests: ['src/storage/fs/fs-blob-store.test.ts'] },
  // registry listen address
  { fn: 'parseAddr (port range)', file: 'src/app/registry-config.ts', from: 'if (!match || port > 65535)', to: 'if (!match || port >= 65535)', tests: ['src/app/registry-config.test.ts'] },
  // melange --env-file
  { fn: 'parseEnvFile (quoted value)', file: 'src/package-builder/format/env-file.ts', from: 'if (value.length >= 2 &&', to: 'if (value.length > 2 &&', tests: ['src/package-builder/format/env-file.test.ts'] },
  // deterministic tar (ustar names, PAX records)
  { fn: 'splitUstarPath (100-byte name)', file: 'src/oci/format/tar.ts', from: "if (bytes.length <= 100) return ['', name];", to: "if (bytes.length < 100) return ['', name];", tests: TAR_TESTS },
  { fn: 'paxRecord (length digits)', file: 'src/oci/format/tar.ts', from: 'if (String(length).length !== String(length - bodyLength).length)', to: 'if (String(length).length === String(length - bodyLength).length)', tests: TAR_TESTS },
];

const ROOT = join(import.meta.dirname, '..');
/** A mutant's test run that takes longer than this is killed and counted as killed (an endless loop). */
const RUN_TIMEOUT_MS = 180_000;

type Outcome = 'killed' | 'survived' | 'timeout';

/** The file currently holding a mutant, restored by the signal handlers too. */
let pending: { path: string; original: Buffer } | undefined;

function restore(): void {
  if (!pending) return;
  const { path, original } = pending;
  writeFileSync(path, original);
  if (!readFileSync(path).equals(original)) throw new Error(`${path}: restoring the original failed; check the file by hand (git diff)`);
  pending = undefined;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    restore();
    process.stderr.write(`\nmutants: interrupted by ${signal}; the source is restored\n`);
    process.exit(130);
  });
}

/** Problems that make the check meaningless: a snippet that is missing or not unique, a no-op
 *  mutation, a test file that does not exist. */
function validate(mutants: readonly Mutant[]): string[] {
  const problems: string[] = [];
  for (const mutant of mutants) {
    const path = join(ROOT, mutant.file);
    if (!existsSync(path)) {
      problems.push(`${mutant.fn}: ${mutant.file} does not exist`);
      continue;
    }
    const source = readFileSync(path, 'utf8');
    const count = source.split(mutant.from).length - 1;
    if (count !== 1) problems.push(`${mutant.fn}: ${mutant.file} contains ${JSON.stringify(mutant.from)} ${count} times, not once (the code changed: update the mutant)`);
    if (mutant.from === mutant.to) problems.push(`${mutant.fn}: the mutation changes nothing`);
    if (mutant.tests.length === 0) problems.push(`${mutant.fn}: no test files`);
    for (const test of mutant.tests) if (!existsSync(join(ROOT, test))) problems.push(`${mutant.fn}: test file ${test} does not exist`);
  }
  return problems;
}

/** Runs vitest on `tests`; resolves with its exit code (or 'timeout'), and the output tail. */
function runTests(tests: readonly string[]): Promise<{ code: number | 'timeout'; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['vitest', 'run', ...tests, '--bail', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, RUN_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 'timeout' : (code ?? 1), output });
    });
  });
}

async function runMutant(mutant: Mutant): Promise<Outcome> {
  const path = join(ROOT, mutant.file);
  const original = readFileSync(path);
  const mutated = original.toString('utf8').replace(mutant.from, () => mutant.to);
  pending = { path, original };
  try {
    writeFileSync(path, mutated);
    const { code } = await runTests(mutant.tests);
    return code === 'timeout' ? 'timeout' : code === 0 ? 'survived' : 'killed';
  } finally {
    restore();
  }
}

function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const filters = args.filter((arg) => !arg.startsWith('--'));
  const selected = MUTANTS.filter((mutant) => filters.length === 0 || filters.some((filter) => mutant.fn.includes(filter) || mutant.file.includes(filter)));
  if (selected.length === 0) {
    process.stderr.write(`mutants: no mutant matches ${filters.join(' ')}\n`);
    return 2;
  }
  const problems = validate(selected);
  if (problems.length > 0) {
    process.stderr.write(`mutants: the mutant list does not match the code:\n  ${problems.join('\n  ')}\n`);
    return 2;
  }
  if (args.includes('--list')) {
    process.stdout.write(`${table([['function', 'file', 'mutation', 'tests'], ...selected.map((mutant) => [mutant.fn, mutant.file, `${mutant.from} → ${mutant.to}`, mutant.tests.join(' ')])])}\n`);
    return 0;
  }

  // The unmutated code must pass its tests, or "killed" would mean nothing.
  const suites = [...new Map(selected.map((mutant) => [mutant.tests.join(' '), mutant.tests])).values()];
  for (const tests of suites) {
    process.stderr.write(`baseline: ${tests.join(' ')}\n`);
    const { code, output } = await runTests(tests);
    if (code !== 0) {
      process.stderr.write(`${output}\nmutants: the tests fail without any mutant (${tests.join(' ')}); fix them first\n`);
      return 2;
    }
  }

  const rows: string[][] = [['function', 'file', 'mutation', 'result']];
  let killed = 0;
  for (const [index, mutant] of selected.entries()) {
    process.stderr.write(`[${index + 1}/${selected.length}] ${mutant.fn}: ${mutant.from} → ${mutant.to}\n`);
    const outcome = await runMutant(mutant);
    if (outcome !== 'survived') killed++;
    rows.push([mutant.fn, mutant.file, `${mutant.from} → ${mutant.to}`, outcome === 'timeout' ? 'killed (timeout)' : outcome]);
  }
  const survivors = selected.length - killed;
  process.stdout.write(`${table(rows)}\n\nmutation score: ${killed}/${selected.length} killed (${((100 * killed) / selected.length).toFixed(1)}%)${survivors ? `, ${survivors} survived` : ''}\n`);
  return survivors === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    try {
      restore();
    } finally {
      process.stderr.write(`mutants: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 2;
    }
  },
);
