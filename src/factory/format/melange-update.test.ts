import { describe, expect, it } from 'vitest';
import { chooseUpdate, fetchUris, parseUpdateBlock, rewriteMelangeRecipe, tagToVersion } from './melange-update.ts';

describe('parseUpdateBlock', () => {
  it('reads a github block with its filters', () => {
    const b = parseUpdateBlock('zstd.yaml', {
      enabled: true,
      github: { identifier: 'facebook/zstd', 'strip-prefix': 'v', 'tag-filter': 'v1.', 'use-tag': true },
    });
    expect(b?.source).toEqual({ kind: 'github', identifier: 'facebook/zstd', useTag: true });
    expect(b?.stripPrefix).toBe('v');
    expect(b?.tagFilterPrefix).toBe('v1.');
  });

  it('reads release-monitor and disabled blocks, and none', () => {
    expect(parseUpdateBlock('a.yaml', { 'release-monitor': { identifier: 5303 } })?.source).toEqual({ kind: 'release-monitor', identifier: 5303 });
    expect(parseUpdateBlock('a.yaml', { enabled: false, git: {} })?.enabled).toBe(false);
    expect(parseUpdateBlock('a.yaml', undefined)).toBeUndefined();
  });

  it('takes each monitor\'s own filter names: version-filter-* for release-monitor, tag-filter-* for git', () => {
    const rm = parseUpdateBlock('a.yaml', { 'release-monitor': { identifier: 1, 'version-filter-prefix': '3.', 'version-filter-contains': '.1', 'tag-filter-prefix': 'ignored' } })!;
    expect([rm.tagFilterPrefix, rm.tagFilterContains]).toEqual(['3.', '.1']);
    expect(chooseUpdate(rm, '3.0', ['4.1', '3.1', '3.2'])?.version).toBe('3.1');
    const git = parseUpdateBlock('a.yaml', { git: { 'tag-filter-prefix': 'v', 'tag-filter-contains': '.', 'tag-filter': 'ignored' } })!;
    expect([git.tagFilterPrefix, git.tagFilterContains, git.enablePreReleaseTags]).toEqual(['v', '.', false]);
  });

  it('names the recipe and field at fault', () => {
    expect(() => parseUpdateBlock('x.yaml', { github: { identifier: 'not a repo' } })).toThrow(/x\.yaml: update\.github\.identifier/);
    expect(() => parseUpdateBlock('x.yaml', { 'release-monitor': { identifier: 'abc' } })).toThrow(expect.objectContaining({ code: 'FACTORY_UPDATE_FAILED' }));
    expect(() => parseUpdateBlock('x.yaml', { git: {}, 'ignore-regex-patterns': ['('] })).toThrow(/ignore-regex-patterns\[0\]/);
  });
});

describe('chooseUpdate', () => {
  const block = parseUpdateBlock('curl.yaml', {
    git: { 'strip-prefix': 'curl-', 'tag-filter-prefix': 'curl-' },
    'ignore-regex-patterns': ['rc', '^curl-8_10_1$'],
    'version-transform': [{ match: '_', replace: '.' }],
  })!;

  it('picks the newest by apk version rules, not by string order, skipping ignored tags', () => {
    const tags = ['curl-8_9_1', 'curl-8_10_0', 'curl-8_10_1', 'curl-8_11_0rc1', 'other-9_0_0', 'curl-8_2_0'];
    expect(chooseUpdate(block, '8.9.1', tags)).toEqual({ version: '8.10.0', tag: 'curl-8_10_0' });
  });

  it('returns nothing when no tag is newer', () => {
    expect(chooseUpdate(block, '8.10.0', ['curl-8_10_0', 'curl-8_9_1'])).toBeUndefined();
  });

  it('rejects tags that do not become apk versions', () => {
    expect(tagToVersion(block, 'curl-latest')).toBeUndefined();
    expect(tagToVersion(block, 'curl-8_10_0')).toBe('8.10.0');
  });
});

describe('rewriteMelangeRecipe', () => {
  const recipe = [
    'package:',
    '  name: zstd',
    '  version: 1.5.6',
    '  epoch: 3 # bumped for a rebuild',
    'pipeline:',
    '  - uses: fetch',
    '    with:',
    '      uri: https://example.org/zstd-${{package.version}}.tar.gz',
    '      expected-sha256: ' + 'a'.repeat(64),
    '  - runs: make',
    '',
  ].join('\n');

  it('sets version, resets epoch, replaces the checksum and keeps comments', () => {
    expect(fetchUris(recipe, 'zstd.yaml', '1.5.7')).toEqual(['https://example.org/zstd-1.5.7.tar.gz']);
    const out = rewriteMelangeRecipe(recipe, 'zstd.yaml', '1.5.7', ['b'.repeat(64)]);
    expect(out).toContain('version: 1.5.7');
    expect(out).toContain('epoch: 0 # bumped for a rebuild');
    expect(out).toContain(`expected-sha256: ${'b'.repeat(64)}`);
    expect(out).not.toContain('a'.repeat(64));
    expect(out).toContain('- runs: make');
  });

  it('refuses when the checksums do not match the fetch steps', () => {
    expect(() => rewriteMelangeRecipe(recipe, 'zstd.yaml', '1.5.7', [])).toThrow(/zstd\.yaml: 1 fetch steps but 0 checksums/);
  });
});
