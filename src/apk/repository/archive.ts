// Minimal gzip-member and tar readers for what the repository client must verify before trusting
// bytes: where each gzip member of an .apk / APKINDEX.tar.gz starts and ends (identity and signature
// are defined over exact compressed member bytes) and the names/contents of tar entries. Pure: bytes
// in, values out.
import { inflateRawSync } from 'node:zlib';

/** One gzip member located in a buffer. */
export interface GzipMember {
  /** Offset of the member's first byte (the 0x1f 0x8b magic). */
  start: number;
  /** Offset just past the member's 8-byte trailer. */
  end: number;
  /** Decompressed content. */
  data: Buffer;
}

/** Why a member could not be read: the buffer ends too early (read more) or the bytes are bad. */
export class MemberError extends Error {
  constructor(
    message: string,
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

const FTEXT_MASK = 0xe0; // reserved flag bits must be zero

/** Reads the gzip member starting at `offset`. Throws MemberError (truncated=true when more input
 *  could complete it). `maxOutput` bounds the decompressed size. */
export function readGzipMember(buffer: Buffer, offset: number, maxOutput: number): GzipMember {
  let position = offset;
  const need = (count: number): void => {
    if (position + count > buffer.length) throw new MemberError(`gzip member at byte ${offset}: header truncated`, true);
  };
  need(10);
  if (buffer[position] !== 0x1f || buffer[position + 1] !== 0x8b || buffer[position + 2] !== 8) {
    throw new MemberError(`no gzip member at byte ${offset}`, false);
  }
  const flags = buffer[position + 3]!;
  if (flags & FTEXT_MASK) throw new MemberError(`gzip member at byte ${offset}: reserved header flags set`, false);
  position += 10;
  if (flags & 0x04) {
    need(2);
    const extra = buffer.readUInt16LE(position);
    position += 2;
    need(extra);
    position += extra;
  }
  for (const bit of [0x08, 0x10]) {
    if (flags & bit) {
      const zero = buffer.indexOf(0, position);
      if (zero < 0) throw new MemberError(`gzip member at byte ${offset}: header truncated`, true);
      position = zero + 1;
    }
  }
  if (flags & 0x02) {
    need(2);
    position += 2;
  }
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    result = inflateRawSync(buffer.subarray(position), { info: true, maxOutputLength: maxOutput }) as unknown as typeof result;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    // Z_BUF_ERROR: the deflate stream did not end inside the buffer.
    if (code === 'Z_BUF_ERROR') throw new MemberError(`gzip member at byte ${offset}: compressed data truncated`, true);
    throw new MemberError(`gzip member at byte ${offset}: ${(cause as Error).message}`, false);
  }
  const end = position + result.engine.bytesWritten + 8;
  if (end > buffer.length) throw new MemberError(`gzip member at byte ${offset}: trailer truncated`, true);
  const data = result.buffer;
  const crc = buffer.readUInt32LE(end - 8);
  const size = buffer.readUInt32LE(end - 4);
  if (size !== data.length % 2 ** 32 || crc !== crc32(data)) {
    throw new MemberError(`gzip member at byte ${offset}: CRC or length in the trailer does not match the data`, false);
  }
  return { start: offset, end, data };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (let index = 0; index < data.length; index++) crc = CRC_TABLE[(crc ^ data[index]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** One tar entry: its name (after PAX/GNU long names) and, for regular files, its content. */
export interface TarEntry {
  name: string;
  type: string;
  content: Buffer;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const zero = raw.indexOf(0);
  return raw.subarray(0, zero < 0 ? raw.length : zero).toString('utf8');
}

function octal(block: Buffer, start: number, length: number): number {
  const text = field(block, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar header: bad octal number ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

/** Lists the entries of a tar stream held in memory. Stops at the first all-zero block or at the
 *  end of the buffer (signature and control members carry no end-of-archive blocks). Throws on a
 *  malformed header or an entry running past the buffer. */
export function readTarEntries(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let position = 0;
  let longName: string | undefined;
  while (position + 512 <= tar.length) {
    const block = tar.subarray(position, position + 512);
    if (block.every((byte) => byte === 0)) break;
    if (!field(block, 257, 6).startsWith('ustar')) throw new Error(`tar header at byte ${position}: not a ustar header`);
    const size = octal(block, 124, 12);
    const type = String.fromCharCode(block[156] || 0x30);
    const dataStart = position + 512;
    if (dataStart + size > tar.length) throw new Error(`tar entry at byte ${position}: content runs past the end`);
    const content = tar.subarray(dataStart, dataStart + size);
    position = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = field(content, 0, content.length);
      continue;
    }
    if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(content.toString('utf8'))?.[1];
      if (path !== undefined) longName = path;
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(block, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    longName = undefined;
    entries.push({ name, type, content });
  }
  return entries;
}
