import { createHash } from 'node:crypto';
import { link, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../lib/index.ts';
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

describe('FsBlobStore crash between commit and clean-up', () => {
  it('never writes into a committed blob through an upload name a crash left behind: the session is lost instead', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kiln-fsblob-'));
    try {
      const store = new FsBlobStore(root);
      const id = 'a1b2c3d4-0000-4000-8000-000000000001';
      const content = Buffer.from('verified blob content');
      const digest = `sha256:${createHash('sha256').update(content).digest('hex')}` as Digest;
      await store.createUpload(id);
      await store.appendUpload(id, 0, (async function* () { yield content; })());
      await store.commitUpload(id, digest, content.length);
      // What a crash after link(2) and before unlink(2) leaves: the blob has a second name.
      await link(join(root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)), join(root, 'uploads', id));
      expect(await store.uploadSize(id)).toBeUndefined();
      await link(join(root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)), join(root, 'uploads', id));
      await expect(store.appendUpload(id, 0, (async function* () { yield Buffer.from("overwrite"); })())).rejects.toMatchObject({ code: 'STORAGE_UPLOAD_NOT_FOUND' });
      await link(join(root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)), join(root, 'uploads', id));
      await expect(store.commitUpload(id, digest, 3)).rejects.toMatchObject({ code: 'STORAGE_UPLOAD_NOT_FOUND' });
      expect(await store.read(digest)).toEqual(content);
      expect(await readdir(join(root, 'uploads'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
