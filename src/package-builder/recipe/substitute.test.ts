import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateCondition } from './condition.ts';
import { compileGoRegexp, goReplaceAll } from './go-regexp.ts';
import { substitutePartial, substituteStrict } from './substitute.ts';

describe('substitution', () => {
  const vars = new Map([['package.name', 'hello'], ['vars.x', 'X']]);
  it('replaces known names, tolerating spaces, and leaves unknown ones in the partial phase', () => {
    expect(substitutePartial('${{package.name}}-${{ vars.x }}-${{targets.destdir}}-$HOME-${VAR}', vars)).toBe('hello-X-${{targets.destdir}}-$HOME-${VAR}');
  });
  it('fails on unknown names in the strict phase, naming the place', () => {
    expect(() => substituteStrict('a ${{nope.x}}', vars, 'r.yaml:3:5')).toThrow('r.yaml:3:5: undefined variable ${{nope.x}}');
  });
  it('never touches text without the ${{ marker (property)', () => {
    fc.assert(fc.property(fc.string().filter((text) => !text.includes('${{')), (text) => substituteStrict(text, vars, 'w') === text));
  });
});

describe('Go regexp replacement', () => {
  const replace = (input: string, pattern: string, template: string) => goReplaceAll(input, compileGoRegexp(pattern, 'w'), template);
  it.each([
    ['1.2.3', '\\.', '_', '1_2_3'],
    ['1.2.3', '^(\\d+)\\.(\\d+)\\.(\\d+)$', '${1}${2}${3}', '123'],
    ['1.2', '^(\\d+)\\.(\\d+)$', '$1_x', ''],
    ['1.2', '^(\\d+)\\.(\\d+)$', '$$1', '$1'],
    ['v1.2', '^v(?P<major>\\d+)\\.(\\d+)$', '$major-$2', '1-2'],
    ['abc', 'b*', '-', '-a-c-'],
    ['abc', 'x*', '-', '-a-b-c-'],
    ['ABC', '(?i)b', 'x', 'AxC'],
  ])('%s ~ s/%s/%s/ = %s', (input, pattern, template, expected) => {
    expect(replace(input, pattern, template)).toBe(expected);
  });
  it('rejects look-around, which RE2 does not have', () => {
    expect(() => compileGoRegexp('a(?=b)', 'r.yaml:1:1')).toThrow(/look-around/);
  });
});

describe('conditions', () => {
  const vars = new Map([['build.arch', 'x86_64'], ['vars.x', 'a"b']]);
  it.each([
    ["${{build.arch}} == 'x86_64'", true],
    ["${{build.arch}} != 'x86_64'", false],
    ["${{build.arch}} == 'aarch64' || ${{build.arch}} == 'x86_64'", true],
    // no precedence: (true || x) && false
    ["'a' == 'a' || 'a' == 'b' && 'a' == 'b'", false],
    ["'a' == 'a' || ('a' == 'b' && 'a' == 'b')", true],
    ['${{vars.x}} == "a\\"b"', true],
  ])('%s → %s', (expression, expected) => {
    expect(evaluateCondition(expression, vars, 'w')).toBe(expected);
  });
  it.each([["'a' == 'a' garbage"], ["'a' = 'a'"], ['${{nope}} == "x"'], ["('a' == 'a'"]])('rejects %s', (expression) => {
    expect(() => evaluateCondition(expression, vars, 'r.yaml:1:1')).toThrow(/r\.yaml:1:1/);
  });
});
