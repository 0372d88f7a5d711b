import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectMelangeUpdate } from './melange-updates.ts';

const tarball = Buffer.from('zstd 1.5.7 source bytes\n');
const server = createServer((req, res) => {
  if (req.url === '/api/v2/versions/?project_id=12083') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ stable_versions: ['1.5.7', '1.5.6'] }));
  } else if (req.url === '/src/zstd-1.5.7.tar.gz') {
    res.writeHead(200);
    res.end(tarball);
  } else {
    res.writeHead(404);
    res.end();
  }
});
let base = '';
let dir = '';
const recipe = (name: string, uriPath: string, update = 'release-monitor:\n    identifier: 12083') =>
  `# kept\npackage:\n  name: ${name}\n  version: 1.5.6\n  epoch: 2\npipeline:\n  - uses: fetch\n    with:\n      uri: ${base}${uriPath}\n      expected-sha256: ${'0'.repeat(64)}\nupdate:\n  enabled: true\n  ${update}\n`;
const detect = (name: string, text: string) => detectMelangeUpdate({ name, file: join(dir, `${name}.yaml`), text }, { releaseMonitorUrl: base });

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'kiln-melange-upd-'));
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('detectMelangeUpdate', () => {
  it('finds a newer release-monitor version and gives the recipe pinned to the fetched tarball', async () => {
    const out = await detect('zstd', recipe('zstd', '/src/zstd-${{package.version}}.tar.gz'));
    const sha = createHash('sha256').update(tarball).digest('hex');
    expect(out).toMatchObject({ recipe: 'zstd', status: 'update', feed: 'release-monitor project 12083', from: '1.5.6', to: '1.5.7', tag: '1.5.7', sha256s: [sha] });
    const text = out?.status === 'update' ? out.text : '';
    expect(text).toMatch(/^# kept\n/);
    expect(text).toContain('version: 1.5.7');
    expect(text).toContain('epoch: 0');
    expect(text).toContain(`expected-sha256: ${sha}`);
    expect(await detect('zstd', text)).toEqual({ recipe: 'zstd', status: 'current', version: '1.5.7' });
  });

  it('refuses an update whose tarball cannot be fetched, naming it', async () => {
    const out = await detect('broken', recipe('broken', '/missing/broken-${{package.version}}.tar.gz'));
    expect(out).toMatchObject({ status: 'refused', version: '1.5.6', code: 'FACTORY_UPDATE_FAILED', reason: expect.stringMatching(/broken-1\.5\.7\.tar\.gz: HTTP 404$/) });
  });

  it('refuses a fetch URI with a substitution it cannot resolve', async () => {
    const out = await detect('odd', recipe('odd', '/src/${{vars.unknown}}-${{package.version}}.tar.gz'));
    expect(out).toMatchObject({ status: 'refused', reason: expect.stringContaining('${{vars.unknown}} cannot be resolved') });
  });

  it('skips a disabled block and a recipe without one', async () => {
    expect(await detect('off', recipe('off', '/x').replace('enabled: true', 'enabled: false'))).toEqual({ recipe: 'off', status: 'disabled', version: '1.5.6' });
    expect(await detect('none', 'package:\n  name: none\n  version: 1\n')).toBeUndefined();
  });

  it('moves a pinned git-checkout to the commit of the new tag', async () => {
    const repo = join(dir, 'upstream');
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { encoding: 'utf8' }).trim();
    execFileSync('git', ['init', '-q', repo]);
    git('commit', '-q', '--allow-empty', '-m', 'one');
    git('tag', 'v1.0.0');
    const old = git('rev-parse', 'HEAD');
    git('commit', '-q', '--allow-empty', '-m', 'two');
    git('tag', '-a', 'v1.1.0', '-m', 'release');
    const next = git('rev-parse', 'HEAD');
    const text = `package:\n  name: tool\n  version: 1.0.0\n  epoch: 3\nvars:\n  prefix: v\npipeline:\n  - uses: git-checkout\n    with:\n      repository: file://${repo}\n      tag: \${{vars.prefix}}\${{package.version}}\n      expected-commit: ${old}\nupdate:\n  enabled: true\n  git:\n    strip-prefix: v\n`;
    const out = await detect('tool', text);
    expect(out).toMatchObject({ status: 'update', feed: `git tags of file://${repo}`, from: '1.0.0', to: '1.1.0', commit: next, sha256s: [] });
    expect(out?.status === 'update' ? out.text : '').toContain(`expected-commit: ${next}`);
  });
});
