import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/index.ts';
import { catalogExtension } from './catalog-app.ts';
import { startRegistry } from './registry-app.ts';
import { loadRegistryConfig } from './registry-config.ts';

describe('catalogExtension', () => {
  it('serves loopback clients only, judged behind a trusted proxy by the forwarded address as the registry judges it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-catalog-app-'));
    try {
      await writeFile(join(dir, 'config.yaml'), 'addr: 127.0.0.1:0\nhttp:\n  trustProxy: true\n');
      const config = await loadRegistryConfig({ file: join(dir, 'config.yaml'), dataDir: dir, cwd: dir, env: {} });
      const running = await startRegistry(config, silentLogger, catalogExtension({ keys: [], comparisons: [], cwd: dir, logger: silentLogger }));
      try {
        const status = async (forwarded: string) => (await fetch(`${running.url}/api/images`, { headers: { 'x-forwarded-for': forwarded } })).status;
        expect(await status('203.0.113.9')).toBe(403);
        expect(await status('127.0.0.1, 203.0.113.9')).toBe(403);
        expect(await status('203.0.113.9, 127.0.0.1')).toBe(200);
      } finally {
        await running.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
