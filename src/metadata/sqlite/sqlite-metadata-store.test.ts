import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { runMetadataConformance } from '../metadata-conformance.ts';
import Database from 'better-sqlite3';
import { MetadataError } from '../errors.ts';
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

it('refuses a database written by a newer schema with METADATA_OPEN_FAILED, naming file and versions', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-sqlite-newer-'));
  try {
    const path = join(dir, 'meta.db');
    const future = new Database(path);
    future.pragma('user_version = 999');
    future.close();
    const error = (() => {
      try {
        new SqliteMetadataStore(path);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MetadataError);
    expect(error).toMatchObject({ code: 'METADATA_OPEN_FAILED', message: `${path}: metadata schema version 999 is newer than this Kiln understands (1); use a newer Kiln`, detail: { path, version: 999, supported: 1 } });
    // Nothing was changed: the file still carries the newer version.
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(999);
    check.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
