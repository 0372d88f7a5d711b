import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.ts';

describe('BoundedMap', () => {
  it('keeps the newest entries up to its size, a key set again counting as new', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    map.set('a', 3);
    map.set('c', 4);
    expect([...map]).toEqual([['a', 3], ['c', 4]]);
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });
});
