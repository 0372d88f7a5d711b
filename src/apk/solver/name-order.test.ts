import { describe, expect, it } from 'vitest';
import { murmur3, nameBucket, sortInTableOrder } from './name-order.ts';

describe('apk name table order', () => {
  it('computes MurmurHash3 x86-32 (published vectors)', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello', 0)).toBe(0x248bfa47);
    expect(murmur3('Hello, world!', 1234)).toBe(0xfaf6cdb3);
  });
  it('hashes non-ASCII names over their UTF-8 bytes (two bytes for é)', () => {
    expect(murmur3('é', 0)).not.toBe(murmur3('\u00e9'.normalize('NFD'), 0));
    expect(murmur3('é', 0)).toBe(murmur3('é', 0));
    expect(murmur3('é', 0)).not.toBe(murmur3('e', 0));
  });
  it('walks buckets in order and the newest name first within a bucket', () => {
    const names = ['musl', 'busybox', 'apk-tools', 'zlib'].map((name, serial) => ({ name, serial }));
    const sorted = sortInTableOrder(names);
    for (let i = 1; i < sorted.length; i++) expect(nameBucket(sorted[i - 1]!.name)).toBeLessThanOrEqual(nameBucket(sorted[i]!.name));
    const twins = sortInTableOrder([{ name: 'x', serial: 1 }, { name: 'x', serial: 7 }]);
    expect(twins.map((t) => t.serial)).toEqual([7, 1]);
  });
});
