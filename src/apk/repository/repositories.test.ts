import { describe, expect, it } from 'vitest';
import { defaultCacheDir } from './cache.ts';
import { identityKey } from './identity.ts';
import { formatRepositories, indexUrl, packageUrl, parseRepositories, parseRepository } from './repositories.ts';

describe('repositories file', () => {
  it('parses tags, comments, blank lines and trailing slashes', () => {
    const text = [
      '# Wolfi',
      'https://packages.wolfi.dev/os/',
      '',
      '  @edge   https://dl-cdn.alpinelinux.org/alpine/edge/main  ',
      '@local /home/me/packages',
      'file:///srv/repo',
    ].join('\n');
    expect(parseRepositories(text, '/etc/apk/repositories')).toEqual([
      { url: 'https://packages.wolfi.dev/os' },
      { url: 'https://dl-cdn.alpinelinux.org/alpine/edge/main', tag: 'edge' },
      { url: 'file:///home/me/packages', tag: 'local' },
      { url: 'file:///srv/repo' },
    ]);
  });

  it('round-trips through formatRepositories', () => {
    const repositories = [{ url: 'https://packages.wolfi.dev/os' }, { url: 'https://example.com/r', tag: 'extra' }];
    expect(parseRepositories(formatRepositories(repositories), 'x')).toEqual(repositories);
  });

  it.each([
    ['ftp://example.com/repo', 'APK_REPO_URL_UNSUPPORTED'],
    ['relative/path', 'APK_REPO_LIST_INVALID'],
    ['@tag', 'APK_REPO_LIST_INVALID'],
    ['@ https://x', 'APK_REPO_LIST_INVALID'],
    ['@bad/tag https://x', 'APK_REPO_LIST_INVALID'],
    ['https://a https://b', 'APK_REPO_LIST_INVALID'],
    ['https://example.com/repo?x=1', 'APK_REPO_LIST_INVALID'],
  ])('rejects %s naming the line', (line, code) => {
    expect(() => parseRepositories(`# ok\n${line}\n`, 'repos')).toThrow(expect.objectContaining({ code, message: expect.stringContaining('repos:2') }));
  });
});

describe('URL layout', () => {
  it('builds Wolfi and Alpine index and package URLs as apk requests them', () => {
    const wolfi = parseRepository('https://packages.wolfi.dev/os', 'x');
    expect(indexUrl(wolfi, 'x86_64')).toBe('https://packages.wolfi.dev/os/x86_64/APKINDEX.tar.gz');
    expect(packageUrl(wolfi, 'x86_64', 'libstdc++', '13.2.0-r1')).toBe('https://packages.wolfi.dev/os/x86_64/libstdc++-13.2.0-r1.apk');
    const alpine = parseRepository('https://dl-cdn.alpinelinux.org/alpine/v3.20/main/', 'x');
    expect(packageUrl(alpine, 'aarch64', 'py3-foo', '1.0_rc1-r0')).toBe('https://dl-cdn.alpinelinux.org/alpine/v3.20/main/aarch64/py3-foo-1.0_rc1-r0.apk');
    expect(packageUrl(alpine, 'x86_64', 'odd name', '1#2')).toBe('https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/odd%20name-1%232.apk');
  });

  it('keys packages by the hex of their identity, Q1 or X1', () => {
    expect(identityKey('Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=', 'x')).toBe(Buffer.from('LLq2qDNrS/qRnhxQ3hsY/sHbQnc=', 'base64').toString('hex'));
    expect(identityKey('X1' + 'ab'.repeat(20), 'x')).toBe('ab'.repeat(20));
    expect(() => identityKey('Q1short', 'pkg-1.0')).toThrow(expect.objectContaining({ code: 'APK_REPO_PACKAGE_INVALID' }));
  });
});

describe('defaultCacheDir', () => {
  it('honours an absolute XDG_CACHE_HOME and falls back to ~/.cache', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/me')).toBe('/var/cache/me/kiln');
    expect(defaultCacheDir({}, '/home/me')).toBe('/home/me/.cache/kiln');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/me')).toBe('/home/me/.cache/kiln');
  });
});
