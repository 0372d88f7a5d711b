import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planFactoryRun } from './run-plan.ts';
import type { FactoryPlanInput, PlanRecipeInput, PlanUpdateInput } from './run-plan.ts';
import { emptyFactoryState } from './state.ts';
import type { ImageState } from './state.ts';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const recipe = (name: string, dependsOn: string[] = [], extra: Partial<PlanRecipeInput> = {}): PlanRecipeInput => ({ name, file: `/os/packages/${name}.yaml`, textSha256: `text-${name}`, fullVersion: '1.0-r0', dependsOn, rebuildWithDependencies: false, isBuilt: true, ...extra });
const image = (name: string) => ({ name, file: `/os/images/${name}.yaml`, configSha256: `config-${name}`, publish: true });
const imageState = (name: string, origins: string[]): ImageState => ({ configSha256: `config-${name}`, lock: [], origins, packages: [], digest: `sha256:${name}`, builtDigest: `sha256:${name}`, cves: [], tags: ['latest'] });
const update: PlanUpdateInput = { recipe: 'zlib', file: '/os/packages/zlib.yaml', package: 'zlib', from: '1:1.2.13.dfsg-1', to: '1:1.2.13.dfsg-1+kiln1', fromApk: '1.2.13-r0', toApk: '1.2.13', epoch: 1, source: 'debian', cves: ['CVE-2023-45853'], changes: [], text: 'new', textSha256: 'text-zlib-new', fullVersion: '1.2.13-r1' };

function settled(): FactoryPlanInput {
  const state = emptyFactoryState();
  for (const name of ['musl', 'zlib', 'curl', 'jq']) state.packages[name] = { textSha256: `text-${name}`, fullVersion: '1.0-r0' };
  state.images = { curl: imageState('curl', ['curl', 'musl', 'zlib']), jq: imageState('jq', ['jq', 'musl']) };
  state.indexSha256 = 'index';
  return { runId: 'r', date: '20261204', recipes: [recipe('musl'), recipe('zlib', ['musl']), recipe('curl', ['musl', 'zlib']), recipe('jq', ['musl'])], updates: [], images: [image('curl'), image('jq')], indexSha256: 'index', state };
}

describe('planFactoryRun', () => {
  it('plans nothing when nothing changed', () => {
    expect(planFactoryRun(settled(), hash).steps).toEqual([]);
  });

  it('records packages already in the repository on a first run, builds the missing ones, and looks at every image', () => {
    const input = { ...settled(), state: emptyFactoryState() };
    input.recipes = input.recipes.map((entry) => (entry.name === 'jq' ? { ...entry, isBuilt: false } : entry));
    const plan = planFactoryRun(input, hash);
    expect(plan.baseline.map((entry) => entry.recipe)).toEqual(['curl', 'musl', 'zlib']);
    expect(plan.steps.map((step) => step.id)).toEqual(['package:jq', 'image:curl', 'image:jq']);
    expect(plan.steps[1]).toMatchObject({ triggers: ['first-build'], dependsOn: ['package:jq'] });
  });

  it('updates and rebuilds exactly the updated recipe, then exactly the images holding its packages', () => {
    const plan = planFactoryRun({ ...settled(), updates: [update] }, hash);
    expect(plan.steps.map((step) => [step.id, step.dependsOn])).toEqual([
      ['update:zlib', []],
      ['package:zlib', ['update:zlib']],
      ['image:curl', ['package:zlib']],
    ]);
    expect(plan.steps[2]).toMatchObject({ triggers: ['packages'], updates: [{ recipe: 'zlib', fromApk: '1.2.13-r0', toApk: '1.2.13-r1', cves: ['CVE-2023-45853'] }] });
    expect(plan.steps[1]).toMatchObject({ fullVersion: '1.2.13-r1', textSha256: 'text-zlib-new', reasons: [{ kind: 'update', from: '1.2.13-r0', to: '1.2.13-r1' }] });
  });

  it('rebuilds dependents only when their recipe asks for it', () => {
    const input = { ...settled(), updates: [update] };
    input.recipes = input.recipes.map((entry) => (entry.name === 'curl' ? { ...entry, rebuildWithDependencies: true } : entry));
    const plan = planFactoryRun(input, hash);
    expect(plan.steps.map((step) => step.id)).toEqual(['update:zlib', 'package:zlib', 'package:curl', 'image:curl']);
    expect(plan.steps[2]).toMatchObject({ dependsOn: ['package:zlib'], reasons: [{ kind: 'dependency', of: ['zlib'] }] });
  });

  it('scans a published image again when the vulnerability knowledge differs from its last scan\'s, waiting for no package', () => {
    const input = { ...settled(), knowledge: 'k2' };
    input.state.images.curl = { ...input.state.images.curl!, scannedWith: 'k1' };
    input.state.images.jq = { ...input.state.images.jq!, scannedWith: 'k2' };
    const plan = planFactoryRun(input, hash);
    expect(plan.steps.map((step) => [step.id, step.dependsOn])).toEqual([['image:curl', []]]);
    expect(plan.steps[0]).toMatchObject({ triggers: ['advisories'] });
    // The knowledge is part of the step's key: other knowledge, another job.
    expect(planFactoryRun({ ...input, knowledge: 'k3' }, hash).steps[0]!.key).not.toBe(plan.steps[0]!.key);
    // Without a scanner there is no knowledge to compare, and an image never published has nothing to re-attest.
    expect(planFactoryRun({ ...input, knowledge: undefined } as FactoryPlanInput, hash).steps).toEqual([]);
    // An image that no longer publishes is not re-attested.
    expect(planFactoryRun({ ...input, images: [{ ...image('curl'), publish: false }, image('jq')] }, hash).steps).toEqual([]);
    delete (input.state.images.curl as { digest?: string }).digest;
    expect(planFactoryRun(input, hash).steps[0]).toMatchObject({ id: 'image:curl', triggers: ['retry'] });
  });

  it('looks at an image again when its configuration or the index changed, or its last publish failed', () => {
    const input = settled();
    input.images = [{ ...image('curl'), configSha256: 'edited' }, image('jq')];
    input.state.images.jq = { ...input.state.images.jq!, digest: undefined } as ImageState;
    delete (input.state.images.jq as { digest?: string }).digest;
    const plan = planFactoryRun(input, hash);
    expect(plan.steps.map((step) => [step.id, step.kind === 'image' ? step.triggers : []])).toEqual([
      ['image:curl', ['config']],
      ['image:jq', ['retry']],
    ]);
    const moved = planFactoryRun({ ...settled(), indexSha256: 'other' }, hash);
    expect(moved.steps.map((step) => step.id)).toEqual(['image:curl', 'image:jq']);
  });

  it('keys each step by its inputs: the same inputs give the same keys', () => {
    const a = planFactoryRun({ ...settled(), updates: [update] }, hash);
    const b = planFactoryRun({ ...settled(), runId: 'other', updates: [update] }, hash);
    expect(a.steps.map((step) => step.key)).toEqual(b.steps.map((step) => step.key));
    const c = planFactoryRun({ ...settled(), updates: [{ ...update, textSha256: 'text-zlib-other' }] }, hash);
    expect(c.steps.map((step) => step.key)).not.toEqual(a.steps.map((step) => step.key));
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });
});
