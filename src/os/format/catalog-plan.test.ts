import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { catalogImageName, planCatalog } from './catalog-plan.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const shared = { indexSha256: 'a'.repeat(64), keySha256: 'b'.repeat(64), arch: 'x86_64' };

describe('planCatalog', () => {
  it('orders images by name and marks one up to date only when its recorded hash matches', () => {
    const first = planCatalog([{ name: 'static', configTexts: ['s'] }, { name: 'curl', configTexts: ['c'] }], shared, sha256);
    expect(first.map((entry) => [entry.name, entry.upToDate])).toEqual([['curl', false], ['static', false]]);
    const second = planCatalog([{ name: 'static', configTexts: ['s'], previousHash: first[1]!.inputHash }, { name: 'curl', configTexts: ['c'], previousHash: first[0]!.inputHash }], shared, sha256);
    expect(second.every((entry) => entry.upToDate)).toBe(true);
  });

  it('rebuilds every image when the repository index, the key or the arch changes, and one image when its config changes', () => {
    const base = planCatalog([{ name: 'static', configTexts: ['s'] }], shared, sha256)[0]!;
    const previous = [{ name: 'static', configTexts: ['s'], previousHash: base.inputHash }];
    expect(planCatalog(previous, { ...shared, indexSha256: 'c'.repeat(64) }, sha256)[0]!.upToDate).toBe(false);
    expect(planCatalog(previous, { ...shared, keySha256: 'c'.repeat(64) }, sha256)[0]!.upToDate).toBe(false);
    expect(planCatalog(previous, { ...shared, arch: 'aarch64' }, sha256)[0]!.upToDate).toBe(false);
    expect(planCatalog([{ ...previous[0]!, configTexts: ['s2'] }], shared, sha256)[0]!.upToDate).toBe(false);
  });

  it('takes image names from configuration file names', () => {
    expect(['nginx-dev.yaml', 'static.yml', 'Bad.yaml', 'notes.txt'].map(catalogImageName)).toEqual(['nginx-dev', 'static', undefined, undefined]);
  });
});
