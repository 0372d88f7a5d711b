// TLS when given a certificate, per-client rate limits, health and metrics endpoints, config errors.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import { silentLogger } from '../lib/index.ts';
import { tempDir } from './test-support.ts';

const exec = promisify(execFile);

describe('TLS', () => {
  it('serves HTTPS with the configured certificate', async () => {
    await using dir = await tempDir('kiln-registry-tls-');
    await exec('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir.path, 'tls.key'), '-out', join(dir.path, 'tls.crt')]);
    await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\nhttp:\n  tls:\n    certificate: tls.crt\n    key: tls.key\n');
    const running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
    try {
      expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(join(dir.path, 'tls.crt'));
      const status = await new Promise<{ status: number; version: string | undefined }>((resolve, reject) => {
        httpsRequest(`${running.url}/v2/`, { ca }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, version: res.headers['docker-distribution-api-version'] as string | undefined }));
        })
          .on('error', reject)
          .end();
      });
      expect(status).toEqual({ status: 200, version: 'registry/2.0' });
    } finally {
      await running.close();
    }
  });
});

describe('rate limits, health and metrics', () => {
  it('answers 429 TOOMANYREQUESTS with Retry-After past the burst, and exposes /healthz and /metrics', async () => {
    await using dir = await tempDir('kiln-registry-limit-');
    await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\nhttp:\n  rateLimit:\n    requestsPerSecond: 0.5\n    burst: 3\n');
    const running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${running.url}/v2/`)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await fetch(`${running.url}/v2/`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
      expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      expect(metrics).toMatch(/kiln_registry_http_requests_total\{method="GET",route="base",status="429"\} 2/);
    } finally {
      await running.close();
    }
  });
});

describe('config', () => {
  it('names the file and key of an invalid setting', async () => {
    await using dir = await tempDir('kiln-registry-config-');
    await writeFile(join(dir.path, 'config.yaml'), 'http:\n  maxManifestBytes: lots\n');
    await expect(loadRegistryConfig({ file: join(dir.path, 'config.yaml'), cwd: dir.path, env: {} })).rejects.toThrow(`${join(dir.path, 'config.yaml')}: http.maxManifestBytes:`);
    await writeFile(join(dir.path, 'config.yaml'), 'storage:\n  s3: {}\n');
    await expect(loadRegistryConfig({ file: join(dir.path, 'config.yaml'), cwd: dir.path, env: {} })).rejects.toThrow(/storage/);
    await writeFile(join(dir.path, 'config.yaml'), 'addr: [\n');
    await expect(loadRegistryConfig({ file: join(dir.path, 'config.yaml'), cwd: dir.path, env: {} })).rejects.toThrow(/not valid YAML/);
  });
});
