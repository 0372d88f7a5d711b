import { constants as bufferConstants } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import type { Stats } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { digestWith, isDigest, KilnError, parseDigest, pathExists, verifyChunks } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { allBlobs, blobDescriptor } from './artifacts.ts';
import type { BuiltIndex } from './artifacts.ts';
import { goJsonBytes } from './format/json.ts';
import { imageIndexDocument } from './format/image.ts';
import type { Descriptor } from './format/image.ts';
import { OciError } from './errors.ts';

/** Options of {@link writeOciLayout}. */
export interface WriteLayoutOptions {
  /** Tag recorded as `org.opencontainers.image.ref.name` on the index in index.json (umoci, skopeo use it). */
  refName?: string;
  /** Replace an existing directory instead of failing with FILE_EXISTS. */
  overwrite?: boolean;
}


/** Writes an OCI image layout (oci-layout, index.json, blobs/sha256/*) atomically: everything goes
 *  into a temporary sibling directory that is renamed into place at the end. index.json holds the
 *  image index annotated with the ref name (and, for several images, one ref per arch). */
export async function writeOciLayout(dir: string, built: BuiltIndex, options: WriteLayoutOptions = {}): Promise<void> {
  if (!options.overwrite && (await pathExists(dir))) {
    throw new KilnError('FILE_EXISTS', `${dir}: already exists (remove it or pass the overwrite flag)`, { detail: { path: dir } });
  }
  await mkdir(dirname(dir), { recursive: true });
  const temp = join(dirname(dir), `.${basename(dir)}.${randomBytes(6).toString('hex')}.tmp`);
  let committed = false;
  try {
    await mkdir(join(temp, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(temp, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    for (const item of allBlobs(built)) {
      await writeFile(join(temp, 'blobs', 'sha256', item.digest.slice('sha256:'.length)), item.data);
    }
    const annotations: Record<string, string> = options.refName ? { 'org.opencontainers.image.ref.name': options.refName } : {};
    // With several images, each also gets `<ref>-<arch><variant>` so tools that cannot choose a
    // platform from a nested index (umoci) can address one image.
    const perArch =
      options.refName && built.images.length > 1
        ? built.images.map((image) =>
            blobDescriptor(image.manifest, {
              platform: image.platform,
              annotations: { 'org.opencontainers.image.ref.name': `${options.refName!}-${image.platform.architecture}${image.platform.variant ?? ''}` },
            }),
          )
        : [];
    await writeFile(join(temp, 'index.json'), goJsonBytes(imageIndexDocument([blobDescriptor(built.index, { annotations }), ...perArch])));
    if (options.overwrite && (await pathExists(dir))) await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
    committed = true;
  } finally {
    if (!committed) await rm(temp, { recursive: true, force: true });
  }
}

/** What a non-regular file is, for messages. */
function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}

/** The largest manifest or index read from a layout: what registries accept by default (4 MiB). */
export const LAYOUT_MANIFEST_LIMIT = 4 * 1024 * 1024;

/**
 * Reads a blob from a layout (`blobs/<algorithm>/<hex>`) and verifies its digest. The blob must be,
 * or link to, a regular file (a pipe or /dev/zero would hang or never end; tools such as Bazel's
 * rules_oci lay out blobs as links) and, given a descriptor, exactly its size; with `maxBytes`, at most
 * that (LIMIT_EXCEEDED, before anything is read). OCI_LAYOUT_INVALID
 * otherwise; a missing blob is the file system's error (ENOENT), so callers can tell it apart.
 */
export async function readLayoutBlob(dir: string, blob: Digest | Pick<Descriptor, 'digest' | 'size'>, options: { maxBytes?: number } = {}): Promise<Buffer> {
  const { digest, algorithm, path, info, fail } = await statLayoutBlob(dir, blob);
  const limit = Math.min(options.maxBytes ?? Infinity, bufferConstants.MAX_LENGTH);
  if (info.size > limit) {
    const why = limit === bufferConstants.MAX_LENGTH ? 'more than fits in memory' : `more than the ${limit} bytes allowed for it`;
    throw new KilnError('LIMIT_EXCEEDED', `${dir}: blob ${digest} is ${info.size} bytes, ${why}`, { detail: { dir, digest, size: info.size, limit } });
  }
  const handle = await openStatted(path, info, fail);
  try {
    const data = Buffer.alloc(info.size);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) throw fail(`ends after ${filled} of ${info.size} bytes`);
      filled += bytesRead;
    }
    if (digestWith(data, algorithm) !== digest) throw fail('does not match its digest');
    return data;
  } finally {
    await handle.close();
  }
}

/**
 * Streams a blob from a layout with the checks of {@link readLayoutBlob} (a regular file of the
 * descriptor's size when one is given, the file that was checked and not one swapped in since), in
 * chunks, without holding it: for layers larger than memory. The digest is checked at the end: the
 * iteration throws OCI_LAYOUT_INVALID there when the bytes are not the blob, so a consumer trusts
 * nothing it derived before the iteration completed.
 */
export async function* streamLayoutBlob(dir: string, blob: Digest | Pick<Descriptor, 'digest' | 'size'>): AsyncGenerator<Buffer> {
  const { digest, path, info, fail } = await statLayoutBlob(dir, blob);
  const handle = await openStatted(path, info, fail);
  try {
    yield* verifyChunks(fileChunks(handle, info.size, fail), digest, () => fail('does not match its digest'));
  } finally {
    await handle.close();
  }
}

/** A layout blob's path and file status, checked as both readers check it before opening: a digest
 *  Kiln verifies, a regular file, the descriptor's size when one is given. */
async function statLayoutBlob(dir: string, blob: Digest | Pick<Descriptor, 'digest' | 'size'>) {
  const { digest, size } = typeof blob === 'string' ? { digest: blob, size: undefined } : blob;
  const fail = (why: string, detail: Record<string, unknown> = {}): OciError =>
    new OciError('OCI_LAYOUT_INVALID', `${dir}: blob ${digest} ${why}`, { detail: { dir, digest, ...detail } });
  if (!isDigest(digest)) throw fail('is not a digest of an algorithm Kiln verifies');
  const { algorithm, hex } = parseDigest(digest);
  const path = join(dir, 'blobs', algorithm, hex);
  const info = await stat(path);
  if (!info.isFile()) throw fail(`is ${fileKind(info)}, not a regular file`);
  if (size !== undefined && info.size !== size) throw fail(`is ${info.size} bytes, its descriptor says ${size}`, { size: info.size, expected: size });
  return { digest, algorithm, path, info, fail };
}

/** Opens the file `stat` saw: the path may have been swapped for a pipe since, so never block on it
 *  and refuse another file. */
async function openStatted(path: string, info: Stats, fail: (why: string) => OciError): Promise<FileHandle> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) throw fail('was replaced while being read');
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The first `size` bytes of an open file, in chunks of at most 1 MiB. */
async function* fileChunks(handle: FileHandle, size: number, fail: (why: string) => OciError): AsyncGenerator<Buffer> {
  for (let position = 0; position < size; ) {
    const chunk = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, size - position));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) throw fail(`ends after ${position} of ${size} bytes`);
    position += bytesRead;
    yield chunk.subarray(0, bytesRead);
  }
}

const STREAM_CHUNK = 1 << 20;
