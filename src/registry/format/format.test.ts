import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidName, isValidTag } from './grammar.ts';
import { parseByteRange, parseChunkRange } from './ranges.ts';

describe('grammar', () => {
  it('accepts spec repository names and refuses the rest', () => {
    for (const name of ['a', 'library/ubuntu', 'a.b_c__d---e/f', 'team/blobs', '0/1/2']) expect(isValidName(name, 255)).toBe(true);
    for (const name of ['', 'A', '../x', 'a//b', '/a', 'a/', '-a', 'a-', 'a___b', '_x', 'a..b', 'a/./b']) expect(isValidName(name, 255)).toBe(false);
    expect(isValidName('a'.repeat(256), 255)).toBe(false);
  });

  it('accepts a name of exactly the maximum length and refuses one character more', () => {
    for (const max of [1, 2, 64, 255]) {
      expect(isValidName('a'.repeat(max), max), `${max} of ${max}`).toBe(true);
      expect(isValidName('a'.repeat(max + 1), max), `${max + 1} of ${max}`).toBe(false);
    }
    // The limit counts the whole name, slashes included.
    const nested = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    expect(nested).toHaveLength(255);
    expect(isValidName(nested, 255)).toBe(true);
    expect(isValidName(`${nested}c`, 255)).toBe(false);
  });

  it('accepts tags of 1..128 characters not starting with . or -', () => {
    expect(isValidTag('v1.0-rc_1')).toBe(true);
    expect(isValidTag('a'.repeat(128))).toBe(true);
    for (const tag of ['', '.x', '-x', 'a'.repeat(129), 'a/b', 'a:b']) expect(isValidTag(tag)).toBe(false);
  });
});

describe('ranges', () => {
  it('parses chunk ranges and refuses reversed or malformed ones', () => {
    expect(parseChunkRange('0-999')).toEqual({ start: 0, end: 999 });
    expect(parseChunkRange('bytes 10-19/100')).toEqual({ start: 10, end: 19 });
    // A one-byte chunk starts and ends on the same byte.
    expect(parseChunkRange('5-5')).toEqual({ start: 5, end: 5 });
    expect(parseChunkRange('0-0')).toEqual({ start: 0, end: 0 });
    for (const value of ['5-2', '0-', '-1-5', 'abc', '1-2-3']) expect(parseChunkRange(value)).toBeUndefined();
  });

  it('resolves every satisfiable byte range inside the blob (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.nat(), fc.nat(), (size, a, b) => {
        const start = a % (size + 5);
        const end = start + (b % 50);
        const range = parseByteRange(`bytes=${start}-${end}`, size);
        if (start >= size) expect(range.kind).toBe('unsatisfiable');
        else expect(range).toEqual({ kind: 'range', start, end: Math.min(end, size - 1) });
      }),
    );
    expect(parseByteRange('bytes=-10', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseByteRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'none' });
    // A reversed range is unsatisfiable (the OCI conformance suite's bytes=500-0 case), not ignored.
    expect(parseByteRange('bytes=500-0', 2048)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=11-10', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange(undefined, 100)).toEqual({ kind: 'none' });
  });

  it('serves the last byte and refuses a range starting exactly at the size (boundaries)', () => {
    expect(parseByteRange('bytes=99-', 100)).toEqual({ kind: 'range', start: 99, end: 99 });
    expect(parseByteRange('bytes=99-99', 100)).toEqual({ kind: 'range', start: 99, end: 99 });
    expect(parseByteRange('bytes=99-500', 100)).toEqual({ kind: 'range', start: 99, end: 99 });
    expect(parseByteRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=100-100', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=0-0', 1)).toEqual({ kind: 'range', start: 0, end: 0 });
    expect(parseByteRange('bytes=1-', 1)).toEqual({ kind: 'unsatisfiable' });
    // Suffix ranges: longer than the blob means the whole blob; any suffix of an empty blob is unsatisfiable.
    expect(parseByteRange('bytes=-100', 100)).toEqual({ kind: 'range', start: 0, end: 99 });
    expect(parseByteRange('bytes=-101', 100)).toEqual({ kind: 'range', start: 0, end: 99 });
    expect(parseByteRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});
