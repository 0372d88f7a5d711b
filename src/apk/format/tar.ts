import { ApkError } from '../errors.ts';

// A hand-written tar dialect for apk (spec §1.2) rather than tar-stream: apk needs headers that span
// gzip member boundaries to be detected, control/signature members WITHOUT end-of-archive blocks,
// byte-exact PAX records (APK-TOOLS.checksum.SHA1, binary SCHILY.xattr values that tar-stream would
// decode as UTF-8), and a reader that refuses base-256 numbers and unknown magic like apk-tools does.

export const BLOCK = 512;

/** Entry kinds apk understands (typeflags 0/7, 1, 2, 3, 4, 5, 6). */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'directory' | 'fifo';

/** One tar header after PAX and GNU long-name records have been applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Low 12 bits of the mode field (permissions, setuid/setgid/sticky). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  linkName: string;
  devMajor: number;
  devMinor: number;
  /** SCHILY.xattr.<name> records: raw values. */
  xattrs: Map<string, Buffer>;
  /** APK-TOOLS.checksum.SHA1 (lowercase hex), when present. */
  checksumSha1?: string;
}

/** A raw header block as found in the stream (typeflag not yet interpreted). */
interface RawTarHeader {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkName: string;
  uname: string;
  gname: string;
  devMajor: number;
  devMinor: number;
}

function cString(block: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + start, end - start).toString('utf8');
}

/**
 * Which tar a reader accepts. `apk`: apk-tools' own (numbers in octal only; of PAX records only
 * path, linkpath, xattrs and apk's checksum count). `oci`: image layers and docker archives as
 * containerd and Go's archive/tar read them — also GNU base-256 numbers and the PAX size, uid, gid,
 * mtime, uname and gname records (how writers store files of 8 GiB and more, and large ids).
 */
export type TarDialect = 'apk' | 'oci';

function octal(block: Uint8Array, start: number, length: number, field: string, where: string, dialect: TarDialect = 'apk'): number {
  if (block[start]! & 0x80) {
    if (dialect === 'apk') throw new ApkError('APK_TAR_INVALID', `${where}: tar field ${field} uses base-256 encoding, which apk does not support`, { detail: { field } });
    // GNU base-256: the rest of the field is a big-endian number; 0xff first means negative
    if (block[start] === 0xff) throw new ApkError('APK_TAR_INVALID', `${where}: tar field ${field} is negative`, { detail: { field } });
    let value = block[start]! & 0x7f;
    for (let index = start + 1; index < start + length; index++) value = value * 256 + block[index]!;
    if (!Number.isSafeInteger(value)) throw new ApkError('APK_TAR_INVALID', `${where}: tar field ${field} is too large`, { detail: { field } });
    return value;
  }
  let index = start;
  const end = start + length;
  while (index < end && block[index] === 0x20) index++;
  let value = 0;
  let digits = 0;
  for (; index < end; index++) {
    const byte = block[index]!;
    if (byte === 0 || byte === 0x20) break;
    if (byte < 0x30 || byte > 0x37) {
      throw new ApkError('APK_TAR_INVALID', `${where}: tar field ${field} is not octal`, { detail: { field } });
    }
    value = value * 8 + (byte - 0x30);
    digits++;
  }
  for (; index < end; index++) {
    const byte = block[index]!;
    if (byte !== 0 && byte !== 0x20) throw new ApkError('APK_TAR_INVALID', `${where}: tar field ${field} has garbage after its number`, { detail: { field } });
  }
  return digits === 0 ? 0 : value;
}

/** True for an all-zero block (end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let index = 0; index < BLOCK; index++) if (block[index] !== 0) return false;
  return true;
}

/** Parses and checks one 512-byte header block (checksum, ustar magic, octal fields). */
export function parseHeaderBlock(block: Uint8Array, where: string, dialect: TarDialect = 'apk'): RawTarHeader {
  const stored = octal(block, 148, 8, 'chksum', where);
  let sum = 0;
  for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : block[index]!;
  if (stored !== sum) throw new ApkError('APK_TAR_INVALID', `${where}: tar header checksum mismatch (stored ${stored}, computed ${sum})`, { detail: { stored, sum } });
  if (cString(block, 257, 5) !== 'ustar') throw new ApkError('APK_TAR_INVALID', `${where}: tar header has no ustar magic`, { detail: {} });
  const name = cString(block, 0, 100);
  const prefix = cString(block, 345, 155);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    typeflag: String.fromCharCode(block[156]!),
    mode: octal(block, 100, 8, 'mode', where) & 0o7777,
    uid: octal(block, 108, 8, 'uid', where, dialect),
    gid: octal(block, 116, 8, 'gid', where, dialect),
    size: octal(block, 124, 12, 'size', where, dialect),
    mtime: octal(block, 136, 12, 'mtime', where, dialect),
    linkName: cString(block, 157, 100),
    uname: cString(block, 265, 32),
    gname: cString(block, 297, 32),
    devMajor: octal(block, 329, 8, 'devmajor', where),
    devMinor: octal(block, 337, 8, 'devminor', where),
  };
}

/** Parses PAX extended header records (`<len> <key>=<value>\n`), keeping values as raw bytes. */
function parsePaxRecords(data: Buffer, where: string): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const lengthText = space < 0 ? '' : data.subarray(offset, space).toString('latin1');
    const length = /^[1-9]\d{0,9}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length > 0) || offset + length > data.length || data[offset + length - 1] !== 0x0a) {
      throw new ApkError('APK_TAR_INVALID', `${where}: malformed PAX record at offset ${offset}`, { detail: { offset } });
    }
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new ApkError('APK_TAR_INVALID', `${where}: PAX record without key=value at offset ${offset}`, { detail: { offset } });
    records.set(record.subarray(0, equals).toString('utf8'), Buffer.from(record.subarray(equals + 1)));
    offset += length;
  }
  return records;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'chardev', '4': 'blockdev', '5': 'directory', '6': 'fifo',
};

/** Applies pending PAX/GNU records to a raw header, producing the entry apk would see. */
function resolveHeader(raw: RawTarHeader, pax: Map<string, Buffer> | undefined, longName: string | undefined, where: string, dialect: TarDialect): TarHeader {
  const type = TYPES[raw.typeflag];
  if (!type) {
    throw new ApkError('APK_TAR_INVALID', `${where}: unsupported tar entry type ${JSON.stringify(raw.typeflag)} for ${JSON.stringify(raw.name)}`, {
      detail: { typeflag: raw.typeflag, name: raw.name },
    });
  }
  let name = longName ?? raw.name;
  let linkName = raw.linkName;
  let { size, uid, gid, mtime, uname, gname } = raw;
  const xattrs = new Map<string, Buffer>();
  let checksumSha1: string | undefined;
  if (pax) {
    for (const [key, value] of pax) {
      if (key === 'path') name = value.toString('utf8');
      else if (key === 'linkpath') linkName = value.toString('utf8');
      else if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
      else if (dialect === 'oci' && (key === 'size' || key === 'uid' || key === 'gid')) {
        const text = value.toString('latin1');
        const number = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(number)) throw new ApkError('APK_TAR_INVALID', `${where}: ${JSON.stringify(name)}: PAX ${key} ${JSON.stringify(text)} is not a number`, { detail: { name, key } });
        if (key === 'size') size = number;
        else if (key === 'uid') uid = number;
        else gid = number;
      } else if (dialect === 'oci' && key === 'mtime') {
        const text = value.toString('latin1');
        if (!/^-?\d{1,15}(\.\d+)?$/.test(text)) throw new ApkError('APK_TAR_INVALID', `${where}: ${JSON.stringify(name)}: PAX mtime ${JSON.stringify(text)} is not a time`, { detail: { name, key } });
        mtime = Math.floor(Number(text));
      } else if (dialect === 'oci' && key === 'uname') uname = value.toString('utf8');
      else if (dialect === 'oci' && key === 'gname') gname = value.toString('utf8');
      else if (key === 'APK-TOOLS.checksum.SHA1') {
        const hex = value.toString('latin1');
        if (!/^[0-9a-f]{40}$/.test(hex)) {
          throw new ApkError('APK_TAR_INVALID', `${where}: ${JSON.stringify(name)}: APK-TOOLS.checksum.SHA1 is not 40 lowercase hex digits`, { detail: { name } });
        }
        checksumSha1 = hex;
      }
    }
  }
  if (name.includes('\0') || linkName.includes('\0')) {
    throw new ApkError('APK_TAR_INVALID', `${where}: entry name or link target contains a NUL byte`, { detail: { name: name.replace(/\0/g, '\\0') } });
  }
  const entry: TarHeader = {
    name, type, mode: raw.mode, uid, gid, uname, gname,
    size: type === 'file' ? size : 0, mtime, linkName, devMajor: raw.devMajor, devMinor: raw.devMinor, xattrs,
  };
  if (checksumSha1 !== undefined) entry.checksumSha1 = checksumSha1;
  if (type !== 'file' && size !== 0) {
    throw new ApkError('APK_TAR_INVALID', `${where}: ${JSON.stringify(name)}: ${type} entry has a non-zero size`, { detail: { name, type } });
  }
  return entry;
}

/** Limits on tar metadata records (PAX and GNU long names). */
const PAX_LIMIT = 1024 * 1024;
const LONG_NAME_LIMIT = 4096;

/**
 * For a metadata record header (`x`/`g` PAX, `L`/`K` GNU), what it is called in errors; undefined
 * for an entry header. Refuses records over their limit (APK_LIMIT_EXCEEDED). `where` names the
 * header in messages, `file` the input in `detail`.
 */
export function metadataRecord(raw: RawTarHeader, where: string, file: string): 'a PAX header' | 'a GNU long name' | undefined {
  switch (raw.typeflag) {
    case 'x':
    case 'g':
      if (raw.size > PAX_LIMIT) throw new ApkError('APK_LIMIT_EXCEEDED', `${where}: PAX header of ${raw.size} bytes exceeds ${PAX_LIMIT}`, { detail: { file, size: raw.size } });
      return 'a PAX header';
    case 'L':
    case 'K':
      if (raw.size > LONG_NAME_LIMIT) throw new ApkError('APK_LIMIT_EXCEEDED', `${where}: GNU long name of ${raw.size} bytes exceeds ${LONG_NAME_LIMIT}`, { detail: { file, size: raw.size } });
      return 'a GNU long name';
    default:
      return undefined;
  }
}

/**
 * The metadata records read so far that apply to the next entry: the one place that decides what
 * `x` (PAX), `g` (ignored), `L` (GNU long name) and `K` (ignored, as apk does) mean, for the
 * streaming reader (TarMemberReader) and the in-memory one (readTarEntries).
 */
export class PendingTarRecords {
  private pax: Map<string, Buffer> | undefined;
  private longName: string | undefined;

  constructor(private readonly dialect: TarDialect = 'apk') {}

  /** True while records wait for their entry. */
  get isEmpty(): boolean {
    return this.pax === undefined && this.longName === undefined;
  }

  /** Takes a metadata record's content; returns what is wrong with the sequence, if anything. */
  add(raw: RawTarHeader, data: Buffer, where: string): string | undefined {
    if (raw.typeflag === 'x') {
      if (this.pax) return 'two PAX headers in a row';
      this.pax = parsePaxRecords(data, where);
    } else if (raw.typeflag === 'L') {
      const end = data.indexOf(0);
      this.longName = data.subarray(0, end < 0 ? data.length : end).toString('utf8');
    }
    return undefined;
  }

  /** The entry `raw` describes with the pending records applied; they are used up. */
  resolve(raw: RawTarHeader, where: string): TarHeader {
    const header = resolveHeader(raw, this.pax, this.longName, where, this.dialect);
    this.pax = undefined;
    this.longName = undefined;
    return header;
  }
}

/** Rounds a content length up to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

// ---------------------------------------------------------------- writer

/** What the writer needs for one entry (content is written separately by the caller). */
export interface TarWriteHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  size?: number;
  mtime: number;
  linkName?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extra PAX records, written in the given order (keys sorted by the caller for determinism). */
  pax?: Array<[key: string, value: Buffer | string]>;
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', blockdev: '4', directory: '5', fifo: '6' };

function writeString(block: Buffer, start: number, length: number, value: string): boolean {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) return false;
  bytes.copy(block, start);
  return true;
}

function writeOctal(block: Buffer, start: number, length: number, value: number, field: string): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (!Number.isSafeInteger(value) || value < 0 || text.length > length - 1) {
    throw new ApkError('APK_TAR_INVALID', `tar field ${field} value ${value} does not fit`, { detail: { field, value } });
  }
  block.write(`${text}\0`, start, 'latin1');
}

/** Encodes PAX records with their self-including decimal length prefix. */
function encodePaxRecords(records: ReadonlyArray<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), Buffer.from('\n')]);
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length = String(length).length + body.length;
    parts.push(Buffer.from(String(length), 'latin1'), body);
  }
  return Buffer.concat(parts);
}

function headerBlock(header: TarWriteHeader, name: string, linkName: string, typeflag: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  if (!writeString(block, 0, 100, name)) throw new ApkError('APK_TAR_INVALID', `tar name too long for a ustar header: ${name}`, { detail: { name } });
  writeOctal(block, 100, 8, header.mode & 0o7777, 'mode');
  writeOctal(block, 108, 8, header.uid ?? 0, 'uid');
  writeOctal(block, 116, 8, header.gid ?? 0, 'gid');
  writeOctal(block, 124, 12, size, 'size');
  writeOctal(block, 136, 12, header.mtime, 'mtime');
  block.write(typeflag, 156, 'latin1');
  writeString(block, 157, 100, linkName);
  block.write('ustar\x0000', 257, 'latin1');
  if (!writeString(block, 265, 32, header.uname ?? '') || !writeString(block, 297, 32, header.gname ?? '')) {
    throw new ApkError('APK_TAR_INVALID', `tar user or group name too long for ${header.name}`, { detail: { name: header.name } });
  }
  writeOctal(block, 329, 8, header.devMajor ?? 0, 'devmajor');
  writeOctal(block, 337, 8, header.devMinor ?? 0, 'devminor');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function fitsUstar(value: string, length: number): boolean {
  return Buffer.byteLength(value, 'utf8') <= length;
}

/**
 * Encodes the header blocks of one entry: a PAX `x` header first when there are PAX records or a
 * name/link target that does not fit ustar (POSIX prefix splitting is not used, so readers see one
 * obvious source for the name), then the ustar header. Content and padding follow from the caller.
 */
export function encodeHeader(header: TarWriteHeader): Buffer {
  const pax: Array<[string, Buffer | string]> = [];
  const linkName = header.linkName ?? '';
  let name = header.name;
  let link = linkName;
  if (!fitsUstar(name, 100)) {
    pax.push(['path', name]);
    name = Buffer.from(name, 'utf8').subarray(0, 99).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  }
  if (!fitsUstar(link, 100)) {
    pax.push(['linkpath', link]);
    link = Buffer.from(link, 'utf8').subarray(0, 99).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  }
  pax.push(...(header.pax ?? []));
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  const main = headerBlock(header, name, link, TYPEFLAG[header.type], size);
  if (pax.length === 0) return main;
  const records = encodePaxRecords(pax);
  const paxName = `PaxHeaders/${name}`.slice(0, 99);
  const paxHeader = headerBlock({ name: paxName, type: 'file', mode: 0o644, mtime: header.mtime }, paxName, '', 'x', records.length);
  return Buffer.concat([paxHeader, records, Buffer.alloc(padded(records.length) - records.length), main]);
}

/** Zero padding after `size` content bytes. */
export function padding(size: number): Buffer {
  return Buffer.alloc(padded(size) - size);
}

/** A tar with no end-of-archive blocks (what apk needs for signature and control members). */
export function tarWithoutEnd(files: ReadonlyArray<{ name: string; data: Buffer; mode: number }>, mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(encodeHeader({ name: file.name, type: 'file', mode: file.mode, uid: 0, gid: 0, uname: 'root', gname: 'root', size: file.data.length, mtime }));
    parts.push(file.data, padding(file.data.length));
  }
  return Buffer.concat(parts);
}
