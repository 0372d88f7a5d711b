import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readIndex } from '../format/index-archive.ts';
import { parseRecords } from '../format/record.ts';
import type { PackageRecord } from '../format/record.ts';
import { parseDependencyList, dependencySatisfiedBy, providedNames } from '../dependency.ts';
import { ApkResolveError, resolve, Resolver } from './resolve.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const solverRepo = (name: string): PackageRecord[] => parseRecords(readFileSync(join(fixtures, 'solver', name), 'utf8'));

describe('resolve', () => {
  it('returns packages in install order, dependencies first', () => {
    const result = resolve({ repositories: [{ records: solverRepo('basic.repo') }], world: ['a'], arch: 'x86_64' });
    expect(result.install.map((r) => `${r.name}-${r.version}`)).toEqual(['b-2', 'a-2']);
    expect(result.changes.map((c) => c.action)).toEqual(['install', 'install']);
    expect(result.text).toBe('(1/2) Installing b (2)\n(2/2) Installing a (2)\nOK: 2 B in 2 packages\n');
  });

  it('upgrades and removes against an installed database', () => {
    const result = resolve({
      repositories: [{ records: solverRepo('upgrade.repo') }],
      installed: solverRepo('upgrade.installed'),
      world: 'app',
      arch: 'x86_64',
      flags: { upgrade: true },
    });
    expect(result.changes.map((c) => `${c.action}:${(c.new ?? c.old)!.name}`)).toEqual(['remove:libold', 'install:libnew', 'upgrade:app']);
    expect(result.remove.map((r) => r.name)).toEqual(['libold']);
  });

  it('fails with apk-tools\' report when the world cannot be satisfied', () => {
    const attempt = (): unknown => resolve({ repositories: [{ records: solverRepo('complicated1.repo') }], world: ['a', 'd>1.5'], arch: 'x86_64' });
    expect(attempt).toThrow(ApkResolveError);
    try {
      attempt();
    } catch (error) {
      const e = error as ApkResolveError;
      expect(e.code).toBe('APK_RESOLVE_UNSATISFIABLE');
      expect(e.report).toBe(
        'ERROR: unable to select packages:\n  d-2.0:\n    breaks: b-1[d<2.0]\n    satisfies: world[d>1.5] a-3[d>1.5] c-1[d>1.0]\n',
      );
      expect(e.message).toContain('d-2.0');
    }
  });

  it('honours repository tags', () => {
    const repositories = [{ records: solverRepo('pinning-basic.repo') }, { records: solverRepo('pinning-overlay1.repo'), tag: 'testing' }];
    expect(resolve({ repositories, world: 'a', arch: 'x86_64' }).install.map((r) => r.version)).toEqual(['2', '2']);
    // The pinned package comes from @testing; its dependency still prefers the untagged repository.
    const pinned = resolve({ repositories, world: 'a@testing', arch: 'x86_64' });
    expect(pinned.install.map((r) => `${r.name}-${r.version}`)).toEqual(['b-2', 'a-3']);
    expect(pinned.changes.map((c) => c.tag)).toEqual([undefined, 'testing']);
    expect(pinned.text).toContain('Installing a@testing (3)');
  });

  it('filters by architecture', () => {
    const record = (arch: string, identity: string): PackageRecord =>
      parseRecords(`C:${identity}\nP:tool\nV:1\nA:${arch}\nI:1\n`)[0]!;
    const repositories = [{ records: [record('aarch64', 'Q1AAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), record('x86_64', 'Q1BBBBBBBBBBBBBBBBBBBBBBBBBBBBA=')] }];
    expect(resolve({ repositories, world: 'tool', arch: 'x86_64' }).install[0]!.arch).toBe('x86_64');
    expect(resolve({ repositories, world: 'tool', arch: 'aarch64' }).install[0]!.arch).toBe('aarch64');
    expect(() => resolve({ repositories, world: 'tool', arch: 'riscv64' })).toThrow(/arch: aarch64/);
  });

  it('a Resolver gives the same answers as fresh resolves, also after a failure', () => {
    const repositories = [{ records: solverRepo('complicated1.repo') }];
    const resolver = new Resolver({ repositories, arch: 'x86_64' });
    const names = (world: string): string[] => resolver.resolve(world).install.map((r) => `${r.name}-${r.version}`);
    const fresh = (world: string): string[] => resolve({ repositories, world, arch: 'x86_64' }).install.map((r) => `${r.name}-${r.version}`);
    expect(names('a')).toEqual(fresh('a'));
    expect(() => resolver.resolve('a d>1.5')).toThrow(ApkResolveError);
    expect(names('c')).toEqual(fresh('c'));
    expect(names('a')).toEqual(['d-1.5', 'c-1', 'b-1', 'a-2']);
  });

  it('rejects malformed world entries and unknown tags', () => {
    const repositories = [{ records: solverRepo('basic.repo') }];
    expect(() => resolve({ repositories, world: 'foo=', arch: 'x86_64' })).toThrow(expect.objectContaining({ code: 'APK_DEPENDENCY_INVALID' }));
    expect(() => resolve({ repositories, world: 'a@nowhere', arch: 'x86_64' })).toThrow(expect.objectContaining({ code: 'APK_REPOSITORY_TAG_UNKNOWN' }));
  });
});

describe('resolve on the real Alpine 3.17 aarch64 index', () => {
  let records: PackageRecord[];
  beforeAll(async () => {
    const index = await readIndex(createReadStream(join(fixtures, 'apko', 'alpine-317', 'APKINDEX.tar.gz')), { allowUntrusted: true });
    records = index.records;
  });

  it.each([['alpine-base'], ['build-base python3 py3-setuptools git curl']])('%s: every dependency is satisfied and comes first', (world) => {
    const result = resolve({ repositories: [{ records }], world, arch: 'aarch64' });
    const names = result.install.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of world.split(' ')) expect(names).toContain(name);
    const provided = result.install.flatMap((r, position) => providedNames(r).map((p) => ({ p, position })));
    result.install.forEach((record) => {
      for (const dep of parseDependencyList(record.depends.join(' ')).deps) {
        const providers = provided.filter(({ p }) => p.name === dep.name);
        if (dep.op & 16) {
          expect(providers.every(({ p }) => dependencySatisfiedBy(dep, p, record.identity))).toBe(true);
          continue;
        }
        expect(providers.some(({ p }) => dependencySatisfiedBy(dep, p)), `${record.name} needs ${dep.name}`).toBe(true);
      }
    });
    if (world === 'alpine-base') {
      for (const name of ['busybox', 'musl', 'apk-tools', 'alpine-baselayout', 'alpine-base']) expect(names).toContain(name);
      expect(names.at(-1)).toBe('alpine-base');
      expect(names.indexOf('musl')).toBeLessThan(names.indexOf('busybox'));
    }
  });
});
