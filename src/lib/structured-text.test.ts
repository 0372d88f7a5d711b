import { describe, expect, it } from 'vitest';
import { isKilnError } from './errors.ts';
import { loadYamlBounded, parseJsonBounded, parseYamlBounded } from './structured-text.ts';

function codeOf(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isKilnError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a KilnError');
}

/** `levels` anchors, each a list of `width` aliases to the one before: width^levels values. */
function aliasBomb(levels: number, width: number): string {
  let text = 'a0: &a0 [lol, lol, lol]\n';
  for (let level = 1; level <= levels; level++) text += `a${level}: &a${level} [${Array.from({ length: width }, () => `*a${level - 1}`).join(', ')}]\n`;
  return text;
}

describe('parseYamlBounded / loadYamlBounded', () => {
  it('loads ordinary YAML with reused anchors', () => {
    const text = 'base: &base {user: app, shell: /bin/sh}\nfirst: *base\nsecond: *base\nlist: [*base, *base, *base]\n';
    expect(loadYamlBounded(text, 'ok.yaml')).toEqual({
      base: { user: 'app', shell: '/bin/sh' },
      first: { user: 'app', shell: '/bin/sh' },
      second: { user: 'app', shell: '/bin/sh' },
      list: [{ user: 'app', shell: '/bin/sh' }, { user: 'app', shell: '/bin/sh' }, { user: 'app', shell: '/bin/sh' }],
    });
  });

  it('refuses a billion-laughs document quickly, naming the file and line', () => {
    const failure = codeOf(() => loadYamlBounded(aliasBomb(9, 10), 'bomb.yaml'));
    expect(failure.code).toBe('LIMIT_EXCEEDED');
    expect(failure.message).toMatch(/^bomb\.yaml:\d+:\d+: the document expands to more than 1000000 values/);
  });

  it('accepts an alias expansion just under the node limit and refuses one just over it', () => {
    // 3 scalars + list at level 0; each level: 1 list + width copies of the level below.
    const limits = { maxNodes: 200 };
    expect(() => parseYamlBounded(aliasBomb(2, 5), 'small.yaml', { limits })).not.toThrow();
    expect(codeOf(() => parseYamlBounded(aliasBomb(3, 5), 'big.yaml', { limits })).code).toBe('LIMIT_EXCEEDED');
  });

  it('refuses an anchor that contains an alias to itself', () => {
    const failure = codeOf(() => loadYamlBounded('a: &a {b: *a}\n', 'cycle.yaml'));
    expect(failure).toEqual({ code: 'INPUT_INVALID', message: 'cycle.yaml:1:11: alias *a refers to the anchor that contains it (a cycle)' });
    expect(codeOf(() => loadYamlBounded('x: &x [1, [2, *x]]\n', 'nested.yaml')).code).toBe('INPUT_INVALID');
  });

  it('bounds nesting depth in block, flow and aliased form', () => {
    const deepFlow = `${'['.repeat(200)}${']'.repeat(200)}`;
    expect(codeOf(() => loadYamlBounded(deepFlow, 'flow.yaml')).code).toBe('LIMIT_EXCEEDED');
    const deepStack = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    // Refused from the lexer's tokens, before the (recursive) composer could run out of stack.
    expect(codeOf(() => loadYamlBounded(deepStack, 'stack.yaml'))).toEqual({ code: 'LIMIT_EXCEEDED', message: 'stack.yaml:1: nesting is deeper than the limit of 128' });
    expect(codeOf(() => loadYamlBounded(`k:\n  v: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`, 'maps.yaml')).message).toBe('maps.yaml:2: nesting is deeper than the limit of 128');
    // Brackets inside quoted scalars are text, not nesting.
    expect(loadYamlBounded(`q: "${'['.repeat(5000)}"\n`, 'quoted.yaml')).toEqual({ q: '['.repeat(5000) });
    // Compact block sequences nest without indentation of their own; their column still bounds them.
    expect(codeOf(() => loadYamlBounded(`${'- '.repeat(100_000)}x\n`, 'compact.yaml')).message).toBe('compact.yaml:1: nesting is deeper than the limit of 128');
    let block = '';
    for (let level = 0; level < 20; level++) block += `${'  '.repeat(level)}k${level}:\n`;
    expect(() => loadYamlBounded(block, 'block.yaml', { limits: { maxDepth: 20 } })).not.toThrow();
    expect(codeOf(() => loadYamlBounded(block, 'block.yaml', { limits: { maxDepth: 19 } })).code).toBe('LIMIT_EXCEEDED');
    // Depth reached through an alias counts where the alias is used.
    const viaAlias = 'deep: &d [[[[1]]]]\nuse: [[[*d]]]\n';
    expect(() => loadYamlBounded(viaAlias, 'alias.yaml', { limits: { maxDepth: 8 } })).not.toThrow();
    expect(codeOf(() => loadYamlBounded(viaAlias, 'alias.yaml', { limits: { maxDepth: 7 } })).code).toBe('LIMIT_EXCEEDED');
  });

  it('accepts flow nesting of exactly the limit and refuses one level more (boundary)', () => {
    expect(loadYamlBounded('[[[[1]]]]', 'edge.yaml', { limits: { maxDepth: 4 } })).toEqual([[[[1]]]]);
    expect(loadYamlBounded('{a: {b: {c: {d: 1}}}}', 'edge.yaml', { limits: { maxDepth: 4 } })).toEqual({ a: { b: { c: { d: 1 } } } });
    expect(codeOf(() => loadYamlBounded('[[[[[1]]]]]', 'over.yaml', { limits: { maxDepth: 4 } }))).toEqual({ code: 'LIMIT_EXCEEDED', message: 'over.yaml:1: nesting is deeper than the limit of 4' });
    expect(codeOf(() => loadYamlBounded('x:\n  - {a: {b: {c: {d: {e: 1}}}}}\n', 'over.yaml', { limits: { maxDepth: 4 } }))).toEqual({ code: 'LIMIT_EXCEEDED', message: 'over.yaml:2: nesting is deeper than the limit of 4' });
  });

  it('refuses input over the size limit before parsing, counting UTF-8 bytes', () => {
    expect(() => loadYamlBounded('k: ééé\n', 'fits.yaml', { limits: { maxBytes: 10 } })).not.toThrow();
    expect(codeOf(() => loadYamlBounded('k: éééé\n', 'over.yaml', { limits: { maxBytes: 10 } }))).toEqual({
      code: 'LIMIT_EXCEEDED',
      message: 'over.yaml: 12 bytes is more than the limit of 10 for this input',
    });
  });

  it('reports syntax errors with file:line:column', () => {
    expect(codeOf(() => loadYamlBounded('a: 1\nb: [x\n', 'bad.yaml'))).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringMatching(/^bad\.yaml:[23]:\d+: not valid YAML: /) });
    // parseYamlBounded leaves syntax errors to its caller.
    expect(parseYamlBounded('a: [\n', 'left.yaml').doc.errors.length).toBeGreaterThan(0);
  });
});

describe('parseJsonBounded', () => {
  it('parses JSON and refuses nesting past the limit, ignoring brackets inside strings', () => {
    expect(parseJsonBounded('{"a": ["[[[[", {"b": "]]]}"}]}', 'ok.json', { maxDepth: 3 })).toEqual({ a: ['[[[[', { b: ']]]}' }] });
    expect(parseJsonBounded('{"q": "\\"[[[["}', 'escaped.json', { maxDepth: 1 })).toEqual({ q: '"[[[[' });
    expect(codeOf(() => parseJsonBounded('[[[[1]]]]', 'deep.json', { maxDepth: 3 }))).toEqual({ code: 'LIMIT_EXCEEDED', message: 'deep.json: JSON nesting is deeper than the limit of 3 (at offset 3)' });
    expect(() => parseJsonBounded('[[[1]]]', 'edge.json', { maxDepth: 3 })).not.toThrow();
  });

  it('names the file on a syntax error and on an oversized input', () => {
    expect(codeOf(() => parseJsonBounded('{"a":', 'cut.json'))).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringMatching(/^cut\.json: not valid JSON: /) });
    expect(codeOf(() => parseJsonBounded('[1,2,3]', 'big.json', { maxBytes: 6 })).code).toBe('LIMIT_EXCEEDED');
  });
});
