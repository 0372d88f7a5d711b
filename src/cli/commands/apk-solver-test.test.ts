import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../program.ts';
import type { CliContext } from '../context.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk', 'solver');

function context(): CliContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: fixtures, isTTY: false, out, err };
}

describe('kiln apk solver-test', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kiln-solver-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes fixture tests and prints the summary', async () => {
    const ctx = context();
    const code = await runCli(['apk', 'solver-test', 'basic1.test', 'provides5.test'], ctx);
    expect(code).toBe(0);
    expect(ctx.out.join('')).toBe('PASS basic1.test\nPASS provides5.test\n2 passed, 0 failed\n');
  });

  it('prints a diff and exits 1 when the output differs', async () => {
    copyFileSync(join(fixtures, 'basic.repo'), join(scratch, 'basic.repo'));
    const text = readFileSync(join(fixtures, 'basic1.test'), 'utf8').replace('Installing a (2)', 'Installing a (3)');
    writeFileSync(join(scratch, 'wrong.test'), text);
    const ctx = context();
    const code = await runCli(['apk', 'solver-test', join(scratch, 'wrong.test')], ctx);
    expect(code).toBe(1);
    const out = ctx.out.join('');
    expect(out).toContain(`FAIL ${join(scratch, 'wrong.test')}\n`);
    expect(out).toContain('-(2/2) Installing a (3)\n+(2/2) Installing a (2)\n');
    expect(out.endsWith('0 passed, 1 failed\n')).toBe(true);
    expect(ctx.err.join('')).toContain('solver tests failed');
  });

  it('reports a missing repository file as an invalid test', async () => {
    writeFileSync(join(scratch, 'missing.test'), '@ARGS add a\n@REPO nope.repo\n@EXPECT\n');
    const ctx = context();
    expect(await runCli(['apk', 'solver-test', join(scratch, 'missing.test')], ctx)).toBe(1);
    expect(ctx.err.join('')).toContain('nope.repo');
  });
});
