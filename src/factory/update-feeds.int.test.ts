import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseUpdate, parseUpdateBlock } from './format/melange-update.ts';
import { readUpdateFeed } from './update-feeds.ts';

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

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'kiln-feeds-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args]);
  git('init', '-q');
  git('commit', '-q', '--allow-empty', '-m', 'x');
  for (const t of ['v2.9.0', 'v2.10.0', 'v2.11.0-rc1']) git('tag', t);
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('readUpdateFeed', () => {
  it('reads release-monitor stable versions', async () => {
    const block = parseUpdateBlock('zlib.yaml', { 'release-monitor': { identifier: 5303 } })!;
    const tags = await readUpdateFeed('zlib.yaml', block.source!, { releaseMonitorUrl: base });
    expect(tags).toEqual(['1.3.1', '1.3', '1.2.13']);
    expect(chooseUpdate(block, '1.3', tags)?.version).toBe('1.3.1');
  });

  it('reads GitHub tags with use-tag and only final releases otherwise', async () => {
    const tagBlock = parseUpdateBlock('zstd.yaml', { github: { identifier: 'facebook/zstd', 'use-tag': true, 'strip-prefix': 'v', 'tag-filter-prefix': 'v' } })!;
    const tags = await readUpdateFeed('zstd.yaml', tagBlock.source!, { githubApiUrl: base });
    expect(chooseUpdate(tagBlock, '1.5.6', tags)).toEqual({ version: '1.5.10', tag: 'v1.5.10' });
    const relBlock = parseUpdateBlock('zstd.yaml', { github: { identifier: 'facebook/zstd', 'strip-prefix': 'v' } })!;
    expect(await readUpdateFeed('zstd.yaml', relBlock.source!, { githubApiUrl: base })).toEqual(['v1.5.6']);
  });

  it('reads tags of a real git repository', async () => {
    const block = parseUpdateBlock('x.yaml', { git: { 'strip-prefix': 'v' }, 'ignore-regex-patterns': ['-rc'] })!;
    const tags = await readUpdateFeed('x.yaml', block.source!, {}, `file://${dir}`);
    expect(tags.sort()).toEqual(['v2.10.0', 'v2.11.0-rc1', 'v2.9.0']);
    expect(chooseUpdate(block, '2.9.0', tags)?.version).toBe('2.10.0');
  });

  it('reports an unknown project with the recipe and URL', async () => {
    await expect(readUpdateFeed('y.yaml', { kind: 'release-monitor', identifier: 1 }, { releaseMonitorUrl: base })).rejects.toMatchObject({
      code: 'FACTORY_UPDATE_FAILED',
      message: expect.stringMatching(/^y\.yaml: .*project_id=1: HTTP 404$/),
    });
  });
});
