import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { _Object, S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isDigest } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { StorageError } from '../errors.ts';
import type { BlobInfo, BlobStore, StagedUpload } from '../port.ts';

const UPLOAD_ID = /^[A-Za-z0-9-]{8,64}$/;
/** Object metadata key holding the last write or touch time in ms (LastModified has 1 s resolution
 *  and cannot be set). */
const MODIFIED = 'kiln-modified';
/** S3 refuses non-final multipart parts under 5 MiB. */
const S3_MIN_PART_SIZE = 5 * 1024 * 1024;

/** Settings of an S3-compatible bucket. */
export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading slash); '' or e.g. `registry/`. */
  prefix?: string;
  /** Endpoint of an S3-compatible service (MinIO, Ceph, s3rver); AWS when absent. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible services need. */
  forcePathStyle?: boolean;
  /** Static credentials; otherwise the AWS SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Bytes per staged chunk object and per multipart part (default 8 MiB; ≥ 5 MiB on AWS). */
  partSize?: number;
  /** Send `If-None-Match: *` on blob writes so two replicas never both report `created` (AWS S3,
   *  MinIO and Ceph support it; services that do not simply ignore the header). Default true. */
  conditionalWrites?: boolean;
  /** Replaces the host of pre-signed URLs (a public or CDN endpoint in front of the bucket). */
  publicEndpoint?: string;
}

/** A run of staged bytes `[start, end)` stored as one object under the upload's prefix. */
interface Chunk {
  key: string;
  start: number;
  end: number;
  modifiedAt: number;
  /** ETag as listed (quotes removed): identifies this write of the object. */
  etag: string;
}

/** What this process knows of an upload it staged itself, appends in order: the running sha256 of its
 *  bytes and the ETag of every chunk object it wrote. Lost on restart or when another replica
 *  appends; commit then re-reads the staged bytes instead. */
interface RunningUpload {
  offset: number;
  hash: Hash;
  etags: Map<string, string>;
}

/** S3-compatible blob store: scale-out replicas share one bucket and keep no local state.
 *
 *  Layout under `prefix`: `blobs/<alg>/<hex>` (committed, verified content) and
 *  `uploads/<id>/created` + `uploads/<id>/<start>-<end>` (a staged upload: a marker and one object per
 *  run of appended bytes, at most `partSize` each). Staged state lives in the bucket itself, so any
 *  replica continues an upload another one began; the registry keeps the acknowledged offset in the
 *  metadata store as for every driver.
 *
 *  Nothing partial is ever visible under `blobs/`: small blobs are written with one PutObject after
 *  their digest was verified; large ones go through a multipart upload on the final key that is
 *  completed only after verification (an incomplete multipart upload is invisible) and aborted
 *  otherwise. Commit of an upload staged entirely through this instance uses the sha256 it kept while
 *  staging (after checking the listed chunk ETags are the ones it wrote) and assembles the blob with
 *  server-side copies; otherwise it reads the staged chunks once, hashing them while re-chunking them
 *  into the parts of that multipart upload, so every non-final part has `partSize` bytes whatever
 *  chunk sizes the client sent. Writers of one digest in this process are serialised; across replicas
 *  `If-None-Match: *` decides which write created the blob (the content is identical either way). */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly partSize: number;
  readonly client: S3Client;
  readonly #conditional: boolean;
  readonly #presigner: S3Client;
  /** Per-digest chains of pending writers in this process; entries live only while a write runs. */
  readonly #writers = new Map<string, Promise<unknown>>();
  readonly #io: WriterIo;
  /** Running hashes of uploads staged through this instance; an entry lives until its upload is
   *  committed or deleted here (or its appends move to another replica). */
  readonly #running = new Map<string, RunningUpload>();
  /** `s3://bucket/prefix`, for messages. */
  readonly #where: string;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    this.#conditional = options.conditionalWrites ?? true;
    const config: S3ClientConfig = {
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      // Checksums only where S3 requires them: bodies are sent with a known length (no aws-chunked
      // trailers, which many S3-compatible services do not parse); content is verified by digest.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.client = new S3Client(config);
    this.#presigner = options.publicEndpoint ? new S3Client({ ...config, endpoint: options.publicEndpoint }) : this.client;
    this.#where = `s3://${this.bucket}/${this.prefix}`;
    this.#io = { where: this.#where, client: this.client, bucket: this.bucket, partSize: this.partSize, call: (what, request, detail) => this.#call(what, request, detail) };
  }

  /** Nothing to prepare: the bucket must exist (checked here so a wrong name fails at start). */
  async init(): Promise<void> {
    await this.#call('list the bucket', () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 })));
  }

  /** Releases the HTTP connections of the S3 client. */
  close(): void {
    this.client.destroy();
    if (this.#presigner !== this.client) this.#presigner.destroy();
  }

  #blobKey(digest: Digest): string {
    if (!isDigest(digest)) throw new StorageError('STORAGE_INVALID_ID', `not a valid digest: ${JSON.stringify(digest)}`, { detail: { digest } });
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `${this.prefix}blobs/${algorithm}/${hex}`;
  }

  #uploadPrefix(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new StorageError('STORAGE_INVALID_ID', `not a valid upload id: ${JSON.stringify(id)}`, { detail: { id } });
    return `${this.prefix}uploads/${id}/`;
  }

  /** A pre-signed GET URL for a committed blob, valid `expiresInSeconds` (for 307 redirects). */
  async presignedUrl(digest: Digest, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.#presigner, new GetObjectCommand({ Bucket: this.bucket, Key: this.#blobKey(digest) }), { expiresIn: expiresInSeconds });
  }

  async put(digest: Digest, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expectedSize?: number): Promise<{ size: number; created: boolean }> {
    const key = this.#blobKey(digest);
    const hash = createHash(algorithmOf(digest));
    const writer = new PartWriter(this.#io, key);
    let size = 0;
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        if (expectedSize !== undefined && size > expectedSize) break;
        await writer.write(chunk);
      }
      checkContent(digest, hash, size, expectedSize);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return this.#install(digest, writer, size);
  }

  /** Makes verified bytes visible under the digest unless the blob exists (then it is touched). */
  async #install(digest: Digest, writer: PartWriter, size: number): Promise<{ size: number; created: boolean }> {
    return this.#serialised(digest, async () => {
      // Touch doubles as the existence check; a blob deleted meanwhile (GC elsewhere) is written again.
      if (await this.touch(digest)) {
        await writer.abort();
        return { size, created: false };
      }
      const created = await writer.finish(this.#conditional);
      if (!created) await this.touch(digest);
      return { size, created };
    });
  }

  /** Runs writes of one digest one after another in this process. */
  async #serialised<T>(digest: string, body: () => Promise<T>): Promise<T> {
    const previous = this.#writers.get(digest) ?? Promise.resolve();
    const run = previous.then(body, body);
    const tail = run.catch(() => undefined);
    this.#writers.set(digest, tail);
    try {
      return await run;
    } finally {
      if (this.#writers.get(digest) === tail) this.#writers.delete(digest);
    }
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const key = this.#blobKey(digest);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { digest, size: head.ContentLength ?? 0, modifiedAt: modifiedOf(head.Metadata, head.LastModified) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw backendError(this.#where, 'stat a blob', error, { digest });
    }
  }

  async get(digest: Digest, range?: { start: number; end: number }): Promise<Readable> {
    const key = this.#blobKey(digest);
    if (range) {
      // S3 clips a range that runs past the end instead of refusing it: check against the size first.
      const info = await this.stat(digest);
      if (!info) throw notFound(digest);
      if (!(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.start <= range.end && range.end < info.size)) {
        throw new StorageError('STORAGE_RANGE_INVALID', `${digest}: range ${range.start}-${range.end} is outside the blob of ${info.size} bytes`, { detail: { digest, ...range, size: info.size } });
      }
    }
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      return object.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw notFound(digest, error);
      throw backendError(this.#where, 'read a blob', error, { digest });
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    const stream = await this.get(digest);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  async touch(digest: Digest): Promise<boolean> {
    const key = this.#blobKey(digest);
    try {
      // A copy onto itself with new metadata is S3's only way to refresh an object's time.
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: encodeCopySource(this.bucket, key), MetadataDirective: 'REPLACE', Metadata: { [MODIFIED]: String(Date.now()) } }),
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw backendError(this.#where, 'touch a blob', error, { digest });
    }
  }

  async delete(digest: Digest): Promise<boolean> {
    // DeleteObject succeeds whether or not the key exists: ask first to report what happened.
    if (!(await this.stat(digest))) return false;
    await this.#call('delete a blob', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#blobKey(digest) })), { digest });
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const object of this.#objects(`${this.prefix}blobs/`)) {
      const [algorithm, hex] = object.Key!.slice(this.prefix.length + 'blobs/'.length).split('/');
      const digest = `${algorithm}:${hex}`;
      if (isDigest(digest)) yield { digest, size: object.Size ?? 0, modifiedAt: object.LastModified?.getTime() ?? 0 };
    }
  }

  async *#objects(prefix: string): AsyncIterable<_Object> {
    let token: string | undefined;
    do {
      const page = await this.#call('list objects', () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) })));
      for (const object of page.Contents ?? []) if (object.Key) yield object;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async createUpload(id: string): Promise<void> {
    const key = `${this.#uploadPrefix(id)}created`;
    await this.#call('create an upload', () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0), ...(this.#conditional ? { IfNoneMatch: '*' } : {}) })), { id });
    this.#running.set(id, { offset: 0, hash: createHash('sha256'), etags: new Map() });
  }

  /** The staged objects of an upload, or undefined when it does not exist. */
  async #staged(id: string): Promise<{ chunks: Chunk[]; keys: string[]; modifiedAt: number } | undefined> {
    const prefix = this.#uploadPrefix(id);
    const chunks: Chunk[] = [];
    const keys: string[] = [];
    let exists = false;
    let modifiedAt = 0;
    for await (const object of this.#objects(prefix)) {
      exists = true;
      keys.push(object.Key!);
      modifiedAt = Math.max(modifiedAt, object.LastModified?.getTime() ?? 0);
      const match = /^(\d+)-(\d+)$/.exec(object.Key!.slice(prefix.length));
      if (match) chunks.push({ key: object.Key!, start: Number(match[1]), end: Number(match[2]), modifiedAt: object.LastModified?.getTime() ?? 0, etag: unquote(object.ETag) });
    }
    return exists ? { chunks, keys, modifiedAt } : undefined;
  }

  async uploadSize(id: string): Promise<number | undefined> {
    const staged = await this.#staged(id);
    return staged ? durableChain(staged.chunks).size : undefined;
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    const prefix = this.#uploadPrefix(id);
    const staged = await this.#staged(id);
    if (!staged) throw new StorageError('STORAGE_UPLOAD_NOT_FOUND', `upload ${id} does not exist`, { detail: { id } });
    const chain = durableChain(staged.chunks);
    if (chain.size < offset) {
      throw new StorageError('STORAGE_UPLOAD_OFFSET', `upload ${id}: append at ${offset} but only ${chain.size} bytes are staged`, { detail: { id, offset, size: chain.size } });
    }
    // Drop what lies past `offset` (an interrupted append): a chunk across it keeps its first part.
    const keep = new Set<string>();
    for (const chunk of chain.chunks) {
      if (chunk.end <= offset) keep.add(chunk.key);
      else if (chunk.start < offset) {
        const head = await this.#readObject(chunk.key, { start: 0, end: offset - chunk.start - 1 });
        const key = `${prefix}${chunkName(chunk.start, offset)}`;
        await this.#call('stage upload bytes', () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: head })), { id });
        keep.add(key);
      }
    }
    for (const chunk of staged.chunks) if (!keep.has(chunk.key)) await this.#deleteKey(chunk.key);
    // The running hash continues only from exactly where it stopped; any failure drops it.
    let running = this.#running.get(id);
    this.#running.delete(id);
    if (running && running.offset !== offset) running = undefined;
    let position = offset;
    for await (const data of rechunk(source, this.partSize)) {
      const key = `${prefix}${chunkName(position, position + data.length)}`;
      const written = await this.#call('stage upload bytes', () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data })), { id });
      running?.hash.update(data);
      running?.etags.set(key, unquote(written.ETag));
      position += data.length;
    }
    if (running) this.#running.set(id, { ...running, offset: position });
    return position;
  }

  async #readObject(key: string, range?: { start: number; end: number }): Promise<Buffer> {
    const object = await this.#call('read staged bytes', () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  async commitUpload(id: string, digest: Digest, size: number): Promise<{ size: number; created: boolean }> {
    const key = this.#blobKey(digest);
    const staged = await this.#staged(id);
    if (!staged) throw new StorageError('STORAGE_UPLOAD_NOT_FOUND', `upload ${id} does not exist`, { detail: { id } });
    const chain = durableChain(staged.chunks);
    if (chain.size < size) {
      throw new StorageError('STORAGE_UPLOAD_OFFSET', `upload ${id}: commit of ${size} bytes but only ${chain.size} are staged`, { detail: { id, size, staged: chain.size } });
    }
    const running = this.#running.get(id);
    const result = await this.#serialised(digest, async () => {
      // Fast path: this process hashed every staged byte as it wrote it, and the bucket still holds
      // exactly those writes (same ETags): verify without reading, assemble by server-side copy.
      if (running && running.offset === size && chain.size === size && digest.startsWith('sha256:') && chain.chunks.every((chunk) => running.etags.get(chunk.key) === chunk.etag)) {
        const actual = `sha256:${running.hash.copy().digest('hex')}`;
        if (actual !== digest) {
          throw new StorageError('STORAGE_DIGEST_MISMATCH', `upload ${id}: content hashes to ${actual}, not ${digest}`, { detail: { id, digest, actual } });
        }
        if (await this.touch(digest)) return { size, created: false };
        const created = await this.#copyChunks(chain.chunks, key);
        if (created !== undefined) {
          if (!created) await this.touch(digest);
          return { size, created };
        }
      }
      // Otherwise, when the blob exists the staged bytes are only verified; else they are hashed while
      // being re-cut into the final object's parts, which become visible only if the digest matches.
      for (let attempt = 0; ; attempt++) {
        const exists = attempt === 0 && (await this.stat(digest)) !== undefined;
        const writer = exists ? undefined : new PartWriter(this.#io, key);
        const hash = createHash(algorithmOf(digest));
        try {
          for await (const data of rechunk(this.#stagedBytes(chain.chunks, size), this.partSize)) {
            hash.update(data);
            await writer?.write(data);
          }
          const actual = `${digest.split(':')[0]}:${hash.digest('hex')}`;
          if (actual !== digest) {
            throw new StorageError('STORAGE_DIGEST_MISMATCH', `upload ${id}: content hashes to ${actual}, not ${digest}`, { detail: { id, digest, actual } });
          }
        } catch (error) {
          await writer?.abort();
          throw error;
        }
        if (writer) {
          const created = await writer.finish(this.#conditional);
          if (!created) await this.touch(digest);
          return { size, created };
        }
        // Existing blob: keep it fresh; if it vanished meanwhile (another replica's GC), write it.
        if (await this.touch(digest)) return { size, created: false };
      }
    });
    this.#running.delete(id);
    await this.#removeUpload(staged.keys);
    return result;
  }

  /** Assembles staged chunks into `key` inside S3 (CopyObject for one chunk, UploadPartCopy for
   *  several whose non-final ones meet S3's 5 MiB part minimum), each copy conditional on the chunk's
   *  ETag. Returns whether it created the object, or undefined when the service cannot (s3rver has no
   *  UploadPartCopy) or the chunks do not qualify: the caller then streams the bytes itself. */
  async #copyChunks(chunks: readonly Chunk[], key: string): Promise<boolean | undefined> {
    const metadata = { [MODIFIED]: String(Date.now()) };
    const source = (chunk: Chunk) => ({ CopySource: encodeCopySource(this.bucket, chunk.key), CopySourceIfMatch: `"${chunk.etag}"` });
    if (chunks.length === 1) {
      try {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, ...source(chunks[0]!), MetadataDirective: 'REPLACE', Metadata: metadata }));
        return true;
      } catch {
        return undefined;
      }
    }
    if (chunks.length < 2 || chunks.length > 10_000 || chunks.slice(0, -1).some((chunk) => chunk.end - chunk.start < S3_MIN_PART_SIZE)) return undefined;
    let uploadId: string | undefined;
    try {
      uploadId = (await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, Metadata: metadata }))).UploadId!;
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (const [index, chunk] of chunks.entries()) {
        const copied = await this.client.send(new UploadPartCopyCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: index + 1, ...source(chunk) }));
        parts.push({ ETag: copied.CopyPartResult!.ETag!, PartNumber: index + 1 });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...(this.#conditional ? { IfNoneMatch: '*' } : {}) }),
      );
      return true;
    } catch {
      // Unsupported, a chunk changed since it was listed, or another replica completed the same blob
      // first: abandon the copy; the streaming path re-reads and re-checks everything.
      if (uploadId !== undefined) {
        const abandoned = uploadId;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: abandoned })).catch(() => undefined);
      }
      return undefined;
    }
  }

  async *#stagedBytes(chunks: readonly Chunk[], size: number): AsyncIterable<Uint8Array> {
    for (const chunk of chunks) {
      if (chunk.start >= size) break;
      const end = Math.min(chunk.end, size);
      if (end === chunk.start) continue;
      const object = await this.#call('read staged bytes', () =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: chunk.key, ...(end < chunk.end ? { Range: `bytes=0-${end - chunk.start - 1}` } : {}) })),
      );
      for await (const part of object.Body as Readable) yield part as Buffer;
    }
  }

  async deleteUpload(id: string): Promise<boolean> {
    this.#running.delete(id);
    const staged = await this.#staged(id);
    if (!staged) return false;
    await this.#removeUpload(staged.keys);
    return true;
  }

  async #removeUpload(keys: readonly string[]): Promise<void> {
    // The marker goes last, so an interrupted removal still lists as an upload GC can expire.
    const marker = keys.filter((key) => key.endsWith('/created'));
    for (const key of keys) if (!key.endsWith('/created')) await this.#deleteKey(key);
    for (const key of marker) await this.#deleteKey(key);
  }

  async #deleteKey(key: string): Promise<void> {
    await this.#call('delete an object', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async *listUploads(): AsyncIterable<StagedUpload> {
    const base = `${this.prefix}uploads/`;
    const uploads = new Map<string, { chunks: Chunk[]; modifiedAt: number }>();
    for await (const object of this.#objects(base)) {
      const [id, name] = object.Key!.slice(base.length).split('/');
      if (!id || !UPLOAD_ID.test(id) || name === undefined) continue;
      const entry = uploads.get(id) ?? { chunks: [], modifiedAt: 0 };
      const time = object.LastModified?.getTime() ?? 0;
      entry.modifiedAt = Math.max(entry.modifiedAt, time);
      const match = /^(\d+)-(\d+)$/.exec(name);
      if (match) entry.chunks.push({ key: object.Key!, start: Number(match[1]), end: Number(match[2]), modifiedAt: time, etag: unquote(object.ETag) });
      uploads.set(id, entry);
    }
    for (const [id, entry] of uploads) yield { id, size: durableChain(entry.chunks).size, modifiedAt: entry.modifiedAt };
  }

  /** Runs one S3 request, turning service and network failures into STORAGE_BACKEND_FAILED. */
  async #call<T>(what: string, request: () => Promise<T>, detail: Record<string, unknown> = {}): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw backendError(this.#where, what, error, detail);
    }
  }
}

/** What a PartWriter needs of its store. */
interface WriterIo {
  where: string;
  client: S3Client;
  bucket: string;
  partSize: number;
  call<T>(what: string, request: () => Promise<T>, detail?: Record<string, unknown>): Promise<T>;
}

/** Writes one object: a single PutObject when it fits in one part, else a multipart upload whose parts
 *  are sent as they fill. Nothing is visible until `finish`. */
class PartWriter {
  readonly #store: WriterIo;
  readonly #key: string;
  #pending: Buffer[] = [];
  #pendingLength = 0;
  #uploadId: string | undefined;
  readonly #parts: { ETag: string; PartNumber: number }[] = [];

  constructor(store: WriterIo, key: string) {
    this.#store = store;
    this.#key = key;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#pendingLength += chunk.length;
    while (this.#pendingLength > this.#store.partSize) {
      const all = Buffer.concat(this.#pending, this.#pendingLength);
      this.#pending = [all.subarray(this.#store.partSize)];
      this.#pendingLength = all.length - this.#store.partSize;
      await this.#uploadPart(all.subarray(0, this.#store.partSize));
    }
  }

  async #uploadPart(body: Buffer): Promise<void> {
    const { client, bucket } = this.#store;
    if (this.#uploadId === undefined) {
      const created = await this.#store.call('start a multipart upload', () => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: this.#key, Metadata: { [MODIFIED]: String(Date.now()) } })));
      this.#uploadId = created.UploadId!;
    }
    const PartNumber = this.#parts.length + 1;
    const uploadId = this.#uploadId;
    const part = await this.#store.call('upload a part', () => client.send(new UploadPartCommand({ Bucket: bucket, Key: this.#key, UploadId: uploadId, PartNumber, Body: body })));
    this.#parts.push({ ETag: part.ETag!, PartNumber });
  }

  /** Makes the object visible; false when a conditional write found it already there. */
  async finish(conditional: boolean): Promise<boolean> {
    const { client, bucket } = this.#store;
    const body = Buffer.concat(this.#pending, this.#pendingLength);
    const condition = conditional ? { IfNoneMatch: '*' } : {};
    try {
      if (this.#uploadId === undefined) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: this.#key, Body: body, Metadata: { [MODIFIED]: String(Date.now()) }, ...condition }));
        return true;
      }
      if (body.length > 0 || this.#parts.length === 0) await this.#uploadPart(body);
      const uploadId = this.#uploadId;
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: this.#key, UploadId: uploadId, MultipartUpload: { Parts: this.#parts }, ...condition }));
      return true;
    } catch (error) {
      if (error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 412 || error.name === 'PreconditionFailed')) {
        await this.abort();
        return false;
      }
      await this.abort();
      throw backendError(this.#store.where, 'write a blob', error, { key: this.#key });
    }
  }

  /** Abandons the write. An abort the service refuses is left to the bucket's lifecycle rule for
   *  incomplete multipart uploads (docs/registry.md), never to a visible object. */
  async abort(): Promise<void> {
    this.#pending = [];
    this.#pendingLength = 0;
    if (this.#uploadId === undefined) return;
    const uploadId = this.#uploadId;
    this.#uploadId = undefined;
    const { client, bucket } = this.#store;
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: this.#key, UploadId: uploadId })).catch(() => undefined);
  }
}

/** The staged chunks that form a contiguous run from byte 0, and its length. Where chunks start at
 *  the same byte (an interrupted trim), the longest wins: its extra bytes lie past the acknowledged
 *  offset and the next append drops them. */
function durableChain(chunks: readonly Chunk[]): { chunks: Chunk[]; size: number } {
  const byStart = new Map<number, Chunk>();
  for (const chunk of chunks) {
    const other = byStart.get(chunk.start);
    if (!other || chunk.end > other.end) byStart.set(chunk.start, chunk);
  }
  const chain: Chunk[] = [];
  let size = 0;
  for (let chunk = byStart.get(0); chunk && chunk.end > chunk.start; chunk = byStart.get(size)) {
    chain.push(chunk);
    size = chunk.end;
  }
  return { chunks: chain, size };
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

function chunkName(start: number, end: number): string {
  return `${String(start).padStart(16, '0')}-${String(end).padStart(16, '0')}`;
}

/** Re-cuts a byte stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* rechunk(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number): AsyncIterable<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    length += chunk.length;
    while (length >= size) {
      const all = Buffer.concat(parts, length);
      yield all.subarray(0, size);
      parts = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

function algorithmOf(digest: Digest): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

function checkContent(digest: Digest, hash: Hash, size: number, expectedSize: number | undefined): void {
  if (expectedSize !== undefined && size !== expectedSize) {
    throw new StorageError('STORAGE_SIZE_MISMATCH', `${digest}: received ${size > expectedSize ? 'more than ' : ''}${size} bytes, expected ${expectedSize}`, {
      detail: { digest, size, expected: expectedSize },
    });
  }
  const actual = `${digest.split(':')[0]}:${hash.digest('hex')}`;
  if (actual !== digest) throw new StorageError('STORAGE_DIGEST_MISMATCH', `content hashes to ${actual}, not ${digest}`, { detail: { digest, actual } });
}

function modifiedOf(metadata: Record<string, string> | undefined, lastModified: Date | undefined): number {
  const stored = Number(metadata?.[MODIFIED]);
  return Number.isFinite(stored) && stored > 0 ? stored : (lastModified?.getTime() ?? 0);
}

function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404;
}

function notFound(digest: Digest, cause?: unknown): StorageError {
  return new StorageError('STORAGE_BLOB_NOT_FOUND', `blob ${digest} is not in the store`, { ...(cause === undefined ? {} : { cause }), detail: { digest } });
}

/** `where` is `s3://bucket/prefix`, so the message names the bucket at fault. */
function backendError(where: string, what: string, error: unknown, detail: Record<string, unknown>): StorageError {
  if (error instanceof StorageError) return error;
  const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
  const reason = error instanceof S3ServiceException ? `${error.name}${status ? ` (HTTP ${status})` : ''}: ${error.message}` : (error as Error).message;
  return new StorageError('STORAGE_BACKEND_FAILED', `${where}: cannot ${what}: ${reason}`, { cause: error, detail: { ...detail, bucket: where, ...(status ? { status } : {}) } });
}

