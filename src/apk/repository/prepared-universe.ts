// Prepared solver universes on disk: a one-shot resolve (`kiln apk resolve`) over indexes it has
// seen before opens the universe image made from them instead of parsing every record and
// building the universe again, as apt keeps pkgcache.bin and libsolv its .solv files.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, futimesSync, openSync, readSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists, silentLogger, writeFileAtomic } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import { Resolver } from '../solver/resolve.ts';
import { UNIVERSE_CODE_URL, UNIVERSE_IMAGE_PREFIX_BYTES, universeImageLeadBytes } from '../solver/universe-image.ts';
import type { UniverseRecordReader } from '../solver/universe-image.ts';
import type { ApkCache } from './cache.ts';
import type { VerifiedRepositoryIndex } from './client.ts';
import { resolveRepository } from './plan.ts';

/** A resolver over verified indexes, and whether it came from a stored image. */
export interface PreparedResolver {
  resolver: Resolver;
  fromImage: boolean;
  /** An image was stored by this call. */
  stored: boolean;
  /** Path of the image (read, or to be written). */
  path: string;
  /** Releases the image file a resolver from an image reads its records from; its records are
   *  unreadable after that. Safe to call more than once. */
  close(): void;
}

/**
 * What an image is made from and keyed by: the exact index bytes (their digests, which the client
 * checked against a signature moments ago), the key that signed each under today's keyring, the
 * repositories' names and tags in priority order, and the architecture. An image is used only when
 * all of these match, so it answers exactly as a universe built from the records would.
 */
function universeKey(indexes: readonly VerifiedRepositoryIndex[], arch: string, code: string): unknown {
  return {
    code,
    arch,
    repositories: indexes.map((index) => ({ name: index.repository.url, tag: index.repository.tag ?? null, digest: index.digest, signedBy: index.signedBy ?? null })),
  };
}

/** Where the image for a key lives: `<cache>/apk/universes/<sha256 of the key>.img`. */
function imagePath(cache: ApkCache, key: unknown): string {
  return join(cache.root, 'universes', `${createHash('sha256').update(JSON.stringify(key)).digest('hex')}.img`);
}

export interface PreparedResolverOptions {
  cache: ApkCache;
  logger?: Logger;
  storeOnFirstUse?: boolean;
  /** Which build makes the image (default: from the code's file). */
  code?: string;
  /** Builds the universe from the records and replaces the image, without reading it. */
  rebuild?: boolean;
}

/**
 * Runs `use` (a resolve, say) on the resolver for verified indexes, then releases it. Records are
 * read from an image as the solve asks for them, after the image was opened and its body checked:
 * a record found damaged then gets a warning, and `use` runs again on the universe built from the
 * records, which replaces the image at once.
 */
export async function withPreparedResolver<T>(
  indexes: readonly VerifiedRepositoryIndex[],
  arch: string,
  options: PreparedResolverOptions,
  use: (resolver: Resolver) => T,
): Promise<T> {
  const prepared = await openPreparedResolver(indexes, arch, options);
  try {
    return use(prepared.resolver);
  } catch (error) {
    if (!prepared.fromImage || !(error instanceof ApkError) || error.code !== 'APK_UNIVERSE_IMAGE_INVALID') throw error;
    (options.logger ?? silentLogger).warn({ url: prepared.path, code: error.code, reason: error.message }, 'prepared universe unusable, rebuilding it');
  } finally {
    prepared.close();
  }
  const rebuilt = await openPreparedResolver(indexes, arch, { ...options, rebuild: true });
  try {
    return use(rebuilt.resolver);
  } finally {
    rebuilt.close();
  }
}

/**
 * The resolver for verified indexes: opened from the stored image when one matches them, else built
 * from their records. Storing an image costs more than the run it is made in saves, so it is stored
 * (atomically, private to the user) the second time the same indexes are seen: a one-off run, as
 * in a fresh CI container, only leaves a marker (`.seen`). `storeOnFirstUse` stores at once. An
 * image that is damaged, foreign or writable by others is ignored with a warning and replaced.
 * Only the process's own user may have written it: like the index copies beside it, it lives in
 * the user's cache, and an image is trusted for what it says the verified index bytes contain.
 */
export async function openPreparedResolver(
  indexes: readonly VerifiedRepositoryIndex[],
  arch: string,
  options: PreparedResolverOptions,
): Promise<PreparedResolver> {
  const logger = options.logger ?? silentLogger;
  const key = universeKey(indexes, arch, options.code ?? (await codeIdentity()));
  const path = imagePath(options.cache, key);
  const marker = `${path.slice(0, -'.img'.length)}.seen`;
  let existing: OpenImage | undefined;
  let unusable = options.rebuild === true;
  try {
    if (!unusable) existing = openPrivateImage(path);
    if (existing) {
      const { resolver, meta } = Resolver.fromImage(existing.lead, path, existing.readRecords);
      if (JSON.stringify(meta) !== JSON.stringify(key)) throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: made from other indexes`, { detail: { file: path } });
      const close = existing.close;
      imageFiles.register(resolver, close, close);
      return { resolver, fromImage: true, stored: false, path, close: () => { imageFiles.unregister(close); close(); } };
    }
  } catch (error) {
    existing?.close();
    if (!(error instanceof ApkError)) throw error;
    logger.warn({ url: path, code: error.code, reason: error.message }, 'prepared universe unusable, rebuilding it');
    unusable = true;
  }
  // An unusable image is replaced at once, not after another sighting of the indexes.
  const replace = unusable || existing !== undefined;
  const resolver = new Resolver({
    repositories: await Promise.all(indexes.map(async (index) => resolveRepository(index.repository, await index.records()))),
    arch,
  });
  try {
    if (replace || options.storeOnFirstUse || (await pathExists(marker))) {
      await writeFileAtomic(path, resolver.toImage(key), { mode: 0o600 });
      // Housekeeping: a failure here leaves a stale file behind, not a missing image.
      await rm(marker, { force: true }).catch(() => undefined);
      await prune(dirname(path), '.img', KEPT_UNIVERSE_IMAGES, path).catch(() => undefined);
      return { resolver, fromImage: false, stored: true, path, close: noClose };
    }
    await writeFileAtomic(marker, '', { mode: 0o600 });
    await prune(dirname(path), '.seen', KEPT_MARKERS, marker).catch(() => undefined);
  } catch (error) {
    // The image only saves time: a read-only or full cache leaves the answer unchanged.
    logger.warn({ url: path, reason: (error as Error).message }, 'could not store the prepared universe');
  }
  return { resolver, fromImage: false, stored: false, path, close: noClose };
}

/** Which build of Kiln makes and reads images: the size and modification time of the file holding
 *  its solver code (rewritten by every build). An image made by another build is not used. */
async function codeIdentity(): Promise<string> {
  try {
    const { size, mtimeMs } = await stat(fileURLToPath(UNIVERSE_CODE_URL));
    return `${size}-${mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

/** How many images are kept: each set of indexes (a day's Wolfi index, another architecture, other
 *  repositories) has its own, several MiB each; the least recently used go first. */
export const KEPT_UNIVERSE_IMAGES = 8;

/** How many markers of indexes seen once are kept. */
const KEPT_MARKERS = 64;

/** Removes all but the `kept` most recently used files ending in `suffix` (an image's modification
 *  time is renewed each time it is opened). Another process's file being written has a temporary name. */
async function prune(dir: string, suffix: string, kept: number, keep: string): Promise<void> {
  const images: Array<{ path: string; used: number }> = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith(suffix)) continue;
    const path = join(dir, name);
    try {
      images.push({ path, used: (await stat(path)).mtimeMs });
    } catch {
      // Removed meanwhile by another process.
    }
  }
  images.sort((a, b) => b.used - a.used);
  for (const image of images.slice(kept)) if (image.path !== keep) await rm(image.path, { force: true });
}

const noClose = (): void => undefined;

/** Closes the image file of a resolver dropped without close(). */
const imageFiles = new FinalizationRegistry<() => void>((close) => close());

/** An image file opened for reading: its lead bytes (universeImageLeadBytes), a reader of the
 *  records after them, and the handle's release. */
interface OpenImage {
  lead: Buffer;
  readRecords: UniverseRecordReader;
  close: () => void;
}

/**
 * The image at `path` when it exists, is a regular file owned by this user and writable by no one
 * else (checked on the open descriptor, which the records are read through later: a replacement
 * renamed over the path meanwhile is not mixed in); undefined when there is none;
 * APK_UNIVERSE_IMAGE_INVALID otherwise. Reads are synchronous: a few, of a local file, in a row.
 */
function openPrivateImage(path: string): OpenImage | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw unreadable(path, error);
  }
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  try {
    const stat = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
      throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: not a private file of this user (owner ${stat.uid}, mode ${(stat.mode & 0o7777).toString(8)})`, { detail: { file: path } });
    }
    const prefix = readAt(fd, 0, UNIVERSE_IMAGE_PREFIX_BYTES, path);
    const length = universeImageLeadBytes(prefix, path);
    if (length > stat.size) throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: ${stat.size} bytes, shorter than its body (${length})`, { detail: { file: path } });
    const lead = readAt(fd, 0, length, path);
    // Marks the image as used, for pruning (least recently used first).
    try {
      const now = new Date();
      futimesSync(fd, now, now);
    } catch {
      // A read-only cache still answers.
    }
    const readRecords: UniverseRecordReader = (offset, size) => {
      if (!open) throw new Error(`${path}: the prepared universe was closed`);
      return readAt(fd, length + offset, size, path);
    };
    return { lead, readRecords, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** Up to `length` bytes of the file from `position` (fewer only at its end). */
function readAt(fd: number, position: number, length: number, path: string): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  try {
    while (filled < length) {
      const read = readSync(fd, bytes, filled, length - filled, position + filled);
      if (read === 0) break;
      filled += read;
    }
  } catch (error) {
    throw unreadable(path, error);
  }
  return bytes.subarray(0, filled);
}

function unreadable(path: string, error: unknown): ApkError {
  return new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: cannot be read (${(error as Error).message})`, { cause: error, detail: { file: path } });
}
