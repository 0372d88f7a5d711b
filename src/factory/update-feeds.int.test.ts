import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseUpdate, parseUpdateBlock } from './format/melange-update.ts';
import { readUpdateFeed, tagCommit } from './update-feeds.ts';

const server = createServer((req, res) => {
  const routes: Record<string, unknown> = {
    '/api/v2/versions/?project_id=5303': { latest_version: '1.3.1', stable_versions: ['1.3.1', '1.3', '1.2.13'], versions: ['1.3.1', '1.3.2-rc1'] },
    '/repos/facebook/zstd/tags?per_page=100': [{ name: 'v1.5.6' }, { name: 'v1.5.10' }, { name: 'zstd-0.1' }],
    '/repos/facebook/zstd/releases?per_page=100': [{ tag_name: 'v1.5.6' }, { tag_name: 'v1.6.0', prerelease: true }, { tag_name: 'v1.5.7', draft: true }],
  };
  const body = routes[req.url ?? ''];
  res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body ?? { message: 'Not Found' }));
});
let base = '';
let dir = '';
let head = '';

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'kiln-feeds-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args]);
  git('init', '-q');
  git('commit', '-q', '--allow-empty', '-m', 'x');
  for (const t of ['v2.9.0', 'v2.10.0', 'v2.11.0-rc1']) git('tag', t);
  git('commit', '-q', '--allow-empty', '-m', 'y');
  git('tag', '-a', 'v3.0.0', '-m', 'annotated');
  head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('readUpdateFeed', () => {
  it('reads release-monitor stable versions', async () => {
    const block = parseUpdateBlock('zlib.yaml', { 'release-monitor': { identifier: 5303 } })!;
    const tags = await readUpdateFeed('zlib.yaml', { source: block.source! }, { releaseMonitorUrl: base });
    expect(tags).toEqual(['1.3.1', '1.3', '1.2.13']);
    expect(chooseUpdate(block, '1.3', tags)?.version).toBe('1.3.1');
  });

  it('reads GitHub tags with use-tag and only final releases otherwise', async () => {
    const tagBlock = parseUpdateBlock('zstd.yaml', { github: { identifier: 'facebook/zstd', 'use-tag': true, 'strip-prefix': 'v', 'tag-filter-prefix': 'v' } })!;
    const tags = await readUpdateFeed('zstd.yaml', { source: tagBlock.source! }, { githubApiUrl: base });
    expect(chooseUpdate(tagBlock, '1.5.6', tags)).toEqual({ version: '1.5.10', tag: 'v1.5.10' });
    const relBlock = parseUpdateBlock('zstd.yaml', { github: { identifier: 'facebook/zstd', 'strip-prefix': 'v' } })!;
    expect(await readUpdateFeed('zstd.yaml', { source: relBlock.source! }, { githubApiUrl: base })).toEqual(['v1.5.6']);
  });

  it('reads tags of a real git repository', async () => {
    const block = parseUpdateBlock('x.yaml', { git: { 'strip-prefix': 'v' }, 'ignore-regex-patterns': ['-rc'] })!;
    const tags = await readUpdateFeed('x.yaml', { source: block.source! }, {}, `file://${dir}`);
    expect(tags.sort()).toEqual(['v2.10.0', 'v2.11.0-rc1', 'v2.9.0', 'v3.0.0']);
    expect(chooseUpdate(block, '2.9.0', tags)?.version).toBe('3.0.0');
  });

  it('gives the commit a tag points at, an annotated one peeled, and names a missing tag', async () => {
    const first = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD~1'], { encoding: 'utf8' }).trim();
    expect(await tagCommit('x.yaml', `file://${dir}`, 'v2.10.0')).toBe(first);
    expect(await tagCommit('x.yaml', `file://${dir}`, 'v3.0.0')).toBe(head);
    await expect(tagCommit('x.yaml', `file://${dir}`, 'v9')).rejects.toMatchObject({ code: 'FACTORY_UPDATE_FAILED', message: expect.stringContaining('has no tag v9') });
  });

  it('reads pre-releases only when the recipe enables them, as melange does', async () => {
    const rm = parseUpdateBlock('zlib.yaml', { 'release-monitor': { identifier: 5303 }, 'enable-prerelease-tags': true })!;
    expect(rm.enablePreReleaseTags).toBe(true);
    expect(await readUpdateFeed('zlib.yaml', { source: rm.source!, enablePreReleaseTags: true }, { releaseMonitorUrl: base })).toEqual(['1.3.1', '1.3.2-rc1']);
    const gh = parseUpdateBlock('zstd.yaml', { github: { identifier: 'facebook/zstd' }, 'enable-prerelease-tags': true })!;
    expect(await readUpdateFeed('zstd.yaml', { source: gh.source!, enablePreReleaseTags: gh.enablePreReleaseTags }, { githubApiUrl: base })).toEqual(['v1.5.6', 'v1.6.0']);
  });

  it('reports an unknown project with the recipe and URL', async () => {
    await expect(readUpdateFeed('y.yaml', { source: { kind: 'release-monitor', identifier: 1 } }, { releaseMonitorUrl: base })).rejects.toMatchObject({
      code: 'FACTORY_UPDATE_FAILED',
      message: expect.stringMatching(/^y\.yaml: .*project_id=1: HTTP 404$/),
    });
  });
});
