import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerPkgCheck } from '../../src/cli/commands/pkg-check.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { exitCodeFor, formatError } from '../../src/cli/exit-codes.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// `kiln pkg check DIR` and `kiln pkg build-all DIR --dry-run` over a directory that mixes recipes,
// a bad recipe and a YAML file that is no recipe (a formatter's configuration, as in wolfi-dev/os).
// No build runs: loading and compiling only.

const corpus = join(import.meta.dirname, '..', 'fixtures', 'recipes', 'wolfi-corpus');
let dir: string;

/** `kiln pkg check ARGS` through the command's own registration (its code, its flags, the CLI's
 *  error formatting and exit codes). */
async function pkgCheck(args: string[], cwd: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const context: CliContext = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: {}, cwd, isTTY: false };
  const program = new Command('kiln').exitOverride();
  registerPkgCheck(program.command('pkg'), context);
  try {
    await program.parseAsync(['pkg', 'check', ...args], { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: exitCodeFor(error), stdout, stderr: stderr + formatError(error) };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-pkg-check-'));
  writeFileSync(join(dir, '.yam.yaml'), 'gap:\n  - "."\nindent: 2\n');
  writeFileSync(join(dir, 'alpha.yaml'), 'package:\n  name: alpha\n  version: 1.0.0\npipeline:\n  - uses: go/build\n    with:\n      packages: ./cmd/alpha\n      output: alpha\n');
  writeFileSync(join(dir, 'broken.yaml'), 'package:\n  name: broken\n  version: 1.0.0\n  dependencies:\n    provider-priority: ${{vars.prio}}\nvars:\n  prio: high\n');
  writeFileSync(join(dir, 'main-only.yaml'), 'package:\n  name: main-only\n  version: 1.0.0\npipeline:\n  - uses: local/needs-subpkg\n');
  mkdirSync(join(dir, 'pipelines', 'local'), { recursive: true });
  writeFileSync(join(dir, 'pipelines', 'local', 'needs-subpkg.yaml'), 'pipeline:\n  - runs: ls ${{targets.subpkgdir}}\n');
  writeFileSync(join(dir, 'zeta.yaml'), 'package:\n  name: zeta\n  version: 1.0.0\npipeline:\n  - uses: split/nothing-like-this\n');
});

describe('kiln pkg check', () => {
  it('prints every error with file, line and field, skips non-recipes with a note, and exits 1', async () => {
    const run = await pkgCheck([dir, '--arch', 'x86_64,aarch64'], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`skipped  ${join(dir, '.yam.yaml')}: not a recipe (no package: mapping)`);
    expect(run.stderr).toContain(`error    ${join(dir, 'broken.yaml')}:5:24: provider-priority must be an integer after substitution, got "high" [provider-priority]`);
    expect(run.stderr).toMatch(/error {4}\S+zeta\.yaml:5:5: pipeline "split\/nothing-like-this" not found .* \(x86_64\)/);
    expect(run.stderr).toMatch(/error {4}\S+zeta\.yaml:5:5: pipeline "split\/nothing-like-this" not found .* \(aarch64\)/);
    // an error inside a pipeline definition names the definition and the recipe that reached it
    expect(run.stderr).toContain(`error    ${join(dir, 'main-only.yaml')}: in ${join(dir, 'pipelines', 'local', 'needs-subpkg.yaml')}:2:11: undefined variable \${{targets.subpkgdir}}`);
    expect(run.stderr).toContain('4 recipes for x86_64, aarch64: 3 loaded, 1 compiled (25.0 %), 3 failed; 1 file skipped (not recipes)');
    expect(run.stderr).toContain('kiln: 3 of 4 recipes in');
  });

  it('--json gives the summary and each file, and the Wolfi corpus sample compiles in full', async () => {
    const run = await pkgCheck([corpus, '--json', '--arch', 'x86_64', '--arch', 'aarch64'], corpus);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { summary: Record<string, number>; archs: string[]; files: { status: string }[] };
    expect(result.archs).toEqual(['x86_64', 'aarch64']);
    expect(result.summary.failed).toBe(0);
    expect(result.summary.compiled).toBe(result.summary.recipes);
    expect(result.summary.recipes).toBe(49);
  });
});

describe('kiln pkg build-all --dry-run', () => {
  it('skips non-recipe YAML with a note, reports every invalid recipe, plans the rest, and exits 1 at the end', async () => {
    const run = await runKiln(['pkg', 'build-all', dir, '--dry-run', '--bootstrap-host', '--arch', 'x86_64', '--out-dir', join(dir, 'out')], { cwd: dir, env: { ...process.env } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/planned {4}alpha\n/);
    expect(run.stderr).toMatch(/planned {4}zeta\n/);
    expect(run.stderr).toContain('skipped    .yam.yaml (not a recipe (no package: mapping))');
    expect(run.stderr).toMatch(/invalid {4}broken: \S+broken\.yaml:5:24: provider-priority must be an integer/);
    expect(run.stderr).toMatch(/planned {4}main-only\n/);
    expect(run.stderr).toMatch(/kiln: 1 of 4 recipes did not load:\n {2}broken: /);
  });
});
