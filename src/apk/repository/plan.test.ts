import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { RepositoryIndex } from './client.ts';
import { readIndex } from '../package-api.ts';
import { cachedResolver, Resolver } from '../resolve-api.ts';
import { planInstall } from './plan.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk', 'apko-cli-packages');

async function records(arch: string) {
  const bytes = await readFile(join(fixtures, arch, 'APKINDEX.tar.gz'));
  return (await readIndex((async function* () {
    yield bytes;
  })(), { name: arch, allowUntrusted: true })).records;
}

function index(url: string, arch: string, list: RepositoryIndex['records'], tag?: string): RepositoryIndex {
  return { repository: tag ? { url, tag } : { url }, arch, url: `${url}/${arch}/APKINDEX.tar.gz`, records: list, fromCache: false };
}

describe('planInstall', () => {
  it('orders dependencies first and downloads each package from the first repository listing it', async () => {
    const all = await records('x86_64');
    const base = all.filter((record) => record.name === 'pretend-baselayout');
    const plan = planInstall([index('https://a.example/os', 'x86_64', base), index('https://b.example/os', 'x86_64', all)], ['replayout'], 'x86_64');
    expect(plan.install.map((source) => [source.record.name, source.repository.url])).toEqual([
      ['pretend-baselayout', 'https://a.example/os'],
      ['replayout', 'https://b.example/os'],
    ]);
    expect(plan.text).toContain('Installing replayout (1.0.0-r0)');
  });

  it('takes packages pinned to a tag from the tagged repository', async () => {
    const plan = planInstall([index('https://main.example', 'aarch64', []), index('https://extra.example', 'aarch64', await records('aarch64'), 'extra')], ['replayout@extra'], 'aarch64');
    expect(plan.install.map((source) => [source.record.name, source.repository.tag])).toEqual([
      ['pretend-baselayout', 'extra'],
      ['replayout', 'extra'],
    ]);
  });

  it('throws the resolver explanation for an unsatisfiable world', async () => {
    const indexes = [index('https://main.example', 'x86_64', await records('x86_64'))];
    expect(() => planInstall(indexes, ['custom-ca-certificates'], 'x86_64')).toThrow(
      expect.objectContaining({ code: 'APK_RESOLVE_UNSATISFIABLE', message: expect.stringContaining('custom-ca-certificates (virtual)') }),
    );
  });

  it('plans over the same loaded indexes share one resolver universe', async () => {
    const all = await records('x86_64');
    const indexes = [index('https://a.example/os', 'x86_64', all)];
    const universe = cachedResolver({ repositories: [{ records: all, name: 'https://a.example/os' }], arch: 'x86_64' });
    const solve = vi.spyOn(Resolver.prototype, 'resolve');
    try {
      const first = planInstall(indexes, ['replayout'], 'x86_64');
      // A new index list around the same records array: still the same universe.
      const second = planInstall([index('https://a.example/os', 'x86_64', all)], ['replayout'], 'x86_64');
      expect(second.install.map((source) => source.record)).toEqual(first.install.map((source) => source.record));
      expect(solve.mock.contexts).toEqual([universe, universe]);
      // Another records array with the same content is another universe.
      planInstall([index('https://a.example/os', 'x86_64', [...all])], ['replayout'], 'x86_64');
      expect(solve.mock.contexts[2]).toBeInstanceOf(Resolver);
      expect(solve.mock.contexts[2]).not.toBe(universe);
    } finally {
      solve.mockRestore();
    }
  });
});
