import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareVersionBits,
  compareVersions,
  formatVersionOperator,
  isValidVersion,
  parseVersionOperator,
  splitNameVersion,
  VERSION_CONFLICT,
  VERSION_EQUAL,
  VERSION_GREATER,
  VERSION_LESS,
  versionMatches,
} from './version.ts';

const dataFile = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'apk', 'version.data');

interface Case {
  line: number;
  text: string;
}

function cases(): Case[] {
  const out: Case[] = [];
  readFileSync(dataFile, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const text = raw.replace(/#.*$/, '').trim();
      if (text) out.push({ line: index + 1, text });
    });
  return out;
}

/** Evaluates one version.data line the way apk-tools' unit test does. */
function holds(text: string): boolean {
  const words = text.split(/\s+/);
  if (words.length === 1) {
    const word = words[0]!;
    return word.startsWith('!') ? !isValidVersion(word.slice(1)) : isValidVersion(word);
  }
  const [a, opText, b] = words as [string, string, string];
  const negate = opText.startsWith('!');
  const op = parseVersionOperator(negate ? opText.slice(1) : opText);
  expect(op, `operator ${opText}`).not.toBe(0);
  return versionMatches(a, op | (negate ? VERSION_CONFLICT : 0), b);
}

describe('version.data (apk-tools 3.0.6 test vectors)', () => {
  const all = cases();
  it('has the upstream vectors', () => {
    expect(all.length).toBeGreaterThan(780);
  });
  it.each(all.map((c) => [c.line, c.text] as const))('line %i: %s', (_line, text) => {
    expect(holds(text)).toBe(true);
  });
});

// Valid versions built from the grammar of §3.1, so properties exercise every token kind.
const digits = fc.stringMatching(/^(0|[1-9][0-9]{0,3}|0[0-9]{1,2})$/);
const suffix = fc.constantFrom('alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p');
const validVersion = fc
  .record({
    parts: fc.array(digits, { minLength: 1, maxLength: 4 }),
    letter: fc.option(fc.constantFrom('a', 'b', 'z'), { nil: undefined }),
    suffixes: fc.array(fc.tuple(suffix, fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined })), { maxLength: 2 }),
    hash: fc.option(fc.stringMatching(/^[0-9a-f]{1,6}$/), { nil: undefined }),
    revision: fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined }),
  })
  .map(
    (v) =>
      v.parts.join('.') +
      (v.letter ?? '') +
      v.suffixes.map(([s, n]) => `_${s}${n ?? ''}`).join('') +
      (v.hash ? `~${v.hash}` : '') +
      (v.revision ? `-r${v.revision}` : ''),
  );

describe('version properties', () => {
  it('generated versions are valid', () => {
    fc.assert(fc.property(validVersion, (v) => isValidVersion(v)));
  });
  it('comparison is antisymmetric', () => {
    fc.assert(
      fc.property(validVersion, validVersion, (a, b) => {
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a));
      }),
    );
  });
  it('comparison is reflexive', () => {
    fc.assert(fc.property(validVersion, (a) => compareVersionBits(a, `${a}`) === VERSION_EQUAL));
  });
  it('comparison is transitive', () => {
    fc.assert(
      fc.property(validVersion, validVersion, validVersion, (a, b, c) => {
        const sorted = [a, b, c].sort(compareVersions);
        expect(compareVersions(sorted[0]!, sorted[2]!)).toBeLessThanOrEqual(0);
        if (compareVersions(a, b) < 0 && compareVersions(b, c) < 0) expect(compareVersions(a, c)).toBeLessThan(0);
        if (compareVersions(a, b) === 0 && compareVersions(b, c) === 0) expect(compareVersions(a, c)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
  it('a revision bump is always newer', () => {
    fc.assert(
      fc.property(validVersion, (v) => {
        const base = v.replace(/-r[0-9]+$/, '');
        expect(compareVersions(`${base}-r1`, `${base}-r0`)).toBe(1);
      }),
    );
  });
});

describe('operators', () => {
  it('parses and prints every operator form', () => {
    expect(formatVersionOperator(parseVersionOperator('<'))).toBe('<');
    expect(formatVersionOperator(parseVersionOperator('<='))).toBe('<=');
    expect(formatVersionOperator(parseVersionOperator('=>'))).toBe('>=');
    expect(formatVersionOperator(parseVersionOperator('~'))).toBe('~');
    expect(formatVersionOperator(parseVersionOperator('=~'))).toBe('~');
    expect(formatVersionOperator(parseVersionOperator('~='))).toBe('~');
    expect(formatVersionOperator(parseVersionOperator('<~'))).toBe('<~');
    expect(formatVersionOperator(parseVersionOperator('>~'))).toBe('>~');
    expect(formatVersionOperator(parseVersionOperator('><'))).toBe('><');
    expect(parseVersionOperator('=!')).toBe(0);
  });
  it('the empty (unversioned) version is older than any valid version', () => {
    expect(compareVersionBits('', '1')).toBe(VERSION_LESS);
    expect(versionMatches('', VERSION_LESS, '1')).toBe(true);
    expect(versionMatches('', VERSION_GREATER | VERSION_EQUAL, '1')).toBe(false);
  });
  it('a null version matches every operator', () => {
    expect(compareVersionBits(null, '1')).toBe(VERSION_EQUAL | VERSION_LESS | VERSION_GREATER);
  });
  it('fuzzy matching is a prefix match on the constraint', () => {
    expect(versionMatches('3.6.9', parseVersionOperator('~'), '3.6')).toBe(true);
    expect(versionMatches('2.10', parseVersionOperator('~'), '2.1')).toBe(false);
    expect(compareVersionBits('1.0', '1.0.1')).toBe(VERSION_LESS);
    expect(compareVersionBits('1.0_rc1', '1.0')).toBe(VERSION_LESS);
    expect(compareVersionBits('1.0a', '1.0_p1')).toBe(VERSION_GREATER);
  });
  it('numbers wrap at 64 bits like apk', () => {
    expect(compareVersionBits('18446744073709551617', '1')).toBe(VERSION_EQUAL);
    expect(compareVersionBits('18446744073709551615', '1')).toBe(VERSION_GREATER);
  });
  it('splits name-version at the last dash before a digit', () => {
    expect(splitNameVersion('py3-foo-1.2-r0')).toEqual({ name: 'py3-foo', version: '1.2-r0' });
    // Both ends of the digit range start a version; a dash before anything else is part of the name.
    expect(splitNameVersion('foo-9.0-r0')).toEqual({ name: 'foo', version: '9.0-r0' });
    expect(splitNameVersion('foo-0.1-r0')).toEqual({ name: 'foo', version: '0.1-r0' });
    expect(splitNameVersion('foo-bar-x')).toBeUndefined();
    expect(splitNameVersion('-1')).toBeUndefined();
    expect(splitNameVersion('nodash')).toBeUndefined();
  });
});
