import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../lib/index.ts';
import { MetadataError } from '../errors.ts';
import { runMetadataConformance } from '../metadata-conformance.ts';
import type { MetadataStore } from '../port.ts';
import { PostgresKeyedLock } from './postgres-keyed-lock.ts';
import { POSTGRES_SCHEMA_VERSION, PostgresMetadataStore } from './postgres-metadata-store.ts';
import { startTestPostgres } from './testing.ts';
import type { TestPostgres } from './testing.ts';

let server: TestPostgres;
const urls = new WeakMap<MetadataStore, string>();

beforeAll(async () => {
  server = await startTestPostgres();
});

afterAll(async () => {
  await server?.stop();
});

async function fresh(): Promise<PostgresMetadataStore> {
  const url = await server.createDatabase();
  const store = await PostgresMetadataStore.open(url);
  urls.set(store, url);
  return store;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const d = (seed: string): Digest => `sha256:${createHash('sha256').update(seed).digest('hex')}`;

runMetadataConformance('postgres', {
  create: fresh,
  reopen: async (store) => {
    const url = urls.get(store)!;
    await store.close();
    const reopened = await PostgresMetadataStore.open(url);
    urls.set(reopened, url);
    return reopened;
  },
  cleanup: async (store) => {
    await store.close();
    await server.dropDatabase(urls.get(store)!);
  },
});

describe('PostgresMetadataStore', () => {
  it('migrates once when several replicas open an empty database at the same time', async () => {
    const url = await server.createDatabase();
    try {
      const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresMetadataStore.open(url)));
      await Promise.all(stores.map((store) => store.close()));
      expect(await sql<{ version: number }>(url, 'SELECT version FROM kiln_metadata_migrations ORDER BY version')).toEqual(
        Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, index) => ({ version: index + 1 })),
      );
    } finally {
      await server.dropDatabase(url);
    }
  });

  it('refuses a database migrated by a newer Kiln with METADATA_OPEN_FAILED, naming database and versions, and changes nothing', async () => {
    const url = await server.createDatabase();
    try {
      await (await PostgresMetadataStore.open(url)).close();
      await sql(url, 'INSERT INTO kiln_metadata_migrations (version) VALUES (999)');
      const error = await PostgresMetadataStore.open(url).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MetadataError);
      expect(error).toMatchObject({
        code: 'METADATA_OPEN_FAILED',
        message: `${url}: metadata schema version 999 is newer than this Kiln understands (${POSTGRES_SCHEMA_VERSION}); use a newer Kiln`,
        detail: { url, version: 999, supported: POSTGRES_SCHEMA_VERSION },
      });
      expect((await sql<{ max: number }>(url, 'SELECT max(version) AS max FROM kiln_metadata_migrations'))[0]!.max).toBe(999);
    } finally {
      await server.dropDatabase(url);
    }
  });

  it('names the database, without its password, when it cannot connect', async () => {
    const url = `postgres://kiln:s3cret@127.0.0.1:${server.port}/no_such_database`;
    const error = await PostgresMetadataStore.open(url).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).code).toBe('METADATA_OPEN_FAILED');
    expect((error as MetadataError).message).toBe(`postgres://kiln:***@127.0.0.1:${server.port}/no_such_database: cannot open metadata database: database "no_such_database" does not exist`);
    expect((error as MetadataError).message).not.toContain('s3cret');
  });

  it('keeps manifests and blob links consistent when two replicas push and collect garbage at once', async () => {
    const url = await server.createDatabase();
    const [pusher, collector] = await Promise.all([PostgresMetadataStore.open(url), PostgresMetadataStore.open(url)]);
    try {
      // Each round: a stale link that GC may remove while another replica stores a manifest needing it.
      // Whatever the interleaving, a stored manifest never needs a blob that is no longer linked.
      const rounds = 40;
      const outcomes = await Promise.all(
        Array.from({ length: rounds }, async (_, index) => {
          const layer = d(`layer-${index}`);
          await pusher.linkBlob('r', layer, 1, 1);
          const image = { repository: 'r', digest: d(`image-${index}`), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, blobs: [layer], children: [], createdAt: 5 };
          const [put, unlinked] = await Promise.all([pusher.putManifest(image, [`t${index}`], 5), collector.unlinkBlobIfUnused('r', layer, 100)]);
          return { stored: put.missingBlobs.length === 0, unlinked, linked: (await collector.blobLink('r', layer)) !== undefined, manifest: (await collector.getManifest('r', image.digest)) !== undefined };
        }),
      );
      for (const outcome of outcomes) {
        // Exactly one of the two won: either the manifest was stored (and its blob stays linked), or
        // the link was collected first (and the manifest was refused as missing that blob).
        expect(outcome.stored).toBe(!outcome.unlinked);
        expect(outcome.manifest).toBe(outcome.stored);
        expect(outcome.linked).toBe(outcome.stored);
      }
    } finally {
      await pusher.close();
      await collector.close();
      await server.dropDatabase(url);
    }
  });

  it('reports METADATA_UNAVAILABLE while the server is down, stores nothing half-way, and recovers when it is back', async () => {
    const url = await server.createDatabase();
    const store = await PostgresMetadataStore.open(url);
    try {
      await store.linkBlob('r', d('layer'), 1, 1);
      await server.stopServer();
      const image = { repository: 'r', digest: d('image'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, blobs: [d('layer')], children: [], createdAt: 5 };
      for (const attempt of [store.putManifest(image, ['v1'], 5), store.resolveTag('r', 'v1'), store.linkBlob('r', d('other'), 1, 1)]) {
        const error = await attempt.then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(MetadataError);
        expect((error as MetadataError).code).toBe('METADATA_UNAVAILABLE');
        expect((error as MetadataError).message).toMatch(new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: metadata database unavailable: `));
      }
      await server.startServer();
      // The same store (its pool) reconnects; nothing of the refused manifest was stored.
      expect(await store.getManifest('r', image.digest)).toBeUndefined();
      expect(await store.resolveTag('r', 'v1')).toBeUndefined();
      expect(await store.putManifest(image, ['v1'], 6)).toEqual({ missingBlobs: [], missingManifests: [], immutableTagsMoved: [] });
      expect(await store.resolveTag('r', 'v1')).toBe(image.digest);
    } finally {
      await store.close();
      await server.dropDatabase(url);
    }
  });
});

describe('PostgresKeyedLock', () => {
  async function waiters(url: string): Promise<number> {
    return Number((await sql<{ count: string }>(url, `SELECT count(*) AS count FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0]!.count);
  }

  it('lets one replica at a time hold a key, while other keys stay free, and releases a key whose holder failed', async () => {
    const url = await server.createDatabase();
    const first = new PostgresKeyedLock(url);
    const second = new PostgresKeyedLock(url);
    try {
      let releaseFirst!: () => void;
      const held = new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      let entered!: () => void;
      const firstEntered = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const order: string[] = [];
      const one = first.run('sha256:aa', async () => {
        order.push('first in');
        entered();
        await held;
        order.push('first out');
      });
      await firstEntered;
      const two = second.run('sha256:aa', async () => {
        order.push('second in');
      });
      // The second replica waits in the database (an ungranted advisory lock), not in this process.
      while ((await waiters(url)) !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await second.run('sha256:bb', async () => 'other key')).toBe('other key');
      expect(order).toEqual(['first in']);
      releaseFirst();
      await Promise.all([one, two]);
      expect(order).toEqual(['first in', 'first out', 'second in']);
      // A failing holder still releases the key.
      await expect(first.run('sha256:cc', async () => Promise.reject(new Error('push failed')))).rejects.toThrow('push failed');
      expect(await second.run('sha256:cc', async () => 'taken')).toBe('taken');
      expect(await waiters(url)).toBe(0);
    } finally {
      await first.close();
      await second.close();
      await server.dropDatabase(url);
    }
  });
});
