import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreConformance } from '../blob-store-conformance.ts';
import { FsBlobStore } from './fs-blob-store.ts';

runBlobStoreConformance('filesystem', {
  create: async () => new FsBlobStore(await mkdtemp(join(tmpdir(), 'kiln-fsblob-'))),
  cleanup: async (store) => rm((store as FsBlobStore).root, { recursive: true, force: true }),
  strayFiles: async (store) => readdir(join((store as FsBlobStore).root, 'tmp')),
});
