import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { runMetadataConformance } from '../metadata-conformance.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';

runMetadataConformance('sqlite', {
  create: async () => new SqliteMetadataStore(join(await mkdtemp(join(tmpdir(), 'kiln-sqlite-')), 'meta.db')),
  reopen: async (store) => {
    await store.close();
    return new SqliteMetadataStore((store as SqliteMetadataStore).path);
  },
  cleanup: async (store) => {
    await store.close();
    await rm(dirname((store as SqliteMetadataStore).path), { recursive: true, force: true });
  },
});

it('names the database file when it cannot be opened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-sqlite-bad-'));
  try {
    // A directory where the database file should be: opening must fail and name the path.
    const path = join(dir, 'meta.db');
    await mkdir(path);
    expect(() => new SqliteMetadataStore(path)).toThrow(/meta\.db: cannot open metadata database/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
