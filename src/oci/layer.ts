import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import type { Digest } from '../lib/index.ts';
import { encodeTarHeader, tarPadding, TAR_END } from './format/tar.ts';
import type { TarHeader } from './format/tar.ts';

const gzipAsync = promisify(gzip);

/** The one compressor setting every layer uses: node:zlib deflate level 6 (zlib's default), window
 *  15, memLevel 8, default strategy. Node writes a fixed gzip header (mtime 0, no name, OS 3), so
 *  the same zlib gives the same bytes; a different zlib build may not (the diff_id is unaffected). */
export const LAYER_GZIP_OPTIONS = { level: 6, windowBits: 15, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY } as const;

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
  const data = await gzipAsync(tar, LAYER_GZIP_OPTIONS);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
  return { diffId, digest, size: data.length, uncompressedSize: tar.length, data };
}
