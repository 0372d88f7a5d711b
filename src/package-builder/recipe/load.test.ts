import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildError } from '../errors.ts';
import { loadRecipe } from './load.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'recipes');
const fixture = (name: string) => {
  const file = join(fixtures, name);
  return loadRecipe(file, readFileSync(file, 'utf8'));
};

function failure(text: string): BuildError {
  try {
    loadRecipe('r.yaml', text);
  } catch (error) {
    expect(error).toBeInstanceOf(BuildError);
    return error as BuildError;
  }
  throw new Error('expected the recipe to fail');
}

describe('loadRecipe on real-shaped recipes', () => {
  it('keeps versions as literal text and builds the full version', () => {
    const hello = fixture('hello.yaml');
    expect(hello.package.version).toBe('2.10');
    expect(hello.fullVersion).toBe('2.10-r0');
    expect(hello.pipeline.map((step) => step.uses)).toEqual(['fetch', 'autoconf/configure', 'autoconf/make', 'autoconf/make-install', 'strip']);
    expect(hello.pipeline[0]!.with!.uri).toBe('https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz');
    expect(hello.subpackages.map((sub) => sub.name)).toEqual(['hello-doc']);
    expect(hello.update?.enabled).toBe(true);
  });

  it('applies var-transforms with Go replacement semantics', () => {
    const zlib = fixture('zlib.yaml');
    expect(zlib.vars.get('short-version')).toBe('1213');
    expect(zlib.package.epoch).toBe(1);
    expect(zlib.package.dependencies?.['provider-priority']).toBe('10');
    const features = fixture('features.yaml');
    expect(features.vars.get('underscored')).toBe('1_10');
    // `$2_x` names the (absent) group "2_x", so only ${1} contributes.
    expect(features.vars.get('swapped')).toBe('1');
  });

  it('expands ranges with keys sorted as strings and substitutes package variables', () => {
    const features = fixture('features.yaml');
    expect(features.subpackages.map((sub) => sub.name)).toEqual(['py3.10-demo', 'py3.11-demo', 'py3.12-demo', 'py3-demo-doc']);
    expect(features.subpackages[1]!.description).toBe('demo for python 3.11 (311)');
    expect(features.package.description).toBe('demo of py3-demo');
    expect(features.package.dependencies?.provides).toEqual(['demo=1.10-r3']);
    // compile-time variables stay for the compiler
    expect(features.subpackages[0]!.pipeline![0]!.runs).toContain('${{targets.subpkgdir}}/usr/lib/python3.10');
  });

  it('applies build options to vars and the guest package list', () => {
    const file = join(fixtures, 'features.yaml');
    const recipe = loadRecipe(file, readFileSync(file, 'utf8'), { buildOptions: ['extra'] });
    expect(recipe.vars.get('base')).toBe('extra-base');
    expect(recipe.environment.contents?.packages).toEqual(['extra-pkg']);
    expect(recipe.options.get('extra')).toBe(true);
    expect(() => loadRecipe(file, readFileSync(file, 'utf8'), { buildOptions: ['nope'] })).toThrow(/build option "nope" is not declared/);
  });
});

describe('loadRecipe errors point at file:line:column', () => {
  it.each([
    ['unknown key', 'package:\n  name: a\n  version: 1\n  colour: red\n', /^r\.yaml:4:3: unknown key "colour" in package$/],
    ['unknown top-level key', 'package:\n  name: a\n  version: 1\nbogus: 1\n', /^r\.yaml:4:1: unknown key "bogus"$/],
    ['retired top-level key', 'package:\n  name: a\n  version: 1\nsecfixes:\n  1-r0:\n    - CVE-2022-0001\n', /^r\.yaml:4:1: unknown key "secfixes" \(older melange read security fixes here; current melange rejects it too: remove it/],
    ['missing version', 'package:\n  name: a\n', /^r\.yaml:2:3: missing required key package\.version$/],
    ['bad epoch', 'package:\n  name: a\n  version: 1\n  epoch: one\n', /^r\.yaml:4:10: package\.epoch: expected an unsigned integer$/],
    ['bad name', 'package:\n  name: -a\n  version: 1\n', /^r\.yaml:2:9: package\.name: package name must match/],
    ['uses and runs', 'package:\n  name: a\n  version: 1\npipeline:\n  - uses: fetch\n    runs: echo\n', /^r\.yaml:6:11: pipeline\[0\]\.runs: `uses` and `runs` are mutually exclusive in a build pipeline$/],
    ['uses and runs in a subpackage\'s nested build step', 'package:\n  name: a\n  version: 1\nsubpackages:\n  - name: b\n    pipeline:\n      - pipeline:\n          - uses: fetch\n            runs: echo\n', /^r\.yaml:9:19: subpackages\[0\]\.pipeline\[0\]\.pipeline\[0\]\.runs: `uses` and `runs` are mutually exclusive in a build pipeline$/],
    ['with without uses', 'package:\n  name: a\n  version: 1\npipeline:\n  - with:\n      a: b\n', /^r\.yaml:6:7: pipeline\[0\]\.with: a step with `with` must have `uses`$/],
    ['duplicate subpackage', 'package:\n  name: a\n  version: 1\nsubpackages:\n  - name: b\n  - name: b\n', /^r\.yaml:6:11: subpackages\[1\]\.name: subpackage name "b" is used twice$/],
    ['undefined range', 'package:\n  name: a\n  version: 1\nsubpackages:\n  - name: b-${{range.key}}\n    range: nope\n', /^r\.yaml:6:12: undefined range "nope"/],
    ['yaml syntax', 'package:\n  name: a\n   version: 1\n', /^r\.yaml:2:9: invalid YAML/],
    ['deep unknown key', 'package:\n  name: a\n  version: 1\npipeline:\n  - name: x\n    pipeline:\n      - runs: y\n        whatever: z\n', /^r\.yaml:8:9: unknown key "whatever" in pipeline\[0\]\.pipeline\[0\]$/],
  ])('%s', (_label, text, pattern) => {
    const error = failure(text);
    expect(error.code).toBe('RECIPE_INVALID');
    expect(error.message).toMatch(pattern);
  });

  it('reads `range: ""` as no range, as melange does', () => {
    const recipe = loadRecipe('r.yaml', 'package:\n  name: a\n  version: 1\nsubpackages:\n  - range: ""\n    name: a-dev\n');
    expect(recipe.subpackages.map((sub) => sub.name)).toEqual(['a-dev']);
    expect(failure('package:\n  name: a\n  version: 1\nsubpackages:\n  - range: ""\n    name: a\n').message).toMatch(/r\.yaml:6:11: subpackages\[0\]\.name: subpackage name "a" equals the package name/);
  });

  it('accepts an empty pipeline and a duplicate name only in ranges after expansion', () => {
    const recipe = loadRecipe('r.yaml', 'package:\n  name: a\n  version: 1\npipeline:\n');
    expect(recipe.pipeline).toEqual([]);
    const error = failure('package:\n  name: a\n  version: 1\ndata:\n  - name: d\n    items:\n      x: "1"\nsubpackages:\n  - name: a\n    range: d\n');
    expect(error.message).toMatch(/r\.yaml:9:11: package name "a" is used twice/);
  });
});
