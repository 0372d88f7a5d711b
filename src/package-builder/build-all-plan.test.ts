import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBuildAll } from './build-all-plan.ts';
import type { PlanRecipe } from './build-all-plan.ts';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const recipe = (name: string, needs: string[] = [], provides: string[] = [name]): PlanRecipe => ({ file: `${name}.yaml`, name, fullVersion: '1-r0', provides, needs, ownHash: `own-${name}` });

describe('planBuildAll', () => {
  it('orders dependencies first, matching package names, subpackages and provides', () => {
    const plan = planBuildAll(
      [
        recipe('app', ['libfoo-dev', 'so:libbar.so.1', 'busybox']),
        recipe('foo', ['make'], ['foo', 'libfoo-dev']),
        recipe('bar', [], ['bar', 'so:libbar.so.1=1']),
        recipe('make'),
      ],
      hash,
    );
    expect(plan.dependsOn).toEqual({ app: ['bar', 'foo'], foo: ['make'], bar: [], make: [] });
    const position = (name: string) => plan.order.indexOf(name);
    expect(position('make')).toBeLessThan(position('foo'));
    expect(position('foo')).toBeLessThan(position('app'));
    expect(position('bar')).toBeLessThan(position('app'));
  });

  it('propagates input changes to dependents only', () => {
    const base = [recipe('a', ['b']), recipe('b'), recipe('c')];
    const before = planBuildAll(base, hash).inputHash;
    const after = planBuildAll([recipe('a', ['b']), { ...recipe('b'), ownHash: 'changed' }, recipe('c')], hash).inputHash;
    expect(after.b).not.toBe(before.b);
    expect(after.a).not.toBe(before.a);
    expect(after.c).toBe(before.c);
  });

  it('reports a cycle with the dependency behind each edge', () => {
    const run = () => planBuildAll([recipe('a', ['b>=1']), recipe('b', ['cmd:c']), recipe('c', ['a'], ['c', 'cmd:c=1'])], hash);
    expect(run).toThrow(/dependency cycle: a -> b -> c -> a/);
    expect(run).toThrow(/b \(b\.yaml\) needs cmd:c, built by c/);
  });

  it('always yields an order where every dependency comes first (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(9), { maxLength: 4 }), { minLength: 1, maxLength: 10 }), (deps) => {
        // edges only to lower indexes: acyclic by construction
        const recipes = deps.map((targets, index) => recipe(`p${index}`, targets.filter((target) => target < index).map((target) => `p${target}`)));
        const plan = planBuildAll(recipes, hash);
        return plan.order.every((name, position) => plan.dependsOn[name]!.every((dep) => plan.order.indexOf(dep) < position));
      }),
    );
  });
});
