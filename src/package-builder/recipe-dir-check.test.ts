import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRecipeDir } from './recipe-dir-check.ts';

const corpus = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'recipes', 'wolfi-corpus');
const sample = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'recipes', 'wolfi-corpus-sample');

describe('checkRecipeDir', () => {
  it('skips YAML that is no recipe, reports every failure with file, line and field, and keeps going', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-check-'));
    mkdirSync(join(dir, 'pipelines', 'local'), { recursive: true });
    writeFileSync(join(dir, 'pipelines', 'local', 'hello.yaml'), 'inputs:\n  who:\n    required: true\npipeline:\n  - runs: echo hello ${{inputs.who}}\n');
    writeFileSync(join(dir, '.yam.yaml'), 'gap:\n  - "."\nindent: 2\n');
    writeFileSync(join(dir, 'good.yaml'), 'package:\n  name: good\n  version: 1.0.0\npipeline:\n  - uses: local/hello\n    with:\n      who: kiln\n  - uses: go/build\n    with:\n      packages: .\n      output: good\n');
    writeFileSync(join(dir, 'bad-input.yaml'), 'package:\n  name: bad-input\n  version: 1.0.0\npipeline:\n  - uses: local/hello\n');
    writeFileSync(join(dir, 'bad-key.yaml'), 'package:\n  name: bad-key\n  version: 1.0.0\n  colour: red\n');
    writeFileSync(join(dir, 'arm-only.yaml'), 'package:\n  name: arm-only\n  version: 1.0.0\n  target-architecture: [aarch64]\npipeline:\n  - runs: echo ${{build.arch}}\n');
    const result = await checkRecipeDir({ dir, archs: ['x86_64', 'aarch64'] });
    expect(result.summary).toEqual({ files: 5, skipped: 1, recipes: 4, loaded: 3, compiled: 2, failed: 2, unsupported: 0 });
    expect(result.pipelineDirs).toEqual([join(dir, 'pipelines')]);
    const byName = Object.fromEntries(result.files.map((file) => [basename(file.file), file]));
    expect(byName['.yam.yaml']).toMatchObject({ status: 'skipped', note: 'not a recipe (no package: mapping)' });
    expect(byName['good.yaml']).toMatchObject({ status: 'compiled', archs: ['x86_64', 'aarch64'] });
    expect(byName['arm-only.yaml']).toMatchObject({ status: 'compiled', archs: ['aarch64'], note: 'not built for x86_64 (target-architecture: aarch64)' });
    expect(byName['bad-key.yaml']!.errors).toEqual([
      expect.objectContaining({ code: 'RECIPE_INVALID', file: join(dir, 'bad-key.yaml'), line: 4, column: 3, field: 'package' }),
    ]);
    // a compile failure is reported for every architecture it happens on
    expect(byName['bad-input.yaml']!.errors).toEqual(
      ['x86_64', 'aarch64'].map((arch) => expect.objectContaining({ code: 'PIPELINE_INPUT_INVALID', line: 5, column: 5, field: 'with.who (local/hello)', arch })),
    );
  });

  it('compiles at least 99 % of the Wolfi corpus sample for x86_64 and aarch64 (its own pipelines/ dir)', async () => {
    const result = await checkRecipeDir({ dir: corpus });
    expect(result.archs).toEqual(['x86_64', 'aarch64']);
    const failures = result.files.filter((file) => file.status === 'failed').map((file) => `${basename(file.file)}: ${file.errors!.map((error) => error.message).join('; ')}`);
    expect(failures).toEqual([]);
    expect(result.summary.recipes).toBe(49);
    expect(result.summary.compiled / result.summary.recipes).toBeGreaterThanOrEqual(0.99);
    expect(result.summary.skipped).toBe(1);
    // crane asks for sandbox capabilities: it compiles, and the build refusal is reported beside it
    const crane = result.files.find((file) => basename(file.file) === 'crane.yaml')!;
    expect(crane.warnings).toEqual([expect.stringMatching(/crane\.yaml:\d+:\d+: capabilities .* not supported/)]);
  });

  it('compiles every recipe of the 300-recipe Wolfi sample that melange accepts; the six it fails, melange fails too', async () => {
    const result = await checkRecipeDir({ dir: sample });
    expect(result.summary).toEqual({ files: 300, skipped: 0, recipes: 300, loaded: 296, compiled: 294, failed: 6, unsupported: 0 });
    const failures = Object.fromEntries(result.files.filter((file) => file.status === 'failed').map((file) => [basename(file.file), file.errors!.map((error) => `${error.line}:${error.column} ${error.code} ${error.message.replace(/^.*?\d+:\d+: /, '')}`)]));
    const retired = (line: number, key: string) => [expect.stringMatching(new RegExp(`^${line}:1 RECIPE_INVALID unknown key "${key}" \\(older melange read`))];
    const headerCheck = (line: number, input: string) => ['x86_64', 'aarch64'].map(() => expect.stringMatching(new RegExp(`^${line}:13 PIPELINE_INPUT_INVALID undefined input "${input}" for pipeline test/tw/header-check`)));
    expect(failures).toEqual({
      'flex.yaml': retired(18, 'secfixes'),
      'python3.yaml': retired(15, 'secfixes'),
      'redis.yaml': retired(15, 'secfixes'),
      'libxpm.yaml': retired(50, 'advisories'),
      'fftw.yaml': headerCheck(106, 'files'),
      'spice.yaml': headerCheck(83, 'configure-opts'),
    });
  });
});
