import type { Readable } from 'node:stream';
import type { Digest } from '../lib/index.ts';

/** What the store knows about one committed blob. */
export interface BlobInfo {
  digest: Digest;
  size: number;
  /** Last time the blob was written or touched (ms since epoch); GC grace periods compare against it. */
  modifiedAt: number;
}

/** A staged, not yet committed upload. */
export interface StagedUpload {
  id: string;
  size: number;
  modifiedAt: number;
}

/** Content-addressed blob storage for the registry: committed blobs keyed by digest plus staged
 *  uploads. Every committed blob has been verified against its digest; nothing partial is ever
 *  visible under a digest. Drivers: filesystem (storage/fs), S3 (storage/s3). All drivers pass
 *  `runBlobStoreConformance`. */
export interface BlobStore {
  /** Prepares the store and removes what interrupted writes left behind (never visible content).
   *  Servers call it at start so a crash's leftovers go then, not at first use; every other method
   *  also prepares the store lazily, and calling it again does nothing. */
  init(): Promise<void>;
  /** Streams `source` into the store, verifying it hashes to `digest` (and has `expectedSize` if
   *  given) before it becomes visible. Idempotent: an existing blob is kept and touched. Throws
   *  STORAGE_DIGEST_MISMATCH / STORAGE_SIZE_MISMATCH and leaves nothing behind on bad content. */
  put(digest: Digest, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expectedSize?: number): Promise<{ size: number; created: boolean }>;
  /** Size and time of a committed blob, or undefined. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /** Reads a committed blob, optionally the inclusive byte range [start, end]. Throws
   *  STORAGE_BLOB_NOT_FOUND or STORAGE_RANGE_INVALID. */
  get(digest: Digest, range?: { start: number; end: number }): Promise<Readable>;
  /** Reads a whole (small) committed blob into memory. */
  read(digest: Digest): Promise<Buffer>;
  /** Marks a blob as recently used so a concurrent GC sweep within its grace period keeps it. */
  touch(digest: Digest): Promise<boolean>;
  /** Removes a committed blob; false when it was absent. */
  delete(digest: Digest): Promise<boolean>;
  /** Every committed blob, in no particular order. */
  list(): AsyncIterable<BlobInfo>;

  /** Starts an empty staged upload under a caller-chosen id ([A-Za-z0-9-]{8,64}). */
  createUpload(id: string): Promise<void>;
  /** Current durable length of a staged upload, or undefined when it does not exist. */
  uploadSize(id: string): Promise<number | undefined>;
  /** Appends `source` at byte `offset` (bytes past `offset` from an interrupted append are dropped
   *  first) and makes the result durable; returns the new length. Throws STORAGE_UPLOAD_OFFSET when
   *  the upload is shorter than `offset`. */
  appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number>;
  /** Verifies the first `size` bytes of the staged upload against `digest` and commits them as that
   *  blob, consuming the upload. On mismatch throws STORAGE_DIGEST_MISMATCH and the upload is kept. */
  commitUpload(id: string, digest: Digest, size: number): Promise<{ size: number; created: boolean }>;
  /** Removes a staged upload; false when it was absent. */
  deleteUpload(id: string): Promise<boolean>;
  /** Every staged upload. */
  listUploads(): AsyncIterable<StagedUpload>;
}
