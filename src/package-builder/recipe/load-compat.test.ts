import { describe, expect, it } from 'vitest';
import { BuildError } from '../errors.ts';
import { compileGoRegexp, goReplaceAll } from './go-regexp.ts';
import { loadRecipe } from './load.ts';

// Forms real melange recipes use (wolfi-dev/os) that the loader accepts as melange does.

const base = 'package:\n  name: py3-demo\n  version: "1.0"\n';

describe('provider-priority and replaces-priority are strings read as integers after substitution', () => {
  it('takes ${{range.value}} per ranged subpackage, ${{vars.x}} and quoted numbers', () => {
    const recipe = loadRecipe(
      'r.yaml',
      `${base}  dependencies:\n    provider-priority: "0"\n    replaces-priority: \${{vars.prio}}\nvars:\n  prio: "5"\ndata:\n  - name: py\n    items:\n      3.12: '312'\n      3.13: '313'\nsubpackages:\n  - range: py\n    name: py\${{range.key}}-demo\n    dependencies:\n      provider-priority: \${{range.value}}\n`,
    );
    expect(recipe.package.dependencies).toMatchObject({ 'provider-priority': '0', 'replaces-priority': '5' });
    expect(recipe.subpackages.map((sub) => [sub.name, sub.dependencies?.['provider-priority']])).toEqual([
      ['py3.12-demo', '312'],
      ['py3.13-demo', '313'],
    ]);
  });

  it('names the file, line and field when the value is not an integer once substituted', () => {
    expect(() => loadRecipe('r.yaml', `${base}vars:\n  prio: high\nsubpackages:\n  - name: b\n    dependencies:\n      provider-priority: \${{vars.prio}}\n`)).toThrow(
      /^r\.yaml:9:26: provider-priority must be an integer after substitution, got "high"$/,
    );
    expect(() => loadRecipe('r.yaml', `${base}  dependencies:\n    provider-priority: ten\n`)).toThrow(/^r\.yaml:5:24: package\.dependencies\.provider-priority: expected an integer or a \$\{\{…\}\} variable$/);
    expect(() => loadRecipe('r.yaml', `${base}  dependencies:\n    provider-priority: \${{vars.nope}}\n`)).toThrow(/r\.yaml:5:24: provider-priority must be an integer after substitution, got "\$\{\{vars\.nope\}\}"/);
  });
});

describe('update blocks', () => {
  it('accept a block without enabled (melange reads it as false)', () => {
    const recipe = loadRecipe('r.yaml', `${base}update:\n  github:\n    identifier: a/b\n  ignore-regex-patterns:\n    - rc\n`);
    expect(recipe.update?.enabled).toBeUndefined();
    expect(recipe.update?.github).toEqual({ identifier: 'a/b' });
  });
});

describe('steps', () => {
  it('accept a description (Wolfi pipelines describe their steps)', () => {
    const recipe = loadRecipe('r.yaml', `${base}pipeline:\n  - name: check\n    description: checks a thing\n    runs: true\n`);
    expect(recipe.pipeline[0]!.description).toBe('checks a thing');
  });
});

describe('var-transforms take the RE2 patterns melange accepts', () => {
  it.each([
    // Go accepts escaped punctuation outside a class; JS's unicode mode does not.
    ['escaped hyphen', '^(\\d+)\\-(\\d+)$', '$1.$2', '1-2', '1.2'],
    ['POSIX class', '^([[:digit:]]+)[[:punct:]]([[:alpha:]]+)$', '${2}_$1', '42.abc', 'abc_42'],
    ['negated POSIX class', '[[:^digit:]]', '', 'a1b2', '12'],
    ['\\A and \\z anchors', '\\A(\\d+)\\.\\d+\\z', '$1', '3.14', '3'],
    ['named group (?P<>)', '^(?P<major>\\d+)\\..*$', '${major}', '10.2', '10'],
    ['case-insensitive flag', '(?i)^V(\\d+)', '$1', 'v7', '7'],
  ])('%s', (_label, pattern, template, input, expected) => {
    expect(goReplaceAll(input, compileGoRegexp(pattern, 'r.yaml:1:1'), template)).toBe(expected);
  });

  it('still refuses look-around, which RE2 does not have', () => {
    expect(() => compileGoRegexp('a(?=b)', 'r.yaml:3:10')).toThrow(BuildError);
  });

  it('applies a transform whose pattern escapes punctuation, in a recipe', () => {
    const recipe = loadRecipe('r.yaml', 'package:\n  name: a\n  version: 2.1-rc3\nvar-transforms:\n  - from: ${{package.version}}\n    match: \\-rc(\\d+)$\n    replace: _rc$1\n    to: mangled\n');
    expect(recipe.vars.get('mangled')).toBe('2.1_rc3');
  });
});
