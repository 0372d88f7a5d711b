// The shared test suite every BlobStore driver must pass unchanged (filesystem and S3).
// Imported only from driver tests: it uses vitest.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../lib/index.ts';
import { StorageError } from './errors.ts';
import type { BlobStore } from './port.ts';

/** How the suite makes and disposes of a fresh, empty store for each case. */
interface BlobStoreHarness {
  create(): Promise<BlobStore>;
  cleanup(store: BlobStore): Promise<void>;
  /** Lists leftovers that are neither committed blobs nor staged uploads (temp files); must be empty. */
  strayFiles?(store: BlobStore): Promise<string[]>;
}

export function digestOf(data: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

async function* chunks(data: Uint8Array, size = 1000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function drain(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe(code);
}

/** Registers the blob-store conformance cases under `describe(name)`. */
export function runBlobStoreConformance(name: string, harness: BlobStoreHarness): void {
  const withStore = (body: (store: BlobStore) => Promise<void>) => async () => {
    const store = await harness.create();
    try {
      await body(store);
      if (harness.strayFiles) expect(await harness.strayFiles(store)).toEqual([]);
    } finally {
      await harness.cleanup(store);
    }
  };

  describe(`BlobStore conformance: ${name}`, () => {
    it('puts, stats, reads, lists and deletes a blob', withStore(async (store) => {
      const data = randomBytes(5000);
      const digest = digestOf(data);
      expect(await store.stat(digest)).toBeUndefined();
      expect(await store.put(digest, chunks(data), data.length)).toEqual({ size: 5000, created: true });
      expect((await store.stat(digest))?.size).toBe(5000);
      expect((await store.read(digest)).equals(data)).toBe(true);
      expect((await drain(await store.get(digest))).equals(data)).toBe(true);
      expect((await collect(store.list())).map((info) => info.digest)).toEqual([digest]);
      expect(await store.delete(digest)).toBe(true);
      expect(await store.delete(digest)).toBe(false);
      expect(await store.stat(digest)).toBeUndefined();
      await expectCode(store.get(digest), 'STORAGE_BLOB_NOT_FOUND');
    }));

    it('stores the empty blob and sha512 blobs', withStore(async (store) => {
      const empty = new Uint8Array(0);
      expect(await store.put(digestOf(empty), chunks(empty), 0)).toEqual({ size: 0, created: true });
      expect((await store.stat(digestOf(empty)))?.size).toBe(0);
      expect((await store.read(digestOf(empty))).length).toBe(0);
      const data = randomBytes(300);
      const d512 = digestOf(data, 'sha512');
      expect(await store.put(d512, chunks(data))).toEqual({ size: 300, created: true });
      expect((await store.read(d512)).equals(data)).toBe(true);
      expect((await collect(store.list())).map((info) => info.digest).sort()).toEqual([digestOf(empty), d512].sort());
    }));

    it('serves inclusive byte ranges and rejects ranges outside the blob', withStore(async (store) => {
      const data = randomBytes(1000);
      const digest = digestOf(data);
      await store.put(digest, chunks(data));
      expect((await drain(await store.get(digest, { start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true);
      expect((await drain(await store.get(digest, { start: 999, end: 999 }))).equals(data.subarray(999))).toBe(true);
      expect((await drain(await store.get(digest, { start: 0, end: 999 }))).equals(data)).toBe(true);
      await expectCode(store.get(digest, { start: 500, end: 1000 }), 'STORAGE_RANGE_INVALID');
      await expectCode(store.get(digest, { start: 1000, end: 1000 }), 'STORAGE_RANGE_INVALID');
      await expectCode(store.get(digest, { start: 20, end: 10 }), 'STORAGE_RANGE_INVALID');
    }));

    it('refuses content that does not match its digest or size and leaves nothing behind', withStore(async (store) => {
      const data = randomBytes(2000);
      const wrong = digestOf(randomBytes(10));
      await expectCode(store.put(wrong, chunks(data)), 'STORAGE_DIGEST_MISMATCH');
      await expectCode(store.put(digestOf(data), chunks(data), 1999), 'STORAGE_SIZE_MISMATCH');
      await expectCode(store.put(digestOf(data), chunks(data), 2001), 'STORAGE_SIZE_MISMATCH');
      expect(await collect(store.list())).toEqual([]);
      expect(await collect(store.listUploads())).toEqual([]);
      expect(await store.stat(digestOf(data))).toBeUndefined();
    }));

    it('deduplicates concurrent writers of one blob', withStore(async (store) => {
      const data = randomBytes(200_000);
      const digest = digestOf(data);
      const results = await Promise.all(Array.from({ length: 16 }, () => store.put(digest, chunks(data, 7000), data.length)));
      expect(results.every((result) => result.size === data.length)).toBe(true);
      // The rule is deduplication: exactly one writer creates the blob, every other finds it.
      expect(results.filter((result) => result.created).length).toBe(1);
      expect((await store.read(digest)).equals(data)).toBe(true);
      expect((await collect(store.list())).map((info) => info.digest)).toEqual([digest]);
    }));

    it('deduplicates concurrent commits of one digest from different uploads', withStore(async (store) => {
      const data = randomBytes(50_000);
      const digest = digestOf(data);
      const ids = Array.from({ length: 8 }, (_, index) => `upload-dup-${index}0000`);
      for (const id of ids) {
        await store.createUpload(id);
        await store.appendUpload(id, 0, chunks(data, 9000));
      }
      const results = await Promise.all(ids.map((id) => store.commitUpload(id, digest, data.length)));
      expect(results.filter((result) => result.created).length).toBe(1);
      expect(results.every((result) => result.size === data.length)).toBe(true);
      expect(await collect(store.listUploads())).toEqual([]);
      expect((await collect(store.list())).map((info) => info.digest)).toEqual([digest]);
    }));

    it('prepares itself on init, idempotently, without creating content', withStore(async (store) => {
      await store.init();
      await store.init();
      expect(await collect(store.list())).toEqual([]);
      expect(await collect(store.listUploads())).toEqual([]);
    }));

    it('stages an upload in appends, resumes at the durable offset and commits it', withStore(async (store) => {
      const data = randomBytes(3000);
      const digest = digestOf(data);
      await store.createUpload('upload-aaaa-1');
      expect(await store.uploadSize('upload-aaaa-1')).toBe(0);
      expect(await store.appendUpload('upload-aaaa-1', 0, chunks(data.subarray(0, 1000)))).toBe(1000);
      // An append that was interrupted (client retried at 1000) must not duplicate bytes.
      expect(await store.appendUpload('upload-aaaa-1', 1000, chunks(data.subarray(1000, 1500)))).toBe(1500);
      expect(await store.appendUpload('upload-aaaa-1', 1000, chunks(data.subarray(1000, 2000)))).toBe(2000);
      await expectCode(store.appendUpload('upload-aaaa-1', 2500, chunks(data.subarray(2500))), 'STORAGE_UPLOAD_OFFSET');
      expect(await store.appendUpload('upload-aaaa-1', 2000, chunks(data.subarray(2000)))).toBe(3000);
      expect((await collect(store.listUploads())).map((upload) => [upload.id, upload.size])).toEqual([['upload-aaaa-1', 3000]]);
      expect(await store.stat(digest)).toBeUndefined();
      expect(await store.commitUpload('upload-aaaa-1', digest, 3000)).toEqual({ size: 3000, created: true });
      expect((await store.read(digest)).equals(data)).toBe(true);
      expect(await store.uploadSize('upload-aaaa-1')).toBeUndefined();
      await expectCode(store.appendUpload('upload-aaaa-1', 0, chunks(data)), 'STORAGE_UPLOAD_NOT_FOUND');
    }));

    it('keeps an upload whose digest does not match, and commits sha512 uploads', withStore(async (store) => {
      const data = randomBytes(1234);
      await store.createUpload('upload-bbbb-2');
      await store.appendUpload('upload-bbbb-2', 0, chunks(data));
      await expectCode(store.commitUpload('upload-bbbb-2', digestOf(randomBytes(4)), 1234), 'STORAGE_DIGEST_MISMATCH');
      expect(await store.uploadSize('upload-bbbb-2')).toBe(1234);
      expect(await collect(store.list())).toEqual([]);
      const d512 = digestOf(data, 'sha512');
      await store.commitUpload('upload-bbbb-2', d512, 1234);
      expect((await store.read(d512)).equals(data)).toBe(true);
    }));

    it('commits an upload of a blob that already exists without changing it', withStore(async (store) => {
      const data = randomBytes(100);
      const digest = digestOf(data);
      await store.put(digest, chunks(data));
      await store.createUpload('upload-cccc-3');
      await store.appendUpload('upload-cccc-3', 0, chunks(data));
      expect(await store.commitUpload('upload-cccc-3', digest, 100)).toEqual({ size: 100, created: false });
      expect((await store.read(digest)).equals(data)).toBe(true);
      expect(await collect(store.listUploads())).toEqual([]);
    }));

    it('deletes uploads and rejects ids that could escape the store', withStore(async (store) => {
      await store.createUpload('upload-dddd-4');
      expect(await store.deleteUpload('upload-dddd-4')).toBe(true);
      expect(await store.deleteUpload('upload-dddd-4')).toBe(false);
      expect(await store.uploadSize('upload-dddd-4')).toBeUndefined();
      await expectCode(store.createUpload('../../etc/passwd'), 'STORAGE_INVALID_ID');
      await expectCode(store.stat('sha256:../../x' as Digest), 'STORAGE_INVALID_ID');
      expect(await collect(store.listUploads())).toEqual([]);
      expect(await collect(store.list())).toEqual([]);
    }));

    it('touch refreshes the modification time of a blob', withStore(async (store) => {
      const data = randomBytes(10);
      const digest = digestOf(data);
      expect(await store.touch(digest)).toBe(false);
      await store.put(digest, chunks(data));
      const before = (await store.stat(digest))!.modifiedAt;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.touch(digest)).toBe(true);
      expect((await store.stat(digest))!.modifiedAt).toBeGreaterThan(before);
    }));
  });
}
