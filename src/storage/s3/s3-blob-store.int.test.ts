import { randomBytes, randomUUID } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, runBlobStoreConformance } from '../blob-store-conformance.ts';
import { StorageError } from '../errors.ts';
import type { BlobStore } from '../port.ts';
import { S3BlobStore } from './s3-blob-store.ts';
import { externalTestS3, removePrefix, startTestS3, strayObjects, testStoreOptions } from './testing.ts';
import type { TestS3 } from './testing.ts';

let local: TestS3;
beforeAll(async () => {
  local = await startTestS3();
});
afterAll(async () => {
  await local?.stop();
});

/** The conformance suite against one service; `partSize` small enough that the suite's blobs and
 *  uploads span several chunk objects and multipart parts exercises those paths too. */
function conformance(name: string, s3: () => TestS3, partSize?: number): void {
  runBlobStoreConformance(name, {
    create: async () => new S3BlobStore(testStoreOptions(s3(), `kiln-test-${randomUUID()}/`, partSize ? { partSize } : {})),
    cleanup: async (store) => {
      await removePrefix(store as S3BlobStore);
      (store as S3BlobStore).close();
    },
    strayFiles: async (store) => strayObjects(store as S3BlobStore, s3()),
  });
}

conformance('s3 (s3rver)', () => local);
conformance('s3 (s3rver, 4 KiB parts)', () => local, 4096);

const external = externalTestS3();
if (external) conformance(`s3 (${external.endpoint})`, () => external);

async function* bytes(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}

async function drain(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('S3BlobStore', () => {
  const withStore = (body: (store: S3BlobStore, other: S3BlobStore) => Promise<void>, partSize = 4096) => async () => {
    const prefix = `kiln-test-${randomUUID()}/`;
    // Two stores on one bucket and prefix: two replicas with no state of their own.
    const store = new S3BlobStore(testStoreOptions(local, prefix, { partSize }));
    const other = new S3BlobStore(testStoreOptions(local, prefix, { partSize }));
    try {
      await body(store, other);
    } finally {
      await removePrefix(store);
      store.close();
      other.close();
    }
  };

  it('continues an upload on another replica, drops an interrupted append there, and commits it', withStore(async (first, second) => {
    const data = randomBytes(20_000);
    const digest = digestOf(data);
    await first.createUpload('replica-upload-1');
    expect(await first.appendUpload('replica-upload-1', 0, bytes(data.subarray(0, 700)))).toBe(700);
    expect(await second.uploadSize('replica-upload-1')).toBe(700);
    // An interrupted append on the second replica: 5000 bytes arrived, the client retries at 700.
    expect(await second.appendUpload('replica-upload-1', 700, bytes(data.subarray(700, 5700)))).toBe(5700);
    expect(await first.appendUpload('replica-upload-1', 700, bytes(data.subarray(700, 9000)))).toBe(9000);
    expect(await second.appendUpload('replica-upload-1', 9000, bytes(data.subarray(9000)))).toBe(20_000);
    expect((await collectIds(first.listUploads()))).toEqual([['replica-upload-1', 20_000]]);
    expect(await second.commitUpload('replica-upload-1', digest, 20_000)).toEqual({ size: 20_000, created: true });
    expect((await first.read(digest)).equals(data)).toBe(true);
    expect(await first.uploadSize('replica-upload-1')).toBeUndefined();
    expect(await strayObjects(first, local)).toEqual([]);
  }));

  it('commits an upload staged by this replica without reading it back, and one staged elsewhere by reading it', withStore(async (first, second) => {
    const reads = new Map<S3BlobStore, number>();
    for (const store of [first, second]) {
      reads.set(store, 0);
      store.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'GetObjectCommand') reads.set(store, reads.get(store)! + 1);
          return next(args);
        },
        { step: 'initialize' },
      );
    }
    const data = randomBytes(1024 * 1024);
    const digest = digestOf(data);
    await first.createUpload('fast-path-1');
    await first.appendUpload('fast-path-1', 0, bytes(data));
    expect(await first.commitUpload('fast-path-1', digest, data.length)).toEqual({ size: data.length, created: true });
    expect(reads.get(first)).toBe(0);
    expect((await second.read(digest)).equals(data)).toBe(true);
    await first.createUpload('slow-path-2');
    await first.appendUpload('slow-path-2', 0, bytes(data));
    const before = reads.get(second)!;
    expect(await second.commitUpload('slow-path-2', digest, data.length)).toEqual({ size: data.length, created: false });
    expect(reads.get(second)! - before).toBe(1);
    expect(await strayObjects(first, local)).toEqual([]);
  }, 8 * 1024 * 1024));

  it('re-reads staged bytes that changed in the bucket after this replica hashed them, and refuses them', withStore(async (store) => {
    const data = randomBytes(3000);
    await store.createUpload('tampered-1');
    await store.appendUpload('tampered-1', 0, bytes(data));
    // Another writer replaces the staged chunk with different bytes of the same length.
    const [key] = (await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `${store.prefix}uploads/tampered-1/0` }))).Contents!.map((object) => object.Key!);
    await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: randomBytes(3000) }));
    const error = await store.commitUpload('tampered-1', digestOf(data), 3000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('STORAGE_DIGEST_MISMATCH');
    expect(await store.stat(digestOf(data))).toBeUndefined();
    expect(await store.uploadSize('tampered-1')).toBe(3000);
  }, 8 * 1024 * 1024));

  it('keeps the head of a staged chunk when an append starts inside it', withStore(async (store) => {
    const data = randomBytes(3000);
    await store.createUpload('inside-chunk-1');
    expect(await store.appendUpload('inside-chunk-1', 0, bytes(data.subarray(0, 2000)))).toBe(2000);
    expect(await store.appendUpload('inside-chunk-1', 1500, bytes(data.subarray(1500)))).toBe(3000);
    expect(await store.commitUpload('inside-chunk-1', digestOf(data), 3000)).toEqual({ size: 3000, created: true });
    expect((await store.read(digestOf(data))).equals(data)).toBe(true);
  }, 1_000_000));

  it('serves ranges of a multipart blob and reports modification times in milliseconds', withStore(async (store) => {
    const data = randomBytes(30_000);
    const digest = digestOf(data);
    const before = Date.now();
    await store.put(digest, [data], data.length);
    const info = await store.stat(digest);
    expect(info?.size).toBe(30_000);
    expect(info!.modifiedAt).toBeGreaterThanOrEqual(before);
    expect(info!.modifiedAt).toBeLessThanOrEqual(Date.now());
    expect((await drain(await store.get(digest, { start: 4090, end: 12_300 }))).equals(data.subarray(4090, 12_301))).toBe(true);
  }));

  it('signs GET URLs that serve the blob and its ranges', withStore(async (store) => {
    const data = randomBytes(5000);
    const digest = digestOf(data);
    await store.put(digest, [data]);
    const url = await store.presignedUrl(digest, 60);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('60');
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
  }));

  it('lists blobs across pages of the bucket listing (more than 1000 keys)', withStore(async (store) => {
    const digests = Array.from({ length: 1003 }, (_, index) => Buffer.from(`blob ${index}`));
    for (let start = 0; start < digests.length; start += 25) {
      await Promise.all(digests.slice(start, start + 25).map((data) => store.put(digestOf(data), [data], data.length)));
    }
    const listed: string[] = [];
    for await (const info of store.list()) listed.push(info.digest);
    expect(listed.length).toBe(1003);
    expect(listed.sort()).toEqual(digests.map((data) => digestOf(data)).sort());
  }));

  it('reports an unreachable service with STORAGE_BACKEND_FAILED naming the operation', async () => {
    const store = new S3BlobStore({ ...testStoreOptions(local, 'x/'), endpoint: 'http://127.0.0.1:9' });
    try {
      const error = await store.init().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('STORAGE_BACKEND_FAILED');
      expect((error as StorageError).message).toMatch(/^s3:\/\/kiln-test\/x\/: cannot list the bucket: .*ECONNREFUSED/);
    } finally {
      store.close();
    }
  });

  it('refuses a bucket that does not exist at init', async () => {
    const store: BlobStore = new S3BlobStore(testStoreOptions({ ...local, bucket: 'no-such-bucket' }, ''));
    const error = await store.init().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'STORAGE_BACKEND_FAILED', message: 's3://no-such-bucket/: cannot list the bucket: NoSuchBucket (HTTP 404): The specified bucket does not exist', detail: { status: 404 } });
    (store as S3BlobStore).close();
  });
});

async function collectIds(uploads: AsyncIterable<{ id: string; size: number }>): Promise<Array<[string, number]>> {
  const out: Array<[string, number]> = [];
  for await (const upload of uploads) out.push([upload.id, upload.size]);
  return out;
}
