import { crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import { VulnError } from '../errors.ts';

// Pure: the entries of a zip archive (OSV ecosystem dumps, `<ecosystem>/all.zip`). Only what those
// dumps use: stored and deflated entries, read from the central directory; and the writer of
// Kiln's own dump (deflated entries, fixed 1980-01-01 times, so equal input gives equal bytes). Written here rather than
// adding a zip library for this one reader; zip64 and encrypted archives are refused.

/** One file of a zip archive. */
interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Every file entry of a zip archive (directories skipped). VULN_FEED_INVALID when malformed.
 *  `maxEntryBytes` bounds each inflated entry (a "zip bomb" stops there). */
export function readZipEntries(zip: Buffer, source: string, maxEntryBytes = 64 * 1024 * 1024): ZipEntry[] {
  const fail = (why: string): never => {
    throw new VulnError('VULN_FEED_INVALID', `${source}: not a readable zip archive: ${why}`, { detail: { source } });
  };
  let end = -1;
  for (let offset = zip.length - 22; offset >= Math.max(0, zip.length - 22 - 65535); offset--) {
    if (zip.readUInt32LE(offset) === 0x06054b50) {
      end = offset;
      break;
    }
  }
  if (end < 0) fail('no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  if (offset === 0xffffffff || count === 0xffff) fail('zip64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let index = 0; index < count; index++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== 0x02014b50) fail(`central directory entry ${index} is damaged`);
    const flags = zip.readUInt16LE(offset + 8);
    const method = zip.readUInt16LE(offset + 10);
    const crc = zip.readUInt32LE(offset + 16);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8');
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (flags & 1) fail(`${name} is encrypted`);
    if (localOffset + 30 > zip.length || zip.readUInt32LE(localOffset) !== 0x04034b50) fail(`${name}: local header is damaged`);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    if (raw.length !== compressedSize) fail(`${name} is cut off`);
    if (size > maxEntryBytes) fail(`${name} inflates to ${size} bytes, more than the limit of ${maxEntryBytes}`);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        // A deflated entry framed as a one-member gzip stream: gunzip then checks the entry's
        // CRC-32 and size from the central directory, and no second raw-deflate reader exists.
        const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc, 0);
        trailer.writeUInt32LE(size, 4);
        data = gunzipSync(Buffer.concat([header, raw, trailer]), { maxOutputLength: maxEntryBytes });
      } catch (error) {
        throw new VulnError('VULN_FEED_INVALID', `${source}: ${name}: cannot inflate`, { cause: error, detail: { source, entry: name } });
      }
    } else return fail(`${name} uses compression method ${method}`);
    if (data.length !== size) fail(`${name} inflated to ${data.length} bytes, not ${size}`);
    entries.push({ name, data });
  }
  return entries;
}

/** A zip archive of these files, in the given order: deflated, every time the DOS epoch, no extra
 *  fields, so the same files always give the same bytes (osv.dev's `all.zip` layout). */
export function writeZip(files: readonly ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const packed = deflateRawSync(file.data, { level: 9 });
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt16LE(DOS_DATE, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(packed.length, 20);
    entry.writeUInt32LE(file.data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    parts.push(local, name, packed);
    central.push(entry, name);
    offset += 30 + name.length + packed.length;
    if (offset > 0xfffffffe || files.length >= 0xffff) throw new VulnError('VULN_FEED_INVALID', `zip archive would need zip64 (${files.length} files, ${offset} bytes)`, { detail: { files: files.length } });
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}
