import { constants as bufferConstants } from 'node:buffer';
import { createInflateRaw, crc32, inflateRawSync } from 'node:zlib';
import type { InflateRaw } from 'node:zlib';
import { KilnError } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';

// apk v2 files are concatenated gzip members whose boundaries carry meaning (signature | control |
// data), but Node's gunzip silently continues across members. So the header and trailer are parsed
// here and only the deflate body goes through a native raw inflater; `bytesWritten` of a finished
// raw inflater is exactly the number of compressed bytes it consumed, which gives the boundary
// without giving up native inflate speed (pako, a pure-JS inflater that reports positions, took
// 2.5-4x the CPU time of native inflate on 32 MiB of mixed data on this machine).

const HEADER_LIMIT = 64 * 1024;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** What the bytes at the start of a member say about its header: its length, how many bytes are
 *  needed to tell, or what is wrong with it. */
type HeaderScan = { length: number } | { need: number } | { fault: string };

/**
 * The gzip header rules (RFC 1952) for both readers: magic, deflate method, no reserved flags,
 * FEXTRA/FNAME/FCOMMENT skipped, FHCRC checked, at most HEADER_LIMIT bytes. `bytes` starts at the
 * member; `index` is the member's position in the file (the first one gets clearer messages).
 */
function scanGzipHeader(bytes: Uint8Array, index: number): HeaderScan {
  const need = (count: number): HeaderScan => (count > HEADER_LIMIT ? { fault: `header is longer than ${HEADER_LIMIT} bytes` } : { need: count });
  if (bytes.length < 10) return need(10);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    return { fault: index === 0 ? 'not a gzip file (bad magic)' : 'trailing bytes after the last gzip member are not a gzip member' };
  }
  if (bytes[2] !== 8) return { fault: `unsupported compression method ${bytes[2]}` };
  const flags = bytes[3]!;
  if (flags & 0xe0) return { fault: `reserved header flags set (0x${flags.toString(16)})` };
  let length = 10;
  if (flags & FEXTRA) {
    if (bytes.length < length + 2) return need(length + 2);
    length += 2 + (bytes[length]! | (bytes[length + 1]! << 8));
    if (length > HEADER_LIMIT || bytes.length < length) return need(length);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const zero = bytes.indexOf(0, length);
    if (zero < 0) return need(Math.max(bytes.length, length) + 1);
    length = zero + 1;
    if (length > HEADER_LIMIT) return need(length);
  }
  if (flags & FHCRC) {
    if (length + 2 > HEADER_LIMIT || bytes.length < length + 2) return need(length + 2);
    const expected = bytes[length]! | (bytes[length + 1]! << 8);
    if ((crc32(bytes.subarray(0, length)) & 0xffff) !== expected) return { fault: 'header CRC mismatch' };
    length += 2;
  }
  return { length };
}

/** Where one gzip member sat in the input, reported when it has been fully read. */
export interface GzipMemberInfo {
  /** 0-based position of the member in the file. */
  index: number;
  /** Offset of the member's first byte in the input. */
  offset: number;
  /** Compressed length: gzip header through trailer. */
  compressedSize: number;
  /** Decompressed length. */
  size: number;
}

/** Receives every compressed byte of the current member, in order (header, body, trailer). */
export type CompressedSink = (bytes: Buffer) => void;

/** One gzip member being inflated; read it to the end before asking for the next member. */
export interface GzipMember {
  readonly index: number;
  readonly offset: number;
  /** Next decompressed chunk, or null at the end of this member (trailer checked). */
  read(): Promise<Buffer | null>;
  /** Set once `read()` has returned null. */
  readonly info: GzipMemberInfo | undefined;
}

/** The compressed chunks handed to an inflater that it may not have consumed yet: consumed bytes
 *  are passed to the member's sink in order, and what is left after the deflate stream ends belongs
 *  to the trailer and the next members. */
class CompressedLedger {
  #chunks: Buffer[] = [];
  #start = 0; // inflater-relative offset of #chunks[0]
  #reported = 0; // inflater-relative bytes already passed to the sink

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  /** Passes bytes up to `consumed` to the sink and forgets chunks that were consumed whole. */
  report(consumed: number, sink: CompressedSink): void {
    while (this.#reported < consumed && this.#chunks.length > 0) {
      const head = this.#chunks[0]!;
      const headEnd = this.#start + head.length;
      const upTo = Math.min(consumed, headEnd);
      if (upTo > this.#reported) sink(head.subarray(this.#reported - this.#start, upTo - this.#start));
      this.#reported = upTo;
      if (upTo === headEnd) {
        this.#chunks.shift();
        this.#start = headEnd;
      } else break;
    }
  }

  /** The bytes past `consumed`, in order; the ledger is empty afterwards. */
  takeLeftover(consumed: number): Buffer[] {
    const leftover: Buffer[] = [];
    for (const chunk of this.#chunks) {
      const start = Math.max(0, consumed - this.#start);
      if (start < chunk.length) leftover.push(chunk.subarray(start));
      this.#start += chunk.length;
    }
    this.#chunks = [];
    return leftover;
  }
}

/** Resolves when the inflater can take more input, or will never need any (ended, failed, closed). */
function waitWritable(inflater: InflateRaw): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      inflater.off('drain', done);
      inflater.off('end', done);
      inflater.off('error', done);
      inflater.off('close', done);
      resolve();
    };
    inflater.on('drain', done);
    inflater.on('end', done);
    inflater.on('error', done);
    inflater.on('close', done);
  });
}

/** What a zlib failure means for the member: input cut short, or corrupt deflate data. */
function inflateFailureMessage(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code === 'Z_BUF_ERROR' || /unexpected end/i.test(String((error as Error)?.message))
    ? 'truncated (input ends inside the compressed data)'
    : `corrupt deflate data (${(error as Error)?.message ?? String(error)})`;
}

/**
 * Splits a byte stream into gzip members and inflates them one at a time. The next member is
 * not touched until the previous one is read to its end, so a caller can decide how to hash a
 * member (which it learns from the previous member's content) before any of its bytes arrive.
 */
export class GzipMemberReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Buffer[] = [];
  private sourceDone = false;
  private position = 0;
  private memberCount = 0;
  private active = false;
  private inflating: InflateRaw | undefined;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly name: string,
    private readonly maxMemberSize = Number.MAX_SAFE_INTEGER,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Compressed bytes consumed so far (the offset of the next member). */
  get offset(): number {
    return this.position;
  }

  /** Starts the next member, or returns null at a clean end of input. `maxSize` caps its decompressed size. */
  async next(sink: CompressedSink = () => {}, maxSize = this.maxMemberSize): Promise<GzipMember | null> {
    if (this.active) throw new Error('GzipMemberReader.next: previous member not read to its end');
    if (!(await this.fill(1))) return null;
    this.active = true;
    const index = this.memberCount++;
    const offset = this.position;
    const header = await this.readHeader(index, offset);
    sink(header);
    this.position += header.length;
    return this.inflate(index, offset, sink, maxSize);
  }

  /** Releases the source (for callers that stop early). */
  async close(): Promise<void> {
    this.pending = [];
    this.inflating?.destroy();
    this.inflating = undefined;
    if (!this.sourceDone) {
      this.sourceDone = true;
      await this.iterator.return?.();
    }
  }

  private fault(message: string, offset: number, cause?: unknown): ApkError {
    return new ApkError('APK_GZIP_INVALID', `${this.name}: gzip member at byte ${offset}: ${message}`, {
      cause,
      detail: { file: this.name, offset },
    });
  }

  private buffered(): number {
    let total = 0;
    for (const chunk of this.pending) total += chunk.length;
    return total;
  }

  /** Ensures at least `count` bytes are pending; false if the input ends first. */
  private async fill(count: number): Promise<boolean> {
    let have = this.buffered();
    while (have < count) {
      const chunk = await this.pull();
      if (!chunk) return false;
      this.pending.push(chunk);
      have += chunk.length;
    }
    return true;
  }

  private async pull(): Promise<Buffer | null> {
    if (this.sourceDone) return null;
    for (;;) {
      let result: IteratorResult<Uint8Array>;
      try {
        result = await this.iterator.next();
      } catch (error) {
        this.sourceDone = true;
        if (error instanceof KilnError) throw error;
        throw new KilnError('IO', `${this.name}: cannot read: ${(error as Error)?.message ?? String(error)}`, { cause: error, detail: { file: this.name } });
      }
      if (result.done) {
        this.sourceDone = true;
        return null;
      }
      if (result.value.length > 0) return Buffer.from(result.value.buffer, result.value.byteOffset, result.value.length);
    }
  }

  /** The first `count` pending bytes (caller has ensured they exist), without consuming them. */
  private peek(count: number): Buffer {
    if (this.pending.length > 1 && this.pending[0]!.length < count) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!.subarray(0, count);
  }

  private take(count: number): Buffer {
    const bytes = Buffer.from(this.peek(count));
    let left = count;
    while (left > 0) {
      const head = this.pending[0]!;
      if (head.length <= left) {
        this.pending.shift();
        left -= head.length;
      } else {
        this.pending[0] = head.subarray(left);
        left = 0;
      }
    }
    return bytes;
  }

  private async readHeader(index: number, offset: number): Promise<Buffer> {
    let want = 10;
    for (;;) {
      if (!(await this.fill(want))) throw this.fault(index === 0 ? 'not a gzip file (input too short)' : 'truncated header', offset);
      const scan = scanGzipHeader(this.peek(Math.min(this.buffered(), HEADER_LIMIT)), index);
      if ('length' in scan) return this.take(scan.length);
      if ('fault' in scan) throw this.fault(scan.fault, offset);
      want = scan.need;
    }
  }

  private inflate(index: number, offset: number, sink: CompressedSink, maxSize: number): GzipMember {
    const inflater: InflateRaw = createInflateRaw({ chunkSize: 1024 * 1024 });
    this.inflating = inflater;
    const ledger = new CompressedLedger();
    let ended = false;
    let failure: unknown;
    let sourceError: unknown;
    let size = 0;
    let crc = 0;
    let info: GzipMemberInfo | undefined;
    let wake: (() => void) | undefined;
    const signal = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    inflater.on('readable', signal);
    inflater.on('end', () => {
      ended = true;
      signal();
    });
    inflater.on('error', (error) => {
      failure ??= error;
      signal();
    });

    const report = (): void => ledger.report(inflater.bytesWritten, sink);

    const pump = async (): Promise<void> => {
      try {
        while (!ended && failure === undefined && sourceError === undefined) {
          const chunk = this.pending.shift() ?? (await this.pull());
          if (!chunk) {
            inflater.end();
            return;
          }
          if (ended || failure !== undefined) {
            this.pending.unshift(chunk);
            return;
          }
          ledger.push(chunk);
          if (!inflater.write(chunk)) await waitWritable(inflater);
        }
      } catch (error) {
        // The input failed (I/O error, size limit): not a gzip fault, so it is reported as itself.
        sourceError ??= error;
        signal();
      }
    };
    const pumping = pump();
    const rethrowSourceError = async (): Promise<void> => {
      if (sourceError === undefined) return;
      inflater.destroy();
      this.active = false;
      if (sourceError instanceof KilnError) throw sourceError;
      throw new KilnError('IO', `${this.name}: reading failed: ${(sourceError as Error)?.message ?? String(sourceError)}`, { cause: sourceError, detail: { file: this.name } });
    };

    const finish = async (): Promise<void> => {
      await pumping;
      await rethrowSourceError();
      report();
      const consumed = inflater.bytesWritten;
      // Whatever the inflater did not consume belongs to the trailer and the following members.
      this.pending = [...ledger.takeLeftover(consumed), ...this.pending];
      inflater.destroy();
      this.position += consumed;
      if (!(await this.fill(8))) throw this.fault('truncated (no gzip trailer)', offset);
      const trailer = this.take(8);
      sink(trailer);
      this.position += 8;
      if (trailer.readUInt32LE(0) !== crc >>> 0) throw this.fault('CRC-32 mismatch (corrupt data)', offset);
      if (trailer.readUInt32LE(4) !== size % 2 ** 32) throw this.fault('length mismatch in trailer (corrupt data)', offset);
      info = { index, offset, compressedSize: this.position - offset, size };
      this.active = false;
    };

    const abort = async (error: unknown): Promise<never> => {
      inflater.destroy();
      await pumping.catch(() => {});
      this.active = false;
      if (error instanceof ApkError) throw error;
      throw this.fault(inflateFailureMessage(error), offset, error);
    };

    return {
      index,
      offset,
      get info() {
        return info;
      },
      read: async (): Promise<Buffer | null> => {
        if (info) return null;
        for (;;) {
          await rethrowSourceError();
          if (failure !== undefined) return abort(failure);
          const chunk = inflater.read() as Buffer | null;
          if (chunk) {
            report();
            size += chunk.length;
            if (size > maxSize) return abort(new ApkError('APK_LIMIT_EXCEEDED', `${this.name}: gzip member ${index} inflates to more than ${maxSize} bytes`, { detail: { file: this.name, member: index, limit: maxSize } }));
            crc = crc32(chunk, crc);
            return chunk;
          }
          if (ended) {
            try {
              await finish();
            } catch (error) {
              this.active = false;
              throw error;
            }
            return null;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      },
    };
  }
}

/** One gzip member found in a buffer: its exact bytes and what they inflate to. */
export interface GzipMemberBytes {
  /** 0-based position of the member in the file. */
  index: number;
  /** Offset of the member's first byte in the buffer. */
  offset: number;
  /** Offset just past the member's trailer. */
  end: number;
  /** The compressed member, header through trailer (a view of the buffer). */
  bytes: Buffer;
  /** Decompressed content. */
  content: Buffer;
}

/** Options of {@link readGzipMember} and {@link splitGzipMembers}. */
export interface GzipBufferOptions {
  /** Names the input in messages (they start with `<name>: `) and in `detail`. */
  name?: string;
  /** Largest decompressed size of one member; more is APK_LIMIT_EXCEEDED. */
  maxMemberSize?: number;
  /** Largest decompressed size of all members together ({@link splitGzipMembers} only): many small
   *  members can each stay under `maxMemberSize` and still inflate without bound. */
  maxTotalSize?: number;
}

/**
 * Reads the gzip member at `offset` of a buffer with the same header, trailer and limit rules as
 * GzipMemberReader (for inputs already in memory, such as the head of a package). Returns null when
 * the buffer ends before the member does (more input could complete it); a member that is wrong
 * whatever follows is APK_GZIP_INVALID. `index` is the member's position in the file.
 */
export function readGzipMember(buffer: Buffer, offset: number, index: number, options: GzipBufferOptions = {}): GzipMemberBytes | null {
  const { name, maxMemberSize = Number.MAX_SAFE_INTEGER } = options;
  const fault = (message: string, cause?: unknown): ApkError =>
    new ApkError('APK_GZIP_INVALID', `${name === undefined ? '' : `${name}: `}gzip member at byte ${offset}: ${message}`, { cause, detail: { file: name, offset } });
  const scan = scanGzipHeader(buffer.subarray(offset, offset + HEADER_LIMIT), index);
  if ('fault' in scan) throw fault(scan.fault);
  if ('need' in scan) return null;
  const bodyStart = offset + scan.length;
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    inflated = inflateRawSync(buffer.subarray(bodyStart), { info: true, maxOutputLength: Math.min(maxMemberSize, bufferConstants.MAX_LENGTH) }) as unknown as typeof inflated;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(String((error as Error)?.message))) return null;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ApkError('APK_LIMIT_EXCEEDED', `${name === undefined ? '' : `${name}: `}gzip member ${index} inflates to more than ${maxMemberSize} bytes`, { cause: error, detail: { file: name, member: index, limit: maxMemberSize } });
    }
    throw fault(`corrupt deflate data (${(error as Error)?.message ?? String(error)})`, error);
  }
  const content = inflated.buffer;
  const trailer = bodyStart + inflated.engine.bytesWritten;
  const end = trailer + 8;
  if (end > buffer.length) return null;
  if (buffer.readUInt32LE(trailer) !== crc32(content) >>> 0) throw fault('CRC-32 mismatch (corrupt data)');
  if (buffer.readUInt32LE(trailer + 4) !== content.length % 2 ** 32) throw fault('length mismatch in trailer (corrupt data)');
  return { index, offset, end, bytes: buffer.subarray(offset, end), content };
}

/** Every member's content of a whole file held in memory, joined (a single member is not copied). */
export function inflateGzipMembers(buffer: Buffer, options: GzipBufferOptions = {}): Buffer {
  const members = splitGzipMembers(buffer, options);
  return members.length === 1 ? members[0]!.content : Buffer.concat(members.map((member) => member.content));
}

/** Splits a whole file held in memory into its gzip members (same rules as GzipMemberReader); a
 *  file that ends inside a member is APK_GZIP_INVALID. */
export function splitGzipMembers(buffer: Buffer, options: GzipBufferOptions = {}): GzipMemberBytes[] {
  const { maxMemberSize = Number.MAX_SAFE_INTEGER, maxTotalSize = Number.MAX_SAFE_INTEGER } = options;
  const members: GzipMemberBytes[] = [];
  let total = 0;
  for (let offset = 0; offset < buffer.length; ) {
    // The member may use what the earlier ones left of the total (plus one byte, to tell "exactly
    // the rest" from "more"), so a bomb stops inflating as soon as the total is spent.
    const left = maxTotalSize - total;
    let member: GzipMemberBytes | null;
    try {
      member = readGzipMember(buffer, offset, members.length, { ...options, maxMemberSize: Math.min(maxMemberSize, left + 1) });
    } catch (error) {
      if (!(error instanceof ApkError && error.code === 'APK_LIMIT_EXCEEDED' && left < maxMemberSize)) throw error;
      throw totalExceeded(options.name, maxTotalSize, error);
    }
    if (!member) {
      throw new ApkError('APK_GZIP_INVALID', `${options.name === undefined ? '' : `${options.name}: `}gzip member at byte ${offset}: truncated (the input ends inside it)`, {
        detail: { file: options.name, offset },
      });
    }
    total += member.content.length;
    if (total > maxTotalSize) throw totalExceeded(options.name, maxTotalSize);
    members.push(member);
    offset = member.end;
  }
  return members;
}

function totalExceeded(name: string | undefined, limit: number, cause?: unknown): ApkError {
  return new ApkError('APK_LIMIT_EXCEEDED', `${name === undefined ? '' : `${name}: `}gzip members inflate to more than ${limit} bytes in total`, {
    ...(cause === undefined ? {} : { cause }),
    detail: { file: name, limit },
  });
}
