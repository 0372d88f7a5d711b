import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readIndex } from '../format/index-archive.ts';
import { parseRecords } from '../format/record.ts';
import type { PackageRecord } from '../format/record.ts';
import { parseDependencyList, dependencySatisfiedBy, providedNames } from '../dependency.ts';
import { ApkResolveError, cachedResolver, openResolveDatabase, resolve, Resolver } from './resolve.ts';
import { solve } from './solve.ts';

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

  it('resolve() builds a universe once per records array and reuses it', () => {
    const records = solverRepo('complicated1.repo');
    const first = cachedResolver({ repositories: [{ records }], arch: 'x86_64' });
    // New wrapper objects around the same records array: the same universe.
    expect(cachedResolver({ repositories: [{ records }], arch: ['x86_64'] })).toBe(first);
    expect(resolve({ repositories: [{ records }], world: 'a', arch: 'x86_64' }).install.map((r) => r.name)).toEqual(['d', 'c', 'b', 'a']);
    expect(cachedResolver({ repositories: [{ records }], arch: 'x86_64' })).toBe(first);
    // Anything that changes the universe gets its own.
    expect(cachedResolver({ repositories: [{ records: [...records] }], arch: 'x86_64' })).not.toBe(first);
    expect(cachedResolver({ repositories: [{ records, tag: 'edge' }], arch: 'x86_64' })).not.toBe(first);
    expect(cachedResolver({ repositories: [{ records, available: false }], arch: 'x86_64' })).not.toBe(first);
    expect(cachedResolver({ repositories: [{ records }], arch: 'aarch64' })).not.toBe(first);
    expect(cachedResolver({ repositories: [{ records }], installed: [], arch: 'x86_64' })).not.toBe(first);
  });

  it('rebuilds a cached universe that has collected too many names unknown to its indexes', () => {
    const records = solverRepo('basic.repo');
    const first = cachedResolver({ repositories: [{ records }], arch: 'x86_64' });
    const unknown = Array.from({ length: 5000 }, (_, i) => `no-such-package-${i}`);
    expect(() => first.resolve(unknown)).toThrow(ApkResolveError);
    expect(first.addedNames).toBeGreaterThan(4096);
    const second = cachedResolver({ repositories: [{ records }], arch: 'x86_64' });
    expect(second).not.toBe(first);
    expect(second.addedNames).toBe(0);
    expect(second.resolve('a').install.map((r) => `${r.name}-${r.version}`)).toEqual(['b-2', 'a-2']);
    expect(cachedResolver({ repositories: [{ records }], arch: 'x86_64' })).toBe(second);
  });

  it('different records never share a universe, even when resolved alternately', () => {
    const full = solverRepo('basic.repo');
    const withoutB = full.filter((r) => r.name !== 'b');
    const names = (records: PackageRecord[]): string[] => resolve({ repositories: [{ records }], world: 'a', arch: 'x86_64' }).install.map((r) => `${r.name}-${r.version}`);
    expect(names(full)).toEqual(['b-2', 'a-2']);
    expect(() => names(withoutB)).toThrow(ApkResolveError);
    expect(names(full)).toEqual(['b-2', 'a-2']);
    expect(() => names(withoutB)).toThrow(ApkResolveError);
    // An array that grew after its first use is a new universe too.
    const growing = [...withoutB];
    expect(() => names(growing)).toThrow(ApkResolveError);
    growing.push(...full.filter((r) => r.name === 'b'));
    expect(names(growing)).toEqual(['b-2', 'a-2']);
  });

  it('a reused universe forgets tags that only a world entry named', () => {
    const repositories = [{ records: solverRepo('basic.repo') }];
    const attempt = (world: string): string => {
      try {
        resolve({ repositories, world, arch: 'x86_64' });
      } catch (error) {
        return (error as Error).message;
      }
      return 'resolved';
    };
    // apk keeps at most 16 tags; a universe that kept every unknown tag would run out.
    for (let i = 0; i < 20; i++) expect(attempt(`a@t${i}`)).toBe(`The repository tag for world dependency 'a@t${i}' does not exist`);
    expect(attempt('a')).toBe('resolved');
  });

  it('solves alike across the restart of the per-solve epoch counter', () => {
    const repositories = [{ records: solverRepo('complicated1.repo') }];
    const installs = (db: ReturnType<typeof openResolveDatabase>, world: string): string[] =>
      solve(db, 0, world.split(' ').map((word) => db.pullDep(word, true)!)).changeset.changes.map((c) => `${c.newPkg!.name.name}-${c.newPkg!.version}`);
    const fresh = openResolveDatabase({ repositories, arch: 'x86_64' });
    const expected = ['a', 'c', 'a', 'b'].map((world) => installs(fresh, world));
    const db = openResolveDatabase({ repositories, arch: 'x86_64' });
    db.scope.epoch = 0x7fff0000 - 2;
    expect(['a', 'c', 'a', 'b'].map((world) => installs(db, world))).toEqual(expected);
    expect(db.scope.epoch).toBeLessThan(10);
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

  // Install lists recorded from the reference port before the solver's per-solve state moved to typed
  // arrays and the universe became cached: unchanged from the reference port (apk's own choices).
  const PINNED: Array<[string, string[]]> = [
    [
      'alpine-base',
      [
        'alpine-baselayout-data-3.4.0-r0', 'musl-1.2.3-r5', 'busybox-1.35.0-r29', 'busybox-binsh-1.35.0-r29',
        'alpine-baselayout-3.4.0-r0', 'ifupdown-ng-0.12.1-r1', 'libcap2-2.66-r1', 'openrc-0.45.2-r7', 'mdev-conf-4.3-r0',
        'busybox-mdev-openrc-1.35.0-r29', 'alpine-conf-3.15.1-r1', 'alpine-keys-2.4-r1', 'alpine-release-3.17.3-r0',
        'ca-certificates-bundle-20230506-r0', 'libcrypto3-3.0.8-r4', 'libssl3-3.0.8-r4', 'ssl_client-1.35.0-r29',
        'zlib-1.2.13-r0', 'apk-tools-2.12.10-r1', 'busybox-openrc-1.35.0-r29', 'busybox-suid-1.35.0-r29', 'scanelf-1.3.5-r1',
        'musl-utils-1.2.3-r5', 'libc-utils-0.7.2-r3', 'alpine-base-3.17.3-r0',
      ],
    ],
    [
      'busybox musl apk-tools alpine-baselayout',
      [
        'alpine-baselayout-data-3.4.0-r0', 'musl-1.2.3-r5', 'busybox-1.35.0-r29', 'busybox-binsh-1.35.0-r29',
        'alpine-baselayout-3.4.0-r0', 'ca-certificates-bundle-20230506-r0', 'libcrypto3-3.0.8-r4', 'libssl3-3.0.8-r4',
        'ssl_client-1.35.0-r29', 'zlib-1.2.13-r0', 'apk-tools-2.12.10-r1',
      ],
    ],
    [
      'build-base python3 py3-setuptools git curl openssl-dev perl cmake',
      [
        'musl-1.2.3-r5', 'libgcc-12.2.1_git20220924-r4', 'libstdc++-12.2.1_git20220924-r4', 'zlib-1.2.13-r0',
        'binutils-2.39-r2', 'libmagic-5.43-r0', 'file-5.43-r0', 'libgomp-12.2.1_git20220924-r4',
        'libatomic-12.2.1_git20220924-r4', 'gmp-6.2.1-r2', 'isl25-0.25-r1', 'mpfr4-4.1.0-r0', 'mpc1-1.2.1-r1',
        'gcc-12.2.1_git20220924-r4', 'libstdc++-dev-12.2.1_git20220924-r4', 'musl-dev-1.2.3-r5', 'libc-dev-0.7.2-r3',
        'g++-12.2.1_git20220924-r4', 'make-4.3-r1', 'fortify-headers-1.1-r1', 'patch-2.7.6-r9', 'build-base-0.5-r3',
        'libacl-2.3.1-r1', 'libbz2-1.0.8-r4', 'libcrypto3-3.0.8-r4', 'libexpat-2.5.0-r0', 'lz4-libs-1.9.4-r1',
        'xz-libs-5.2.9-r0', 'zstd-libs-1.5.5-r0', 'libarchive-3.6.1-r2', 'busybox-1.35.0-r29', 'busybox-binsh-1.35.0-r29',
        'ca-certificates-20230506-r0', 'brotli-libs-1.0.9-r9', 'nghttp2-libs-1.51.0-r0', 'libssl3-3.0.8-r4',
        'ssl_client-1.35.0-r29', 'libcurl-8.1.1-r1', 'ncurses-terminfo-base-6.3_p20221119-r1',
        'ncurses-libs-6.3_p20221119-r1', 'rhash-libs-1.4.3-r1', 'libuv-1.44.2-r0', 'cmake-3.24.4-r0', 'curl-8.1.1-r1',
        'pcre2-10.42-r0', 'git-2.38.5-r0', 'pkgconf-1.9.4-r0', 'openssl-dev-3.0.8-r4', 'perl-5.36.0-r2',
        'perl-error-0.17029-r1', 'perl-git-2.38.5-r0', 'git-perl-2.38.5-r0', 'libffi-3.4.4-r0', 'gdbm-1.23-r0',
        'mpdecimal-2.5.1-r1', 'readline-8.2.0-r0', 'sqlite-libs-3.40.1-r0', 'python3-3.10.11-r0', 'py3-parsing-3.0.9-r0',
        'py3-packaging-21.3-r2', 'py3-setuptools-65.6.0-r0',
      ],
    ],
    [
      'nginx',
      [
        'musl-1.2.3-r5', 'busybox-1.35.0-r29', 'busybox-binsh-1.35.0-r29', 'libcrypto3-3.0.8-r4', 'pcre-8.45-r2',
        'libssl3-3.0.8-r4', 'ssl_client-1.35.0-r29', 'zlib-1.2.13-r0', 'nginx-1.22.1-r0',
      ],
    ],
  ];

  it.each(PINNED)('%s: the install list is unchanged from the reference port', (world, expected) => {
    const result = resolve({ repositories: [{ records }], world, arch: 'aarch64' });
    expect(result.install.map((r) => `${r.name}-${r.version}`)).toEqual(expected);
    expect(result.text.split('\n').at(-2)).toMatch(new RegExp(`^OK: .* in ${expected.length} packages$`));
  });

  it('one Resolver answers several worlds in a row exactly as fresh resolves do', () => {
    const resolver = new Resolver({ repositories: [{ records }], arch: 'aarch64' });
    for (const [world, expected] of [...PINNED, ...PINNED.slice().reverse()]) {
      expect(resolver.resolve(world).install.map((r) => `${r.name}-${r.version}`)).toEqual(expected);
    }
    expect(() => resolver.resolve('alpine-base !busybox-openrc')).toThrow(ApkResolveError);
    expect(resolver.resolve(PINNED[0]![0]).install.map((r) => `${r.name}-${r.version}`)).toEqual(PINNED[0]![1]);
  });
});

describe('adding a record after a solve', () => {
  it('answers as a database that had no solve before the record was added', () => {
    const records = solverRepo('complicated1.repo');
    const outcome = (db: ReturnType<typeof openResolveDatabase>, world: string[]): string => {
      try {
        return new Resolver(db).resolve(world).text;
      } catch (error) {
        return (error as Error).message;
      }
    };
    for (const [at, added] of records.entries()) {
      const input = { repositories: [{ records: records.filter((_, i) => i !== at), name: 'r' }], arch: 'x86_64' };
      // A solve first builds the reverse links the added record must extend.
      const solved = openResolveDatabase(input);
      outcome(solved, ['a']);
      solved.addRecord(added, { kind: 'repository', index: 0 });
      const fresh = openResolveDatabase(input);
      fresh.addRecord(added, { kind: 'repository', index: 0 });
      for (const world of [['a'], ['b'], ['c'], ['d']]) expect(outcome(solved, world), `${added.name}-${added.version} then ${world}`).toBe(outcome(fresh, world));
    }
  });
});
