import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateMelangeRecipe } from './melange-updates.ts';

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
  `package:\n  name: ${name}\n  version: 1.5.6\n  epoch: 2\npipeline:\n  - uses: fetch\n    with:\n      uri: ${base}${uriPath}\n      expected-sha256: ${'0'.repeat(64)}\nupdate:\n  enabled: true\n  ${update}\n`;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'kiln-melange-upd-'));
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('updateMelangeRecipe', () => {
  it('applies a newer release-monitor version with the checksum of the fetched tarball', async () => {
    const file = join(dir, 'zstd.yaml');
    await writeFile(file, recipe('zstd', '/src/zstd-${{package.version}}.tar.gz'));
    const out = await updateMelangeRecipe(file, { apply: true, releaseMonitorUrl: base });
    const sha = createHash('sha256').update(tarball).digest('hex');
    expect(out).toEqual({ recipe: file, status: 'applied', from: '1.5.6', to: '1.5.7', tag: '1.5.7', sha256s: [sha] });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('version: 1.5.7');
    expect(text).toContain('epoch: 0');
    expect(text).toContain(`expected-sha256: ${sha}`);
    expect(await updateMelangeRecipe(file, { apply: true, releaseMonitorUrl: base })).toEqual({ recipe: file, status: 'current', version: '1.5.7' });
  });

  it('refuses an update whose tarball cannot be fetched and leaves the recipe unchanged', async () => {
    const file = join(dir, 'broken.yaml');
    const before = recipe('broken', '/missing/broken-${{package.version}}.tar.gz');
    await writeFile(file, before);
    const out = await updateMelangeRecipe(file, { apply: true, releaseMonitorUrl: base });
    expect(out).toMatchObject({ status: 'refused', code: 'FACTORY_UPDATE_FAILED', reason: expect.stringMatching(/broken-1\.5\.7\.tar\.gz: HTTP 404$/) });
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('skips a disabled block', async () => {
    const file = join(dir, 'off.yaml');
    await writeFile(file, recipe('off', '/x', 'release-monitor:\n    identifier: 12083').replace('enabled: true', 'enabled: false'));
    expect(await updateMelangeRecipe(file, { apply: true, releaseMonitorUrl: base })).toEqual({ recipe: file, status: 'disabled', version: '1.5.6' });
  });
});
