import { createHash, randomBytes } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rm, stat, unlink, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isDigest } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { StorageError } from '../errors.ts';
import type { BlobInfo, BlobStore, StagedUpload } from '../port.ts';

const UPLOAD_ID = /^[A-Za-z0-9-]{8,64}$/;

/** Running sha256 of an upload's first `offset` bytes, kept while appends arrive in order in this
 *  process so commit does not re-read the file; lost on restart, when commit re-hashes instead. */
interface RunningHash {
  offset: number;
  hash: Hash;
}

/** Filesystem blob store. Layout under `root`: `blobs/<alg>/<2 hex>/<hex>` (committed, read-only
 *  content), `uploads/<id>` (staged bytes), `tmp/` (in-flight `put`s). Every commit is write to a
 *  private temp name → fsync → rename → fsync of the directory, so a crash at any point leaves either
 *  no blob or the whole verified blob. The final step is an exclusive hard link (link(2) fails when
 *  the name exists), so of several concurrent writers of one digest exactly one reports `created`. */
export class FsBlobStore implements BlobStore {
  readonly root: string;
  readonly #running = new Map<string, RunningHash>();
  #ready: Promise<void> | undefined;

  constructor(root: string) {
    this.root = root;
  }

  init(): Promise<void> {
    return this.#init();
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      for (const dir of ['blobs/sha256', 'blobs/sha512', 'uploads', 'tmp']) await mkdir(join(this.root, dir), { recursive: true });
      // Anything in tmp/ belongs to a put that never finished (crash): it was never visible.
      for (const name of await readdir(join(this.root, 'tmp'))) await rm(join(this.root, 'tmp', name), { force: true });
    })();
    return this.#ready;
  }

  #blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw new StorageError('STORAGE_INVALID_ID', `not a valid digest: ${JSON.stringify(digest)}`, { detail: { digest } });
    const [algorithm, hex] = digest.split(':') as [string, string];
    return join(this.root, 'blobs', algorithm, hex.slice(0, 2), hex);
  }

  #uploadPath(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new StorageError('STORAGE_INVALID_ID', `not a valid upload id: ${JSON.stringify(id)}`, { detail: { id } });
    return join(this.root, 'uploads', id);
  }

  async put(digest: Digest, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expectedSize?: number): Promise<{ size: number; created: boolean }> {
    await this.#init();
    const target = this.#blobPath(digest);
    const temp = join(this.root, 'tmp', `${randomBytes(12).toString('hex')}`);
    const hash = createHash(digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    let size = 0;
    let committed = false;
    try {
      const handle = await open(temp, 'wx', 0o444);
      try {
        for await (const chunk of batched(source)) {
          hash.update(chunk);
          size += chunk.length;
          if (expectedSize !== undefined && size > expectedSize) break;
          await writeAll(handle, chunk);
        }
        checkContent(digest, hash, size, expectedSize);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const created = await this.#install(temp, target);
      committed = true;
      return { size, created };
    } finally {
      if (!committed) await rm(temp, { force: true });
    }
  }

  /** Moves verified, fsynced bytes to their digest path; an existing blob wins and is touched. */
  async #install(source: string, target: string): Promise<boolean> {
    const dir = join(target, '..');
    await mkdir(dir, { recursive: true });
    let created = true;
    try {
      await link(source, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      created = false;
    }
    await unlink(source);
    if (!created) {
      const now = new Date();
      await utimes(target, now, now).catch(() => undefined);
      return false;
    }
    await fsyncDir(dir);
    return true;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    await this.#init();
    const info = await stat(this.#blobPath(digest)).catch(() => undefined);
    return info ? { digest, size: info.size, modifiedAt: info.mtimeMs } : undefined;
  }

  async get(digest: Digest, range?: { start: number; end: number }): Promise<Readable> {
    await this.#init();
    let handle: FileHandle;
    try {
      handle = await open(this.#blobPath(digest), 'r');
    } catch (error) {
      throw notFound(digest, error);
    }
    if (range) {
      const { size } = await handle.stat();
      if (!(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.start <= range.end && range.end < size)) {
        await handle.close();
        throw new StorageError('STORAGE_RANGE_INVALID', `${digest}: range ${range.start}-${range.end} is outside the blob of ${size} bytes`, { detail: { digest, ...range, size } });
      }
      return handle.createReadStream({ start: range.start, end: range.end, highWaterMark: 1024 * 1024 });
    }
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  async read(digest: Digest): Promise<Buffer> {
    await this.#init();
    try {
      return await readFile(this.#blobPath(digest));
    } catch (error) {
      throw notFound(digest, error);
    }
  }

  async touch(digest: Digest): Promise<boolean> {
    await this.#init();
    const now = new Date();
    return utimes(this.#blobPath(digest), now, now).then(
      () => true,
      () => false,
    );
  }

  async delete(digest: Digest): Promise<boolean> {
    await this.#init();
    const path = this.#blobPath(digest);
    const existed = await stat(path).then(
      () => true,
      () => false,
    );
    if (existed) await rm(path, { force: true });
    return existed;
  }

  async *list(): AsyncIterable<BlobInfo> {
    await this.#init();
    for (const algorithm of ['sha256', 'sha512']) {
      const base = join(this.root, 'blobs', algorithm);
      for (const prefix of await readdir(base).catch(() => [] as string[])) {
        for (const hex of await readdir(join(base, prefix)).catch(() => [] as string[])) {
          const digest = `${algorithm}:${hex}`;
          if (!isDigest(digest)) continue;
          const info = await stat(join(base, prefix, hex)).catch(() => undefined);
          if (info) yield { digest, size: info.size, modifiedAt: info.mtimeMs };
        }
      }
    }
  }

  async createUpload(id: string): Promise<void> {
    await this.#init();
    // No fsync: an empty upload lost in a crash is indistinguishable from none, and the first durable
    // append syncs the file (the registry treats a session without staged bytes as unknown).
    const handle = await open(this.#uploadPath(id), 'wx', 0o600);
    await handle.close();
    this.#running.set(id, { offset: 0, hash: createHash('sha256') });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    await this.#init();
    const info = await stat(this.#uploadPath(id)).catch(() => undefined);
    if (info && (await this.#committedAlready(id, info.nlink))) return undefined;
    return info?.size;
  }

  /** A staged file with a second name was committed (linked to its digest path) by a process that
   *  died before removing the staging name: it is a verified blob now, and writing to it would
   *  change that blob. The staging name goes; the session is lost and must start again. */
  async #committedAlready(id: string, links: number): Promise<boolean> {
    if (links <= 1) return false;
    this.#running.delete(id);
    await unlink(this.#uploadPath(id)).catch(() => undefined);
    return true;
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    await this.#init();
    let handle: FileHandle;
    try {
      handle = await open(this.#uploadPath(id), 'r+');
    } catch (error) {
      throw new StorageError('STORAGE_UPLOAD_NOT_FOUND', `upload ${id} does not exist`, { cause: error, detail: { id } });
    }
    try {
      const { size, nlink } = await handle.stat();
      if (await this.#committedAlready(id, nlink)) throw new StorageError('STORAGE_UPLOAD_NOT_FOUND', `upload ${id} was already committed; start a new upload`, { detail: { id } });
      if (size < offset) {
        throw new StorageError('STORAGE_UPLOAD_OFFSET', `upload ${id}: append at ${offset} but only ${size} bytes are staged`, { detail: { id, offset, size } });
      }
      if (size > offset) await handle.truncate(offset);
      let running = this.#running.get(id);
      if (running && running.offset !== offset) running = undefined;
      this.#running.delete(id);
      let position = offset;
      for await (const chunk of batched(source)) {
        await writeAll(handle, chunk, position);
        running?.hash.update(chunk);
        position += chunk.length;
      }
      await handle.sync();
      if (running) this.#running.set(id, { offset: position, hash: running.hash });
      return position;
    } finally {
      await handle.close();
    }
  }

  async commitUpload(id: string, digest: Digest, size: number): Promise<{ size: number; created: boolean }> {
    await this.#init();
    const path = this.#uploadPath(id);
    const target = this.#blobPath(digest);
    const info = await stat(path).catch(() => undefined);
    if (!info || (await this.#committedAlready(id, info.nlink))) throw new StorageError('STORAGE_UPLOAD_NOT_FOUND', `upload ${id} does not exist`, { detail: { id } });
    if (info.size < size) {
      throw new StorageError('STORAGE_SIZE_MISMATCH', `upload ${id}: ${info.size} bytes staged, ${size} expected`, { detail: { id, size: info.size, expected: size } });
    }
    const running = this.#running.get(id);
    let actual: string;
    if (running && running.offset === size && info.size === size && digest.startsWith('sha256:')) {
      actual = running.hash.copy().digest('hex');
    } else {
      actual = await hashFile(path, digest.startsWith('sha512:') ? 'sha512' : 'sha256', size);
    }
    if (`${digest.split(':')[0]}:${actual}` !== digest) {
      throw new StorageError('STORAGE_DIGEST_MISMATCH', `upload ${id}: content hashes to ${digest.split(':')[0]}:${actual}, not ${digest}`, { detail: { id, digest, actual } });
    }
    if (info.size > size) {
      const handle = await open(path, 'r+');
      try {
        await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    this.#running.delete(id);
    const created = await this.#install(path, target);
    return { size, created };
  }

  async deleteUpload(id: string): Promise<boolean> {
    await this.#init();
    this.#running.delete(id);
    const path = this.#uploadPath(id);
    const existed = await stat(path).then(
      () => true,
      () => false,
    );
    await rm(path, { force: true });
    return existed;
  }

  async *listUploads(): AsyncIterable<StagedUpload> {
    await this.#init();
    for (const id of await readdir(join(this.root, 'uploads'))) {
      if (!UPLOAD_ID.test(id)) continue;
      const info = await stat(join(this.root, 'uploads', id)).catch(() => undefined);
      if (info) yield { id, size: info.size, modifiedAt: info.mtimeMs };
    }
  }
}

function checkContent(digest: Digest, hash: Hash, size: number, expectedSize: number | undefined): void {
  if (expectedSize !== undefined && size !== expectedSize) {
    throw new StorageError('STORAGE_SIZE_MISMATCH', `${digest}: received ${size > expectedSize ? 'more than ' : ''}${size} bytes, expected ${expectedSize}`, {
      detail: { digest, size, expected: expectedSize },
    });
  }
  const actual = `${digest.split(':')[0]}:${hash.digest('hex')}`;
  if (actual !== digest) {
    throw new StorageError('STORAGE_DIGEST_MISMATCH', `content hashes to ${actual}, not ${digest}`, { detail: { digest, actual } });
  }
}

/** Coalesces small socket chunks into ~1 MiB writes: one awaited syscall per MiB instead of per 64 KiB. */
async function* batched(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size = 1024 * 1024): AsyncIterable<Uint8Array> {
  let parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of source) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= size) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
}

async function writeAll(handle: FileHandle, chunk: Uint8Array, position?: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position === undefined ? null : position + written);
    written += bytesWritten;
  }
}

async function hashFile(path: string, algorithm: 'sha256' | 'sha512', size: number): Promise<string> {
  const hash = createHash(algorithm);
  const handle = await open(path, 'r');
  try {
    if (size > 0) for await (const chunk of handle.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function notFound(digest: Digest, cause: unknown): StorageError {
  return new StorageError('STORAGE_BLOB_NOT_FOUND', `blob ${digest} is not in the store`, { cause, detail: { digest } });
}
