import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../registry/index.ts';
import { loadRegistryConfig, parseAddr } from './registry-config.ts';

describe('parseAddr', () => {
  it.each([
    ['127.0.0.1:5000', { host: '127.0.0.1', port: 5000 }],
    [':5000', { host: '0.0.0.0', port: 5000 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:443', { host: '::1', port: 443 }],
    ['[::]:65535', { host: '::', port: 65535 }],
    ['registry.example:1', { host: 'registry.example', port: 1 }],
  ] as const)('%s', (addr, expected) => {
    expect(parseAddr(addr)).toEqual(expected);
  });

  it.each(['', '5000', 'host', 'host:', ':65536', ':99999', ':123456', '::1:80', 'host:port', '[::1]', 'a:b:80'])('refuses %j with CONFIG_INVALID', (addr) => {
    let error: unknown;
    try {
      parseAddr(addr);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: `--addr ${JSON.stringify(addr)}: expected HOST:PORT`, detail: { addr } });
  });
});

describe('scale-out storage and metadata settings', () => {
  async function load(yaml: string) {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-config-'));
    try {
      await writeFile(join(dir, 'config.yaml'), yaml);
      return await loadRegistryConfig({ file: 'config.yaml', cwd: dir, env: {} });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function refusal(yaml: string): Promise<RegistryError> {
    const error = await load(yaml).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RegistryError);
    return error as RegistryError;
  }

  it('defaults to the filesystem, SQLite and proxied blob GETs', async () => {
    const config = await load('addr: 127.0.0.1:0\n');
    expect(config.storage.driver).toBe('filesystem');
    expect(config.storage.redirect).toEqual({ mode: 'proxy', expiresIn: 1200 });
    expect(config.metadata.driver).toBe('sqlite');
    expect(config.storage.s3).toBeUndefined();
    expect(config.metadata.postgres).toBeUndefined();
  });

  it('reads an S3 bucket, a PostgreSQL URL and redirects with their defaults', async () => {
    const config = await load(
      'storage:\n  driver: s3\n  s3:\n    bucket: kiln-blobs\n    endpoint: http://127.0.0.1:9000\n    prefix: registry/\n  redirect:\n    mode: redirect\n    expiresIn: 5m\nmetadata:\n  driver: postgres\n  postgres:\n    url: postgres://kiln@db.internal/kiln\n',
    );
    expect(config.storage.s3).toEqual({ bucket: 'kiln-blobs', endpoint: 'http://127.0.0.1:9000', prefix: 'registry/', region: 'us-east-1', partSize: 8 * 1024 * 1024, conditionalWrites: true });
    expect(config.storage.redirect).toEqual({ mode: 'redirect', expiresIn: 300 });
    expect(config.metadata.postgres).toEqual({ url: 'postgres://kiln@db.internal/kiln', maxConnections: 10 });
  });

  it.each([
    ['storage:\n  driver: s3\n', 'config.yaml: storage.s3: storage.driver is s3, so storage.s3 (with at least bucket) is required', 'storage.s3'],
    ['storage:\n  redirect:\n    mode: redirect\n', 'config.yaml: storage.redirect.mode: redirect needs storage.driver s3 (the filesystem driver has no URLs to redirect to)', 'storage.redirect.mode'],
    ['metadata:\n  driver: postgres\n', 'config.yaml: metadata.postgres: metadata.driver is postgres, so metadata.postgres.url is required', 'metadata.postgres'],
    ['metadata:\n  driver: postgres\n  postgres:\n    url: mysql://x/y\n', 'config.yaml: metadata.postgres.url: must be a postgres:// or postgresql:// URL', 'metadata.postgres.url'],
    ['storage:\n  driver: s3\n  s3:\n    bucket: kiln\n    partSize: 5242879\n', 'config.yaml: storage.s3.partSize: must be at least 5 MiB (5242880), the smallest multipart part S3 accepts', 'storage.s3.partSize'],
    ['storage:\n  driver: s3\n  s3:\n    bucket: Kiln_Blobs\n', 'config.yaml: storage.s3.bucket: must be a valid S3 bucket name (3-63 characters: a-z, 0-9, dots and hyphens)', 'storage.s3.bucket'],
    ['storage:\n  driver: s3\n  s3:\n    bucket: kiln\n    prefix: /registry\n', 'config.yaml: storage.s3.prefix: must be empty or path segments each ending in "/" (e.g. registry/)', 'storage.s3.prefix'],
    ['storage:\n  driver: s3\n  s3:\n    bucket: kiln\n    accessKeyId: AKIA\n', 'config.yaml: storage.s3.secretAccessKey: accessKeyId and secretAccessKey go together', 'storage.s3.secretAccessKey'],
    ['storage:\n  driver: s3\n  s3:\n    bucket: kiln\n  redirect:\n    mode: redirect\n    expiresIn: 8d\n', 'config.yaml: storage.redirect.expiresIn: must be between 1 second and 7 days', 'storage.redirect.expiresIn'],
  ])('refuses %j naming the key', async (yaml, message, key) => {
    const error = await refusal(yaml);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(message.replace('config.yaml', error.detail.file as string));
    expect(error.detail.key).toBe(key);
  });
});

describe('tag policies', () => {
  async function load(yaml: string) {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-config-'));
    try {
      await writeFile(join(dir, 'config.yaml'), yaml);
      return await loadRegistryConfig({ file: 'config.yaml', cwd: dir, env: {} });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('reads immutable-tag rules and retention policies, a single tag glob as a list, ages as durations', async () => {
    const config = await load(
      ['tags:', '  immutable:', '    - repository: "prod/**"', '      tags: "v*"', 'gc:', '  retention:', '    - repository: "ci/**"', '      keepLast: 3', '      keepTags: [main]', '      untaggedAfter: 7d', ''].join('\n'),
    );
    expect(config.tags.immutable).toEqual([{ repository: 'prod/**', tags: ['v*'] }]);
    expect(config.gc.retention).toEqual([{ repository: 'ci/**', keepLast: 3, keepTags: ['main'], untaggedAfter: 7 * 24 * 3600 }]);
    const defaults = await load('{}\n');
    expect([defaults.tags.immutable, defaults.gc.retention, defaults.http.chunkMinLength]).toEqual([[], [], undefined]);
  });

  it.each([
    ['gc:\n  retention:\n    - repository: "ci/**"\n', 'gc.retention.0', 'a retention policy needs keepLast, keepTags or untaggedAfter'],
    ['gc:\n  retention:\n    - repository: "ci/**"\n      keepLast: -1\n', 'gc.retention.0.keepLast', ''],
    ['tags:\n  immutable:\n    - repository: "prod/**"\n      tags: []\n', 'tags.immutable.0.tags', ''],
    ['tags:\n  immutable:\n    - repository: "prod/**"\n      tags: [v1]\n      ttl: 3\n', 'tags.immutable.0', ''],
    ['events:\n  webhooks:\n    - {name: ci, url: "https://ci.example/hook", secret: "0123456789abcdef"}\n    - {name: ci, url: "https://other.example/hook", secret: "0123456789abcdef"}\n', 'events.webhooks.1.name', '"ci" is already the name of events.webhooks.0'],
  ])('refuses %j naming the key', async (yaml, key, message) => {
    const error = await load(yaml).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', detail: { key } });
    expect((error as Error).message).toContain(message);
  });
});
