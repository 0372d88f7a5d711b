import { OciError } from '../errors.ts';

// A deterministic tar encoder in the dialect of Go's archive/tar (what apko writes): USTAR headers
// (`ustar\0` + `00`), zero-padded NUL-terminated octal fields, long names split into prefix/name when
// possible, otherwise a preceding PAX `x` entry named `<dir>/PaxHeaders.0/<base>` with records
// sorted by key. Written by hand rather than with tar-stream because digest parity depends on every
// byte of the header (tar-stream's PAX naming and field padding differ).

/** What a tar entry is. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One tar entry's header; the content (for files) is written separately by the caller. */
export interface TarHeader {
  /** Relative path without a leading `/` or `./`; directories without a trailing slash. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Modification time, whole seconds since the epoch. */
  mtime: number;
  /** Content length (regular files only). */
  size?: number;
  /** Symlink target or hard-link target path. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (xattrs as `SCHILY.xattr.<name>`, `APK-TOOLS.checksum.SHA1`). A string is
   *  written as UTF-8; bytes (an xattr's binary value) are written as they are. */
  pax?: Readonly<Record<string, string | Uint8Array>>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const encoder = new TextEncoder();

/** The two zero blocks that end an archive. */
export const TAR_END = new Uint8Array(BLOCK * 2);

/** Zero bytes that pad `size` content bytes to a whole block. */
export function tarPadding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest);
}

function fits(value: number, width: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < 8 ** (width - 1);
}

function writeOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, '0');
  block.set(encoder.encode(text), offset);
  block[offset + width - 1] = 0;
}

function writeString(block: Uint8Array, offset: number, width: number, value: string): void {
  const bytes = encoder.encode(value);
  block.set(bytes.subarray(0, width), offset);
}

/** Splits a long name into ustar prefix (≤155) and name (≤100) at a slash, as Go does. */
function splitUstarPath(name: string): [prefix: string, name: string] | undefined {
  const bytes = encoder.encode(name);
  if (bytes.length <= 100) return ['', name];
  if (bytes.length > 256) return undefined;
  let index = Math.min(bytes.length - 1, 155);
  while (index > 0 && bytes[index] !== 0x2f) index--;
  if (index <= 0) return undefined;
  const prefix = name.slice(0, index);
  const rest = name.slice(index + 1);
  if (encoder.encode(prefix).length > 155 || encoder.encode(rest).length > 100 || rest.length === 0) return undefined;
  return [prefix, rest];
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** `LEN key=value\n`, LEN counting every byte of the record, its own digits included. */
function paxRecord(key: string, value: string | Uint8Array): Uint8Array {
  const head = encoder.encode(` ${key}=`);
  const bytes = typeof value === 'string' ? encoder.encode(value) : value;
  const bodyLength = head.length + bytes.length + 1;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(length - bodyLength).length) length = bodyLength + String(length).length;
  return Buffer.concat([encoder.encode(String(length)), head, bytes, encoder.encode('\n')]);
}

function rawHeader(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, fields.uid);
  writeOctal(block, 116, 8, fields.gid);
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156);
  block[156] = fields.typeflag.charCodeAt(0);
  writeString(block, 157, 100, fields.linkname);
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeString(block, 265, 32, fields.uname);
  writeString(block, 297, 32, fields.gname);
  writeOctal(block, 329, 8, fields.devmajor);
  writeOctal(block, 337, 8, fields.devminor);
  writeString(block, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  const checksum = `${sum.toString(8).padStart(6, '0')}\0 `;
  writeString(block, 148, 8, checksum);
  return block;
}

/** Encodes the header block(s) of one entry: an optional PAX `x` entry, then the ustar header. */
export function encodeTarHeader(header: TarHeader): Uint8Array {
  const { name } = header;
  if (!name || name.startsWith('/') || name.includes('\0')) {
    throw new OciError('OCI_TAR_ENTRY_INVALID', `tar entry name ${JSON.stringify(name)} is not a relative path`, { detail: { name } });
  }
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  const pax: Record<string, string | Uint8Array> = { ...(header.pax ?? {}) };
  let ustarName: string;
  let prefix = '';
  const split = isAscii(name) ? splitUstarPath(name) : undefined;
  if (split) [prefix, ustarName] = split;
  else {
    pax.path = name;
    ustarName = name.slice(0, 100);
  }
  let linkname = header.linkname ?? '';
  if (encoder.encode(linkname).length > 100 || !isAscii(linkname)) {
    pax.linkpath = linkname;
    linkname = linkname.slice(0, 100);
  }
  const numbers: Array<[key: string, value: number, width: number]> = [
    ['uid', header.uid, 8],
    ['gid', header.gid, 8],
    ['size', size, 12],
    ['mtime', header.mtime, 12],
  ];
  const values: Record<string, number> = {};
  for (const [key, value, width] of numbers) {
    if (!Number.isInteger(value) || value < 0) {
      throw new OciError('OCI_TAR_ENTRY_INVALID', `tar entry ${name}: ${key} ${value} is not a non-negative integer`, { detail: { name, field: key } });
    }
    if (fits(value, width)) values[key] = value;
    else {
      pax[key] = String(value);
      values[key] = 0;
    }
  }
  let uname = header.uname ?? '';
  let gname = header.gname ?? '';
  if (uname.length > 32 || !isAscii(uname)) {
    pax.uname = uname;
    uname = '';
  }
  if (gname.length > 32 || !isAscii(gname)) {
    pax.gname = gname;
    gname = '';
  }
  const ustar = rawHeader({
    name: ustarName,
    prefix,
    mode: header.mode & 0o7777,
    uid: values.uid!,
    gid: values.gid!,
    size: values.size!,
    mtime: values.mtime!,
    typeflag: TYPEFLAG[header.type],
    linkname,
    uname,
    gname,
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
  });
  const keys = Object.keys(pax).sort();
  if (keys.length === 0) return ustar;
  const records = Buffer.concat(keys.map((key) => paxRecord(key, pax[key]!)));
  const slash = name.lastIndexOf('/');
  const dir = slash >= 0 ? name.slice(0, slash) : '';
  const base = slash >= 0 ? name.slice(slash + 1) : name;
  const paxName = (dir ? `${dir}/PaxHeaders.0/${base}` : `PaxHeaders.0/${base}`).slice(0, 100);
  const paxHeader = rawHeader({
    name: paxName,
    prefix: '',
    mode: 0,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: 0,
    typeflag: 'x',
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  const out = new Uint8Array(BLOCK + records.length + tarPadding(records.length).length + BLOCK);
  out.set(paxHeader, 0);
  out.set(records, BLOCK);
  out.set(ustar, out.length - BLOCK);
  return out;
}

/** One entry with in-memory content, for small archives written in one go. */
export interface TarMember {
  header: TarHeader;
  content?: Uint8Array;
}

/** Encodes a whole archive from members in the given order, ending with two zero blocks. */
export function encodeTar(members: readonly TarMember[], options: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const member of members) {
    const content = member.content ?? new Uint8Array(0);
    parts.push(encodeTarHeader(member.header.type === 'file' ? { ...member.header, size: content.length } : member.header));
    if (member.header.type === 'file') {
      parts.push(content, tarPadding(content.length));
    }
  }
  if (options.end !== false) parts.push(TAR_END);
  return Buffer.concat(parts);
}
