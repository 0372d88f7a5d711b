import { describe, expect, it } from 'vitest';
import {
  dependencySatisfiedBy,
  formatDependency,
  formatWorldDependency,
  isConflict,
  parseDependency,
  parseDependencyList,
  providedNames,
} from './dependency.ts';
import { DEPMASK_ANY, DEPMASK_CHECKSUM, VERSION_CONFLICT, VERSION_EQUAL, VERSION_FUZZY, VERSION_GREATER, VERSION_LESS } from './version.ts';

describe('parseDependency', () => {
  it.each([
    ['busybox', { name: 'busybox', op: DEPMASK_ANY, version: '', broken: false }],
    ['so:libc.musl-x86_64.so.1', { name: 'so:libc.musl-x86_64.so.1', op: DEPMASK_ANY, version: '', broken: false }],
    ['cmd:sh', { name: 'cmd:sh', op: DEPMASK_ANY, version: '', broken: false }],
    ['pc:zlib>=1.2', { name: 'pc:zlib', op: VERSION_GREATER | VERSION_EQUAL, version: '1.2', broken: false }],
    ['/bin/sh', { name: '/bin/sh', op: DEPMASK_ANY, version: '', broken: false }],
    ['a<2', { name: 'a', op: VERSION_LESS, version: '2', broken: false }],
    ['a<=2', { name: 'a', op: VERSION_LESS | VERSION_EQUAL, version: '2', broken: false }],
    ['a=2-r1', { name: 'a', op: VERSION_EQUAL, version: '2-r1', broken: false }],
    ['a>2', { name: 'a', op: VERSION_GREATER, version: '2', broken: false }],
    ['a~2.2', { name: 'a', op: VERSION_FUZZY | VERSION_EQUAL, version: '2.2', broken: false }],
    ['a=~2.2', { name: 'a', op: VERSION_FUZZY | VERSION_EQUAL, version: '2.2', broken: false }],
    ['a>~2.5', { name: 'a', op: VERSION_GREATER | VERSION_FUZZY | VERSION_EQUAL, version: '2.5', broken: false }],
    ['a<~2.5', { name: 'a', op: VERSION_LESS | VERSION_FUZZY | VERSION_EQUAL, version: '2.5', broken: false }],
    ['a><Q1abc=', { name: 'a', op: DEPMASK_CHECKSUM, version: 'Q1abc=', broken: false }],
    ['!b', { name: 'b', op: DEPMASK_ANY | VERSION_CONFLICT, version: '', broken: false }],
    ['!b<2', { name: 'b', op: VERSION_LESS | VERSION_CONFLICT, version: '2', broken: false }],
    ['a=bad.version!', { name: 'a', op: VERSION_EQUAL, version: 'bad.version!', broken: true }],
  ])('%s', (text, expected) => {
    expect(parseDependency(text)).toEqual(expected);
  });

  it('accepts @tag only where allowed (world, command line)', () => {
    expect(parseDependency('a@testing>1', { allowTag: true })).toEqual({ name: 'a', op: VERSION_GREATER, version: '1', tag: 'testing', broken: false });
    expect(parseDependency('invalid-dependency@tag')).toBeUndefined();
  });

  it('rejects dangling operators and empty names', () => {
    expect(parseDependency('foo=')).toBeUndefined();
    expect(parseDependency('foo>')).toBeUndefined();
    expect(parseDependency('>1')).toBeUndefined();
  });

  it('round-trips through formatDependency', () => {
    for (const text of ['a', '!a', 'a<2', 'a<=2', 'a>=2', 'a~2', 'a<~2', 'a>~2', 'a=1-r0', 'a><Q1x=']) {
      expect(formatDependency(parseDependency(text)!)).toBe(text);
    }
    expect(formatWorldDependency(parseDependency('a@edge<2', { allowTag: true })!)).toBe('a@edge<2');
  });
});

describe('parseDependencyList', () => {
  it('splits on whitespace and keeps broken versions', () => {
    const list = parseDependencyList('b  c d>1.5 e=x!y');
    expect(list.deps.map((d) => d.name)).toEqual(['b', 'c', 'd', 'e']);
    expect(list.error).toBe('version');
  });
  it('stops at a malformed entry like apk', () => {
    const list = parseDependencyList('a b@tag c');
    expect(list.deps.map((d) => d.name)).toEqual(['a']);
    expect(list.error).toBe('format');
    expect(list.badEntry).toBe('b@tag');
  });
});

describe('matching', () => {
  const pkg = { identity: 'Q1id=', name: 'libfoo', version: '2.0-r1', provides: ['so:foo.so.1=1.0', 'foo-virtual'] };
  const names = providedNames(pkg);
  const byName = (name: string) => names.find((p) => p.name === name);

  it('lists the package itself and its provides', () => {
    expect(names.map((p) => `${p.name}=${p.version}`)).toEqual(['libfoo=2.0-r1', 'so:foo.so.1=1.0', 'foo-virtual=']);
  });
  it('matches versioned constraints against the provided version', () => {
    expect(dependencySatisfiedBy(parseDependency('libfoo>=2')!, byName('libfoo'))).toBe(true);
    expect(dependencySatisfiedBy(parseDependency('so:foo.so.1>1.0')!, byName('so:foo.so.1'))).toBe(false);
  });
  it('an unversioned provide satisfies only "less" constraints', () => {
    expect(dependencySatisfiedBy(parseDependency('foo-virtual')!, byName('foo-virtual'))).toBe(true);
    expect(dependencySatisfiedBy(parseDependency('foo-virtual<1')!, byName('foo-virtual'))).toBe(true);
    expect(dependencySatisfiedBy(parseDependency('foo-virtual>=1')!, byName('foo-virtual'))).toBe(false);
  });
  it('identity constraints match the identity', () => {
    expect(dependencySatisfiedBy(parseDependency('libfoo><Q1id=')!, byName('libfoo'))).toBe(true);
    expect(dependencySatisfiedBy(parseDependency('libfoo><Q1other=')!, byName('libfoo'))).toBe(false);
  });
  it('conflicts are satisfied by absence and ignore the declaring package itself', () => {
    const conflict = parseDependency('!foo-virtual')!;
    expect(isConflict(conflict)).toBe(true);
    expect(dependencySatisfiedBy(conflict, undefined)).toBe(true);
    expect(dependencySatisfiedBy(conflict, byName('foo-virtual'))).toBe(false);
    expect(dependencySatisfiedBy(conflict, byName('foo-virtual'), 'Q1id=')).toBe(true);
  });
});
