import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planLayerGroups } from './layers-plan.ts';

describe('planLayerGroups', () => {
  it('groups by origin, sorts by size, overflows past the budget', () => {
    const groups = planLayerGroups(
      [
        { name: 'libc', origin: 'glibc', installedSize: 500, replaces: [] },
        { name: 'glibc-locale', origin: 'glibc', installedSize: 100, replaces: [] },
        { name: 'busybox', installedSize: 300, replaces: [] },
        { name: 'tiny', installedSize: 1, replaces: [] },
        { name: 'tiny2', installedSize: 1, replaces: [] },
      ],
      3,
    );
    expect(groups).toEqual([['glibc-locale', 'libc'], ['busybox'], ['tiny', 'tiny2']]);
  });

  it('never exceeds max(budget, 1) groups and keeps every package exactly once (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,6}$/), origin: fc.constantFrom('a', 'b', 'c', undefined), installedSize: fc.nat(10_000) }), { selector: (p) => p.name, maxLength: 25 }),
        fc.nat(12),
        (packages, budget) => {
          const groups = planLayerGroups(packages.map((pkg) => ({ ...pkg, replaces: [], ...(pkg.origin ? { origin: pkg.origin } : {}) })), budget);
          expect(groups.length).toBeLessThanOrEqual(Math.max(budget, 1));
          expect(groups.flat().sort()).toEqual(packages.map((pkg) => pkg.name).sort());
        },
      ),
    );
  });
});
