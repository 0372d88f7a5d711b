import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import type { IndexCheck } from '../format/index-archive.ts';
import type { FetchValidators } from './fetcher.ts';

/** `$XDG_CACHE_HOME/kiln` when XDG_CACHE_HOME is an absolute path (per the XDG spec), else `~/.cache/kiln`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'kiln');
}

/** What is remembered about a cached index. */
export interface IndexCacheEntry {
  url: string;
  /** Milliseconds since the epoch when the server last confirmed or sent this copy. */
  fetchedAt: number;
  validators: FetchValidators;
  sha256: string;
  size: number;
  /** What the last full read of these bytes established (their signatures, where the signed part
   *  starts), so a later load verifies the signature again without decompressing the index. */
  check?: IndexCheck;
}

/** Byte count and limit checks while a download streams to its temporary file. */
interface StoreOptions {
  /** Exact size expected (index `S:`): more bytes abort the download early. */
  expectedSize?: number;
  /** Hard cap when no size is known. */
  maxBytes: number;
  /** Called with each chunk length, for progress. */
  onBytes?: (count: number) => void;
  /** Names the download in errors. */
  where: string;
}

/**
 * Content-addressed on-disk cache, cacache-style: downloads stream to a temporary file in the same
 * file system while being counted, are verified by the caller's check, then renamed to their final
 * name; a failed check removes the temporary file, so nothing unverified ever has a final name.
 * Layout under `<root>/apk/`: `packages/<2 hex>/<identity hex>/<source hex>.apk` (see
 * {@link ApkCache.packagePath}), `indexes/<sha256(url)>.tar.gz` + `.json`, `universes/<sha256 of the
 * key>.img` (prepared solver universes, see prepared-universe.ts), `tmp/`.
 *
 * Nothing here deletes a package file: a cached copy that no longer verifies stays where it is until
 * a verified download is renamed over it (an atomic replacement), so a path handed out never goes
 * missing under another process that shares the cache directory.
 */
export class ApkCache {
  readonly root: string;

  constructor(root: string) {
    this.root = join(root, 'apk');
  }

  /**
   * Final path of a package: `packages/<2 hex>/<identity hex>/<source hex>.apk`, where identity hex
   * is the lower-case hex of the index `C:` digest and source hex the first 32 hex digits (128 bits)
   * of the SHA-256 of the package URL it is downloaded from.
   *
   * The identity alone is not enough: it hashes only the control member, so two repositories (two
   * builds signed by two keys, Wolfi and a local rebuild) serve files of the same identity that differ
   * in their signature member and size. Keyed by identity only, they shared one file, and each
   * process that verified it against its own index replaced the other's copy. The URL names the
   * source (repository, arch, name and version), so different sources never share a file, while
   * one URL's copy is shared by every process and client that fetches it. Two files at one path
   * can then only differ in their signature member (the identity fixes the control member, whose
   * `.PKGINFO` datahash fixes the data), and only when the repository at that URL re-signed the
   * package. The URL is hashed rather than spelled out: it may be long, hold any character, or carry
   * credentials. Files of the earlier `packages/<2 hex>/<identity hex>.apk` layout are ignored.
   */
  packagePath(key: string, url: string): string {
    const source = createHash('sha256').update(url).digest('hex').slice(0, 32);
    return join(this.root, 'packages', key.slice(0, 2), key, `${source}.apk`);
  }

  async hasFile(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  /** Streams `body` to a temporary file, runs `check(tempPath)` (which throws on bad content), then
   *  renames the file to `finalPath`, atomically replacing any file there (a reader that opened the
   *  old file keeps reading it; one that opens `finalPath` afterwards gets the new one; none finds it
   *  missing). The temporary file is removed whatever happens. */
  async store<T>(finalPath: string, body: Readable, options: StoreOptions, check: (tempPath: string) => Promise<T>): Promise<T> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(join(finalPath, '..'), { recursive: true });
    const temp = join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
    try {
      let written = 0;
      const limit = options.expectedSize ?? options.maxBytes;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          written += chunk.length;
          if (written > limit) {
            const code = options.expectedSize !== undefined ? 'APK_REPO_PACKAGE_SIZE_MISMATCH' : 'APK_REPO_PACKAGE_INVALID';
            callback(new ApkError(code, `${options.where}: more than ${limit} bytes${options.expectedSize !== undefined ? ' (the size the index gives)' : ''}`, { detail: { where: options.where, limit } }));
            return;
          }
          options.onBytes?.(chunk.length);
          callback(null, chunk);
        },
      });
      const out = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
      try {
        await pipeline(body, counter, out);
      } finally {
        // A failed pipeline may reject before the file's asynchronous open has finished: wait for
        // the stream to close, or the temporary file could appear after it was removed below.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()).destroy());
      }
      const result = await check(temp);
      await rename(temp, finalPath);
      return result;
    } finally {
      await rm(temp, { force: true });
    }
  }

  #indexPaths(url: string): { data: string; meta: string } {
    const key = createHash('sha256').update(url).digest('hex');
    return { data: join(this.root, 'indexes', `${key}.tar.gz`), meta: join(this.root, 'indexes', `${key}.json`) };
  }

  /** The cached copy of an index, if its metadata and bytes are present and agree. */
  async readIndex(url: string): Promise<{ entry: IndexCacheEntry; bytes: Buffer } | undefined> {
    const paths = this.#indexPaths(url);
    try {
      const entry = JSON.parse(await readFile(paths.meta, 'utf8')) as IndexCacheEntry;
      const bytes = await readFile(paths.data);
      if (entry.url !== url || entry.size !== bytes.length || createHash('sha256').update(bytes).digest('hex') !== entry.sha256) return undefined;
      return { entry, bytes };
    } catch {
      return undefined;
    }
  }

  /** Stores an index (bytes first, then the metadata that points at them, both atomically). */
  async writeIndex(url: string, bytes: Buffer, fetchedAt: number, validators: FetchValidators, check?: IndexCheck): Promise<void> {
    const paths = this.#indexPaths(url);
    const entry: IndexCacheEntry = { url, fetchedAt, validators, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, ...(check ? { check } : {}) };
    await writeFileAtomic(paths.data, bytes);
    await writeFileAtomic(paths.meta, `${JSON.stringify(entry)}\n`);
  }

  /** Records that the server confirmed the cached index is current. */
  async touchIndex(entry: IndexCacheEntry, fetchedAt: number): Promise<void> {
    await writeFileAtomic(this.#indexPaths(entry.url).meta, `${JSON.stringify({ ...entry, fetchedAt })}\n`);
  }

  /** Records what a full read of the cached index's bytes established (see IndexCacheEntry.check). */
  async recordIndexCheck(entry: IndexCacheEntry, check: IndexCheck): Promise<void> {
    await writeFileAtomic(this.#indexPaths(entry.url).meta, `${JSON.stringify({ ...entry, check })}\n`);
  }

  async removeIndex(url: string): Promise<void> {
    const paths = this.#indexPaths(url);
    await rm(paths.meta, { force: true });
    await rm(paths.data, { force: true });
  }
}
