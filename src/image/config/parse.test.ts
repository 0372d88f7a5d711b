import { describe, expect, it } from 'vitest';
import { parseGoInteger } from './parse.ts';

describe('parseGoInteger', () => {
  it.each([
    ['0', 0],
    ['7', 7],
    ['10', 10],
    ['65532', 65532],
    ['1_000', 1000],
    ['+7', 7],
    ['-12', -12],
    ['0755', 0o755],
    ['00', 0],
    ['0o17', 15],
    ['0O17', 15],
    ['0x1F', 31],
    ['0X1f', 31],
    ['-0x10', -16],
    ['0b101', 5],
    ['0B11', 3],
  ] as const)('%s is %d', (text, value) => {
    expect(parseGoInteger(text)).toBe(value);
  });

  it('passes numbers through (YAML already decoded them)', () => {
    expect(parseGoInteger(493)).toBe(493);
    expect(parseGoInteger(0)).toBe(0);
  });

  it.each(['', 'abc', '09', '0x', '1.5', '0b2', '- 1', '1e3'])('%j is not a Go integer', (text) => {
    expect(parseGoInteger(text)).toBeNaN();
  });
});
