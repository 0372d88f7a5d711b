// Faults inside the server must never end the process: an unexpected error in a handler, in the
// response's finish listener (the logger) or in the metrics path becomes a 500 naming the request id,
// is logged with that id and counted, and the server keeps answering.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../lib/index.ts';
import { SqliteMetadataStore } from '../metadata/index.ts';
import type { MetadataStore } from '../metadata/index.ts';
import { FsBlobStore } from '../storage/index.ts';
import { AccessController } from './access.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { RegistryServer } from './registry-server.ts';
import { tempDir } from './test-support.ts';

interface Logged {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger(logged: Logged[], throwOn?: string): Logger {
  const log = (level: string) => (fields: Record<string, unknown>, message: string) => {
    if (level === throwOn) throw new Error(`logger broke on ${level}`);
    logged.push({ level, fields, message });
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: { logger: Logger; metadata?: (real: MetadataStore) => MetadataStore }): Promise<{ url: string; metrics: MetricsRegistry }> {
  const dir = await tempDir('kiln-registry-faults-');
  const real = new SqliteMetadataStore(`${dir.path}/metadata.db`);
  const metrics = new MetricsRegistry();
  const registry = new RegistryServer({
    blobs: new FsBlobStore(`${dir.path}/storage`),
    metadata: options.metadata ? options.metadata(real) : real,
    access: new AccessController({ open: true, users: new Map(), rules: [] }),
    logger: options.logger,
    metrics,
    digestLocks: new KeyedMutex(),
    settings: { deleteEnabled: false, maxManifestBytes: 1024, maxNameLength: 255, maxPageSize: 10, rateLimit: { requestsPerSecond: 0, burst: 1 }, trustProxy: false },
  });
  const server: Server = createServer(registry.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await real.close();
    await dir[Symbol.asyncDispose]();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, metrics };
}

async function counted(metrics: MetricsRegistry, where: string): Promise<number> {
  const metric = (await metrics.getMetricsAsJSON()).find((item) => item.name === 'kiln_registry_internal_errors_total');
  return (metric?.values.find((value) => value.labels.where === where)?.value as number | undefined) ?? 0;
}

describe('registry faults', () => {
  it('turns an unexpected handler error into a 500 with the request id, logs it with that id and counts it', async () => {
    const logged: Logged[] = [];
    const { url, metrics } = await serve({
      logger: recordingLogger(logged),
      metadata: (real) => Object.assign(Object.create(real) as MetadataStore, { listTags: () => Promise.reject(new Error('disk on fire')) }),
    });
    const response = await fetch(`${url}/v2/some/repo/tags/list`, { headers: { 'x-request-id': 'req-42' } });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-request-id')).toBe('req-42');
    const body = (await response.json()) as { errors: { code: string; message: string; detail: { requestId: string } }[] };
    expect(body.errors[0]).toEqual({ code: 'UNKNOWN', message: 'internal error; see the registry log (request req-42)', detail: { requestId: 'req-42' } });
    const entry = logged.find((item) => item.level === 'error');
    expect(entry?.message).toBe('internal error');
    expect(entry?.fields).toMatchObject({ requestId: 'req-42', where: 'handler' });
    expect((entry?.fields.err as Error).message).toBe('disk on fire');
    expect(await counted(metrics, 'handler')).toBe(1);
    expect((await fetch(`${url}/v2/`)).status).toBe(200);
  });

  it('survives a listener that throws after the response (a broken logger) and keeps serving', async () => {
    const logged: Logged[] = [];
    const { url, metrics } = await serve({ logger: recordingLogger(logged, 'debug') });
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/v2/`)).status).toBe(200);
    // Each finished request's log call threw inside the finish listener: counted, reported, survived.
    // The listener runs once the response is on the wire, possibly after the client has read it.
    for (let waited = 0; waited < 200 && (await counted(metrics, 'finish-listener')) < 3; waited++) await new Promise((resolve) => setImmediate(resolve));
    expect(await counted(metrics, 'finish-listener')).toBe(3);
    expect(logged.filter((item) => item.level === 'error' && item.fields.where === 'finish-listener')).toHaveLength(3);
  });

  it('gives each request an id: a well-formed X-Request-Id is kept, anything else replaced', async () => {
    const { url } = await serve({ logger: recordingLogger([]) });
    expect((await fetch(`${url}/v2/`, { headers: { 'x-request-id': 'abc.DEF-123' } })).headers.get('x-request-id')).toBe('abc.DEF-123');
    const replaced = (await fetch(`${url}/v2/`, { headers: { 'x-request-id': 'bad id\twith spaces' } })).headers.get('x-request-id');
    expect(replaced).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
