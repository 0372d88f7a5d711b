// Events: a running registry sends signed CloudEvents webhooks for pushes and deletes (and pulls
// when a webhook asks for them), filtered per webhook by action and repository.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import { verifyDelivery } from '../events/index.ts';
import { silentLogger } from '../lib/index.ts';
import { makeImage, tempDir, TestClient } from './test-support.ts';

let receiver: Server;
let base: string;
const deliveries: { path: string; body: string; signature: string }[] = [];
const secrets = { changes: 'changes-secret-0123456789', pulls: 'pulls-secret-0123456789' };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', body, signature: String(req.headers['kiln-signature']) });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('registry webhooks', () => {
  it('delivers pushes and deletes of matching repositories, and pulls only to the webhook that asked', async () => {
    await using dir = await tempDir('kiln-registry-events-');
    await writeFile(
      join(dir.path, 'config.yaml'),
      [
        'addr: 127.0.0.1:0',
        'storage:',
        '  delete:',
        '    enabled: true',
        'events:',
        '  webhooks:',
        '    - name: changes',
        `      url: ${base}/changes`,
        '      secretEnv: CHANGES_SECRET',
        '      repositories: ["team/**"]',
        '    - name: pulls',
        `      url: ${base}/pulls`,
        `      secret: ${secrets.pulls}`,
        '      actions: [pull]',
        '',
      ].join('\n'),
    );
    const config = await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: { CHANGES_SECRET: secrets.changes } });
    const running = await startRegistry(config, silentLogger);
    const client = new TestClient(running.url, { 'x-request-id': 'req-42' });
    const image = makeImage();
    const other = makeImage();
    try {
      expect((await client.pushImage('team/app', image, 'v1')).status).toBe(201);
      expect((await client.pushImage('elsewhere/app', other, 'v1')).status).toBe(201);
      expect((await client.request('GET', '/v2/team/app/manifests/v1')).status).toBe(200);
      expect((await client.request('HEAD', '/v2/team/app/manifests/v1')).status).toBe(200);
      expect((await client.request('DELETE', '/v2/team/app/manifests/v1')).status).toBe(202);
      expect((await client.request('DELETE', `/v2/team/app/manifests/${image.digest}`)).status).toBe(202);
    } finally {
      await running.close();
    }
    const now = Math.floor(Date.now() / 1000);
    const at = (path: string) => deliveries.filter((delivery) => delivery.path === path);
    for (const [path, secret] of [['/changes', secrets.changes], ['/pulls', secrets.pulls]] as const) {
      for (const delivery of at(path)) expect(verifyDelivery(secret, delivery.signature, delivery.body, now)).toBe(true);
    }
    const events = (path: string) => at(path).map((delivery) => JSON.parse(delivery.body) as { type: string; subject: string; source: string; data: Record<string, unknown> });
    expect(events('/changes').map((event) => [event.type, event.subject])).toEqual([
      ['dev.kiln.registry.manifest.pushed', `team/app@${image.digest}`],
      ['dev.kiln.registry.tag.deleted', 'team/app:v1'],
      ['dev.kiln.registry.manifest.deleted', `team/app@${image.digest}`],
    ]);
    expect(events('/changes')[0]!.data).toEqual({ repository: 'team/app', digest: image.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: image.manifest.length, tags: ['v1'], requestId: 'req-42' });
    expect(events('/changes')[0]!.source).toBe(running.url);
    // One GET (the HEAD is not a pull), by tag.
    expect(events('/pulls').map((event) => [event.type, event.data.tag, event.data.digest])).toEqual([['dev.kiln.registry.manifest.pulled', 'v1', image.digest]]);
  });

  it('refuses a webhook whose secretEnv is unset, naming the key', async () => {
    await using dir = await tempDir('kiln-registry-events-config-');
    await writeFile(join(dir.path, 'config.yaml'), `events:\n  webhooks:\n    - name: x\n      url: ${base}/x\n      secretEnv: NOT_SET\n`);
    const error = await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', detail: { key: 'events.webhooks.0.secretEnv' } });
    expect((error as Error).message).toContain('$NOT_SET is not set');
  });
});
