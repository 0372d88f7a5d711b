// Upload sessions and committed content survive a restart of the registry on the same data dir.
import { describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import { silentLogger } from '../lib/index.ts';
import { makeImage, randomBytes, sha256, tempDir, TestClient } from './test-support.ts';

describe('restart', () => {
  it('resumes an upload session after a restart and keeps committed images', async () => {
    await using dir = await tempDir('kiln-registry-restart-');
    const config = await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    let running = await startRegistry(config, silentLogger);
    let client = new TestClient(running.url);
    const image = makeImage();
    expect((await client.pushImage('restart/app', image, 'v1')).status).toBe(201);
    const data = randomBytes(10_000);
    const start = await client.request('POST', '/v2/restart/app/blobs/uploads/');
    const patch = await client.request('PATCH', start.headers.get('location')!, { body: data.subarray(0, 6000), headers: { 'content-range': '0-5999' } });
    const location = patch.headers.get('location')!;
    await running.close();

    running = await startRegistry({ ...config, addr: '127.0.0.1:0' }, silentLogger);
    client = new TestClient(running.url);
    try {
      const status = await client.request('GET', location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-5999');
      const close = await client.request('PUT', `${location}?digest=${sha256(data)}`, { body: data.subarray(6000), headers: { 'content-range': '6000-9999' } });
      expect(close.status).toBe(201);
      expect(Buffer.from(await (await client.request('GET', `/v2/restart/app/blobs/${sha256(data)}`)).arrayBuffer()).equals(data)).toBe(true);
      expect(Buffer.from(await (await client.request('GET', '/v2/restart/app/manifests/v1')).arrayBuffer()).equals(image.manifest)).toBe(true);
    } finally {
      await running.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a running upload before stopping, and refuses new connections', async () => {
    await using dir = await tempDir('kiln-registry-shutdown-');
    const config = await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    const running = await startRegistry(config, silentLogger);
    const client = new TestClient(running.url);
    const start = await client.request('POST', '/v2/shutdown/app/blobs/uploads/');
    const location = start.headers.get('location')!;
    const data = randomBytes(200_000);
    const { request } = await import('node:http');
    const response = new Promise<number>((resolve, reject) => {
      const req = request(`${running.url}${location}`, { method: 'PATCH', headers: { 'content-length': String(data.length), 'content-range': `0-${data.length - 1}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(data.subarray(0, 100_000));
      // The rest arrives only after shutdown has begun.
      setTimeout(() => req.end(data.subarray(100_000)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = running.close();
    expect(await response).toBe(202);
    await closed;
    await expect(fetch(`${running.url}/v2/`)).rejects.toThrow();
  });
});
