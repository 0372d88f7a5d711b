import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBlobStoreConformance } from '../blob-store-conformance.ts';
import { FsBlobStore } from './fs-blob-store.ts';

runBlobStoreConformance('filesystem', {
  create: async () => new FsBlobStore(await mkdtemp(join(tmpdir(), 'kiln-fsblob-'))),
  cleanup: async (store) => rm((store as FsBlobStore).root, { recursive: true, force: true }),
  strayFiles: async (store) => readdir(join((store as FsBlobStore).root, 'tmp')),
});

describe('FsBlobStore start-up clean-up', () => {
  it('removes what an interrupted put left in tmp/ when init runs, before any other call', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kiln-fsblob-'));
    try {
      const first = new FsBlobStore(root);
      await first.init();
      // What a crash mid-put leaves: a partly written temporary file, never visible as a blob.
      await writeFile(join(root, 'tmp', 'a1b2c3d4e5f6a1b2c3d4e5f6'), Buffer.alloc(1024 * 1024, 7));
      await writeFile(join(root, 'tmp', 'another-leftover'), 'partial');
      const restarted = new FsBlobStore(root);
      expect(await readdir(join(root, 'tmp'))).toHaveLength(2);
      await restarted.init();
      expect(await readdir(join(root, 'tmp'))).toEqual([]);
      const listed: string[] = [];
      for await (const info of restarted.list()) listed.push(info.digest);
      expect(listed).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
