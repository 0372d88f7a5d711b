import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import type { Digest } from '../lib/index.ts';
import { encodeTarHeader, tarPadding, TAR_END } from './format/tar.ts';
import type { TarHeader } from './format/tar.ts';

const deflateRawAsync = promisify(deflateRaw);

/** The one compressor setting every layer uses: node:zlib raw deflate, level 6 (zlib's default),
 *  window 15, memLevel 8, default strategy, in independent 1 MiB blocks (below). The same zlib gives
 *  the same bytes; a different zlib build may not (the diff_id is unaffected). */
export const LAYER_GZIP_OPTIONS = { level: 6, windowBits: 15, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY } as const;

/** Block size of the parallel compressor. Fixed: changing it changes every layer digest. */
export const LAYER_GZIP_BLOCK = 1024 * 1024;

/** A fixed gzip header: deflate, no flags, mtime 0, no extra flags, OS 3 (Unix). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

/**
 * Deterministic parallel gzip, the technique of pgzip (which apko uses): the input is cut into
 * fixed 1 MiB blocks, each block is raw-deflated on the libuv thread pool with the previous 32 KiB
 * as preset dictionary and ends with a sync flush (the last one with the final block), and the
 * pieces are joined into one gzip member with the CRC-32 and length of the whole. The output depends
 * only on the input and the zlib build, not on scheduling; it is about as small as single-stream
 * gzip and uses every core.
 */
export async function parallelGzip(data: Uint8Array): Promise<Buffer> {
  const blocks: Promise<Buffer>[] = [];
  for (let start = 0; start < data.length || start === 0; start += LAYER_GZIP_BLOCK) {
    const end = Math.min(start + LAYER_GZIP_BLOCK, data.length);
    const isLast = end >= data.length;
    const dictionary = start > 0 ? data.subarray(Math.max(0, start - 32 * 1024), start) : undefined;
    blocks.push(
      deflateRawAsync(data.subarray(start, end), {
        ...LAYER_GZIP_OPTIONS,
        ...(dictionary ? { dictionary } : {}),
        finishFlush: isLast ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      }),
    );
    if (isLast) break;
  }
  const body = await Promise.all(blocks);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([GZIP_HEADER, ...body, trailer]);
}

/** A finished layer: compressed bytes plus both digests. */
export interface LayerBlob {
  /** sha256 of the uncompressed tar (rootfs.diff_ids). */
  diffId: Digest;
  /** sha256 of the gzip bytes (manifest layer digest). */
  digest: Digest;
  /** Length of the gzip bytes. */
  size: number;
  /** Length of the uncompressed tar. */
  uncompressedSize: number;
  data: Uint8Array;
}

/** Collects tar entries of one layer in order, then compresses and hashes them. */
export class LayerBuilder {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private entries = 0;

  /** Appends an entry; `content` is required for regular files and its length is the size. */
  add(header: TarHeader, content?: Uint8Array): void {
    const sized = header.type === 'file' ? { ...header, size: content?.length ?? 0 } : header;
    this.push(encodeTarHeader(sized));
    if (header.type === 'file' && content && content.length > 0) {
      this.push(content);
      this.push(tarPadding(content.length));
    }
    this.entries++;
  }

  get entryCount(): number {
    return this.entries;
  }

  private push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Ends the archive and compresses it (on the libuv thread pool, so layers compress in parallel). */
  async finish(): Promise<LayerBlob> {
    this.push(TAR_END);
    const tar = Buffer.concat(this.chunks, this.length);
    return compressLayer(tar);
  }
}

/** Compresses an uncompressed layer tar and computes its digests. */
export async function compressLayer(tar: Uint8Array): Promise<LayerBlob> {
  const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}` as Digest;
  const data = await parallelGzip(tar);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
  return { diffId, digest, size: data.length, uncompressedSize: tar.length, data };
}
