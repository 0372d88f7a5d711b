import { describe, expect, it } from 'vitest';
import { plural } from './plural.ts';

describe('plural', () => {
  it('puts the noun in the number of the count', () => {
    expect([0, 1, 2].map((count) => plural(count, 'package'))).toEqual(['0 packages', '1 package', '2 packages']);
    expect(plural(1, 'index', 'indexes')).toBe('1 index');
    expect(plural(3, 'index', 'indexes')).toBe('3 indexes');
  });
});
