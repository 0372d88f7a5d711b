import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ApkError, padded, TarMemberReader } from '../../apk/index.ts';
import type { TarHeader, TarSource } from '../../apk/index.ts';
import { KilnError } from '../../lib/index.ts';
import { OciError } from '../errors.ts';
import { cleanLayerPath, DEFAULT_LAYER_FILE_LIMIT } from './layer-files.ts';
import type { LayerFiles } from './layer-files.ts';

// Reads a layer as it streams in (no I/O of its own: it consumes the chunks it is given), keeping
// only the files a caller wants: memory stays at the wanted files plus a few chunks, whatever the
// layer's size, and the uncompressed digest (the config's diff id) is computed in the same pass.

/** What to check and keep while streaming a layer. */
export interface LayerStreamOptions {
  /** Largest wanted file (default 64 MiB). */
  maxFileSize?: number;
  /** The uncompressed tar must hash to this (`rootfs.diff_ids[i]`); checked once the layer has
   *  been read to its end, before anything is returned. */
  diffId?: string;
  /** Which of the config's diff ids `diffId` is, for messages. */
  diffIdIndex?: number;
}

/** Files and the uncompressed digest of one layer. */
export interface StreamedLayer extends LayerFiles {
  /** `sha256:<hex>` of the uncompressed tar. */
  diffId: string;
}

const GZIP = [0x1f, 0x8b];
/** How long an error waits for the source to close (see walkLayerStream). */
const SOURCE_CLOSE_WAIT_MS = 1000;
const ZSTD = 0xfd2fb528;

/** The content of the tar entry a {@link walkLayerStream} visitor is given. What the visitor does
 *  not read is skipped after it returns. */
export interface LayerEntryBody {
  /** The whole content (the caller has checked the size is one it will hold). */
  content(): Promise<Buffer>;
  /** The content in chunks of at most 1 MiB, for files not to be held whole. */
  chunks(): AsyncGenerator<Buffer>;
}

/** What {@link walkLayerStream} learned of the whole layer. */
export interface WalkedLayer {
  /** `sha256:<hex>` of the uncompressed tar (the config's diff id). */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
}

/** Walks the entries of a layer (gzip or plain tar, any number of gzip members) as it streams from
 *  `chunks`, handing each header and its body to `visit`, and returns the digest and size of the
 *  uncompressed tar once the source has been read to its end. The source checks
 *  its own digest (a registry or layout blob stream throws at its end when the bytes are not the
 *  blob), so a caller trusts nothing before this returns. OCI_ARCHIVE_INVALID when it is not gzip or
 *  tar; an error `visit` throws is passed on as it is. */
export async function walkLayerStream(chunks: AsyncIterable<Uint8Array>, source: string, visit: (header: TarHeader, body: LayerEntryBody) => Promise<void>): Promise<WalkedLayer> {
  const pending = chunks[Symbol.asyncIterator]();
  // Enough bytes to tell gzip and zstd from a plain tar, however the source cuts its chunks.
  const heads: Buffer[] = [];
  let headBytes = 0;
  while (headBytes < 4) {
    const next = await pending.next();
    if (next.done) break;
    heads.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    headBytes += next.value.byteLength;
  }
  const first = Buffer.concat(heads, headBytes);
  const compression = first.length >= 2 && first[0] === GZIP[0] && first[1] === GZIP[1] ? 'gzip' : first.length >= 4 && first.readUInt32LE(0) === ZSTD ? 'zstd' : 'none';
  if (compression === 'zstd') {
    await pending.return?.();
    throw new OciError('OCI_ARCHIVE_INVALID', `${source}: zstd-compressed layers are not supported`, { detail: { source } });
  }
  // The first bytes were taken to look at the magic; the stream starts with them again.
  let sourceClosed = () => {};
  const closed = new Promise<void>((resolve) => {
    sourceClosed = resolve;
  });
  const input = Readable.from((async function* () {
    try {
      if (first.length) yield first;
      for (let next = await pending.next(); !next.done; next = await pending.next()) yield next.value;
    } finally {
      // Stopped early (an error, a refused entry): the source closes its file or connection.
      try {
        await pending.return?.();
      } finally {
        sourceClosed();
      }
    }
  })(), { objectMode: false });
  const diffHash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      diffHash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // pipeline destroys every stage on the first error, so the iteration below sees it; `settled`
  // is when every stage has closed (the source's own cleanup included).
  let settle = () => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const tar = compression === 'gzip' ? pipeline(input, createGunzip(), hashing, () => settle()) : pipeline(input, hashing, () => settle());
  const reader = new TarMemberReader(streamMember(tar), source, 'oci');
  try {
    for (;;) {
      const step = await reader.next();
      if (step.kind !== 'entry') break;
      const { header } = step;
      const what = JSON.stringify(header.name);
      // Only regular files carry content in this dialect (links and directories have size 0).
      const length = header.type === 'file' ? header.size : 0;
      let left = length;
      let padding = padded(length) - length;
      await visit(header, {
        content: async () => {
          if (left !== length) throw new RangeError(`${source}: ${what}: content() after chunks()`);
          // reader.content takes the padding too
          const data = await reader.content(length, what);
          left = 0;
          padding = 0;
          return data;
        },
        chunks: async function* () {
          while (left > 0) {
            const part = await reader.readSome(Math.min(left, 1 << 20));
            if (!part) throw new ApkError('APK_TAR_INVALID', `${source}: ${what} is cut off at the end of the layer`, { detail: { file: source } });
            left -= part.length;
            yield part;
          }
        },
      });
      // whatever the visitor did not read, and the padding
      await reader.discard(left + padding, what);
    }
    // After the end-of-archive blocks (or a tar without them) the rest of the stream still counts
    // toward the digests: read it to the end, so the source verifies its own digest too.
    while (await reader.readSome(1 << 20)) {
      // drained
    }
  } catch (error) {
    // Stop reading, and let the source close its file or connection before the error goes on; a
    // source whose read is stalled closes when that read ends, which is not waited for past a second.
    tar.destroy();
    await settled;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, SOURCE_CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    if (error instanceof KilnError && !(error instanceof ApkError)) throw error;
    if (error instanceof ApkError) throw new OciError('OCI_ARCHIVE_INVALID', `${source}: not a readable tar: ${error.message}`, { cause: error, detail: { source } });
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new OciError('OCI_ARCHIVE_INVALID', `${source}: the layer is not valid gzip: ${(error as Error).message}`, { cause: error, detail: { source } });
    throw error;
  }
  return { diffId: `sha256:${diffHash.digest('hex')}`, size };
}

/** Reads a layer from `chunks` (see {@link walkLayerStream}), keeping the regular files `wanted`
 *  accepts. LIMIT_EXCEEDED when a wanted file is larger than `maxFileSize`, OCI_ARCHIVE_INVALID when
 *  `diffId` is given and the tar does not hash to it. */
export async function readLayerStream(chunks: AsyncIterable<Uint8Array>, wanted: (path: string) => boolean, source: string, options: LayerStreamOptions = {}): Promise<StreamedLayer> {
  const maxFileSize = options.maxFileSize ?? DEFAULT_LAYER_FILE_LIMIT;
  const result: StreamedLayer = { files: new Map(), whiteouts: [], opaque: [], diffId: '' };
  const walked = await walkLayerStream(chunks, source, async (header, body) => {
    const path = cleanLayerPath(header.name);
    const base = path.slice(path.lastIndexOf('/') + 1);
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    const isWhiteout = base.startsWith('.wh.');
    if (base === '.wh..wh..opq') result.opaque.push(dir);
    else if (isWhiteout) result.whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
    if (header.type !== 'file' || isWhiteout || !wanted(path)) return;
    if (header.size > maxFileSize) {
      throw new KilnError('LIMIT_EXCEEDED', `${source}: ${path} is ${header.size} bytes (limit ${maxFileSize})`, { detail: { source, path, size: header.size, limit: maxFileSize } });
    }
    // A copy: the content may be a view of a larger decompressed chunk.
    result.files.set(path, Buffer.from(await body.content()));
  });
  result.diffId = walked.diffId;
  if (options.diffId !== undefined && result.diffId !== options.diffId) {
    throw new OciError('OCI_ARCHIVE_INVALID', `${source}: its uncompressed content is ${result.diffId}, but the config's diff_ids${options.diffIdIndex === undefined ? '' : `[${options.diffIdIndex}]`} is ${options.diffId}`, { detail: { source, diffId: options.diffId, actual: result.diffId } });
  }
  return result;
}

/** The decompressed stream as the one "member" the tar reader walks: an OCI layer's tar may cross
 *  gzip member boundaries (parallel compressors write many), unlike an apk package's. */
function streamMember(stream: Readable): TarSource {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return {
    index: 0,
    async read() {
      const next = await iterator.next();
      return next.done ? null : next.value;
    },
  };
}
