import { inflateRawSync } from 'node:zlib';

// Test support: reads a v2 .apk with node:zlib only (not Kiln's reader), so tests can check what
// Kiln wrote independently: gzip member boundaries, the signature entry, .PKGINFO.

/** One gzip member of a package file: its exact bytes and its decompressed content. */
export interface RawMember {
  bytes: Buffer;
  content: Buffer;
}

/** Splits a file into gzip members (headers without optional fields, as Kiln and melange write). */
export function splitGzipMembers(file: Buffer): RawMember[] {
  const members: RawMember[] = [];
  let offset = 0;
  while (offset < file.length) {
    if (file[offset] !== 0x1f || file[offset + 1] !== 0x8b) throw new Error(`no gzip member at offset ${offset}`);
    if (file[offset + 3] !== 0) throw new Error(`gzip member at ${offset} has optional header fields`);
    const inflated = inflateRawSync(file.subarray(offset + 10), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    const length = 10 + inflated.engine.bytesWritten + 8;
    members.push({ bytes: file.subarray(offset, offset + length), content: inflated.buffer });
    offset += length;
  }
  return members;
}

/** Tar entries (name → content) of an uncompressed tar stream, stopping at the end blocks. */
export function tarEntries(tar: Buffer): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    if (type === 'x') {
      paxPath = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    } else {
      entries.set(name, body);
      paxPath = undefined;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}
