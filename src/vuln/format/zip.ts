import { gunzipSync } from 'node:zlib';
import { VulnError } from '../errors.ts';

// Pure: the entries of a zip archive (OSV ecosystem dumps, `<ecosystem>/all.zip`). Only what those
// dumps use: stored and deflated entries, read from the central directory. Written here rather than
// adding a zip library for this one reader; zip64 and encrypted archives are refused.

/** One file of a zip archive. */
export interface ZipEntry {
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
