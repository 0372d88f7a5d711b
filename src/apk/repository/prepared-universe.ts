// Prepared solver universes on disk: a one-shot resolve (`kiln apk resolve`) over indexes it has
// seen before opens the universe image made from them instead of parsing every record and
// building the universe again, as apt keeps pkgcache.bin and libsolv its .solv files.
import { createHash } from 'node:crypto';
import { open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists, silentLogger, writeFileAtomic } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import { Resolver, UNIVERSE_CODE_URL } from '../resolve-api.ts';
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
  options: { cache: ApkCache; logger?: Logger; storeOnFirstUse?: boolean; /** Which build makes the image (default: from the code's file). */ code?: string },
): Promise<PreparedResolver> {
  const logger = options.logger ?? silentLogger;
  const key = universeKey(indexes, arch, options.code ?? (await codeIdentity()));
  const path = imagePath(options.cache, key);
  const marker = `${path.slice(0, -'.img'.length)}.seen`;
  let existing: Buffer | undefined;
  let unusable = false;
  try {
    existing = await readPrivateFile(path);
    if (existing) {
      const { resolver, meta } = Resolver.fromImage(existing, path);
      if (JSON.stringify(meta) !== JSON.stringify(key)) throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: made from other indexes`, { detail: { file: path } });
      return { resolver, fromImage: true, stored: false, path };
    }
  } catch (error) {
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
      return { resolver, fromImage: false, stored: true, path };
    }
    await writeFileAtomic(marker, '', { mode: 0o600 });
    await prune(dirname(path), '.seen', KEPT_MARKERS, marker).catch(() => undefined);
  } catch (error) {
    // The image only saves time: a read-only or full cache leaves the answer unchanged.
    logger.warn({ url: path, reason: (error as Error).message }, 'could not store the prepared universe');
  }
  return { resolver, fromImage: false, stored: false, path };
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

/** A file's bytes when it exists, is a regular file owned by this user and writable by no one
 *  else (checked on the open handle); undefined when there is none; APK_UNIVERSE_IMAGE_INVALID otherwise. */
async function readPrivateFile(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: cannot be read (${(error as Error).message})`, { cause: error, detail: { file: path } });
  }
  try {
    const stat = await handle.stat();
    const uid = process.getuid?.();
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
      throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${path}: not a private file of this user (owner ${stat.uid}, mode ${(stat.mode & 0o7777).toString(8)})`, { detail: { file: path } });
    }
    const bytes = await handle.readFile();
    // Marks the image as used, for pruning (least recently used first).
    const now = new Date();
    await handle.utimes(now, now).catch(() => undefined);
    return bytes;
  } finally {
    await handle.close();
  }
}
