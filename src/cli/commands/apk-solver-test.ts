import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ApkError, parseSolverTest, runSolverTest } from '../../apk/index.ts';
import type { SolverTestOutcome } from '../../apk/index.ts';
import { readInputText } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

interface SolverTestFlags {
  arch?: string;
  json?: boolean;
}

/** `kiln apk solver-test FILE.test…`: runs apk-tools solver test files against Kiln's resolver. */
export function registerApkSolverTest(apk: Command, context: CliContext): void {
  apk
    .command('solver-test')
    .description("run apk-tools solver test files (test/solver/*.test) through Kiln's resolver and compare the output byte for byte")
    .argument('<files...>', 'test files; @REPO/@INSTALLED/@CACHE files are read from the same directory')
    .option('--arch <ARCH>', 'host architecture the simulated apk runs on', 'x86_64')
    .option('--json', 'print {"passed":N,"failed":N,"results":[…]} on stdout instead of text')
    .action(async (files: string[], flags: SolverTestFlags) => {
      let passed = 0;
      let failed = 0;
      const results: Array<{ file: string; passed: boolean; diff?: string }> = [];
      for (const file of files) {
        const path = resolve(context.cwd, file);
        let outcome: SolverTestOutcome;
        const text = await readInputText(path, { what: 'solver test' });
        try {
          const test = parseSolverTest(text);
          outcome = runSolverTest(test, (name) => readFileSync(join(dirname(path), name), 'utf8'), flags.arch ? { arch: flags.arch } : {});
        } catch (error) {
          throw new ApkError('APK_SOLVER_TEST_INVALID', `${file}: ${(error as Error).message}`, { cause: error, detail: { file } });
        }
        if (outcome.passed) passed++;
        else failed++;
        results.push({ file, passed: outcome.passed, ...(outcome.passed ? {} : { diff: outcome.diff }) });
        if (!flags.json) context.stdout(outcome.passed ? `PASS ${file}\n` : `FAIL ${file}\n${outcome.diff}`);
      }
      if (flags.json) printJson(context, { passed, failed, results });
      else context.stdout(`${passed} passed, ${failed} failed\n`);
      if (failed > 0) {
        const names = results.filter((r) => !r.passed).map((r) => basename(r.file));
        throw new ApkError('APK_SOLVER_TEST_FAILED', `${failed} of ${files.length} solver tests failed: ${names.join(', ')}`, { detail: { failed: names } });
      }
    });
}
