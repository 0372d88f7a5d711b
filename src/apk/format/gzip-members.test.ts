import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GzipMemberReader, readGzipMember, splitGzipMembers } from './gzip-members.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');

async function split(bytes: Buffer, chunk = 65536): Promise<Array<{ offset: number; compressedSize: number; data: Buffer; seen: Buffer }>> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunk) chunks.push(bytes.subarray(offset, offset + chunk));
  const reader = new GzipMemberReader(Readable.from(chunks), 'test');
  const members = [];
  for (;;) {
    const seen: Buffer[] = [];
    const member = await reader.next((part) => seen.push(Buffer.from(part)));
    if (!member) return members;
    const data: Buffer[] = [];
    for (let part; (part = await member.read()); ) data.push(part);
    members.push({ offset: member.info!.offset, compressedSize: member.info!.compressedSize, data: Buffer.concat(data), seen: Buffer.concat(seen) });
  }
}

/** Member boundaries computed independently with zlib's synchronous raw inflater (plain 10-byte headers). */
function reference(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    offsets.push(offset);
    const { engine } = inflateRawSync(bytes.subarray(offset + 10), { info: true }) as unknown as { engine: { bytesWritten: number } };
    offset += 10 + engine.bytesWritten + 8;
  }
  return offsets;
}

describe('GzipMemberReader', () => {
  for (const file of ['apko/alpine-317/APKINDEX.tar.gz', 'wolfi/kubeflow-pipelines-2.1.3-r7.apk', 'apko/hello-0.1.0-r0.apk']) {
    it(`splits ${file} exactly at member boundaries, whatever the chunk size`, async () => {
      const bytes = readFileSync(join(fixtures, file));
      // tiny chunks put boundaries, headers and trailers across reads (kept to small files: each read is a zlib call)
      for (const chunk of bytes.length > 100_000 ? [1 << 16, 4093] : [1 << 16, 4093, 13, 1]) {
        const members = await split(bytes, chunk);
        expect(members.map((m) => m.offset)).toEqual(reference(bytes));
        // the sink saw exactly the member's bytes, and members tile the file
        for (const member of members) expect(member.seen.equals(bytes.subarray(member.offset, member.offset + member.compressedSize))).toBe(true);
        expect(members.reduce((sum, m) => sum + m.compressedSize, 0)).toBe(bytes.length);
      }
    });
  }

  it('handles FEXTRA, FNAME, FCOMMENT and FHCRC header fields', async () => {
    const body = deflateRawSync(Buffer.from('hello'));
    const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3]), Buffer.from([3, 0, 1, 2, 3]), Buffer.from('name\0comment\0')]);
    const withCrc = Buffer.concat([header, Buffer.from([crc32(header) & 0xff, (crc32(header) >> 8) & 0xff])]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(Buffer.from('hello')), 0);
    trailer.writeUInt32LE(5, 4);
    const member = Buffer.concat([withCrc, body, trailer]);
    const members = await split(Buffer.concat([member, gzipSync('world')]), 3);
    expect(members.map((m) => m.data.toString())).toEqual(['hello', 'world']);
    expect(members[0]!.compressedSize).toBe(member.length);
    const badCrc = Buffer.from(member);
    badCrc[withCrc.length - 1]! ^= 1;
    await expect(split(badCrc)).rejects.toMatchObject({ code: 'APK_GZIP_INVALID', message: expect.stringContaining('header CRC') });
  });

  it('checks the CRC-32 and length of every member', async () => {
    const good = gzipSync('some data');
    const badCrc = Buffer.from(good);
    badCrc[good.length - 8]! ^= 1;
    await expect(split(badCrc)).rejects.toMatchObject({ message: expect.stringContaining('CRC-32 mismatch') });
    const badLength = Buffer.from(good);
    badLength[good.length - 1]! ^= 1;
    await expect(split(badLength)).rejects.toMatchObject({ message: expect.stringContaining('length mismatch') });
    await expect(split(good.subarray(0, good.length - 4))).rejects.toMatchObject({ message: expect.stringContaining('no gzip trailer') });
    await expect(split(good.subarray(0, 12))).rejects.toMatchObject({ message: expect.stringContaining('truncated') });
  });

  it('reports a failing input as an IO error naming the source, also after the deflate stream ended', async () => {
    const good = gzipSync('some data');
    for (const cut of [5, good.length - 8, good.length]) {
      const failing = (async function* () {
        yield good.subarray(0, cut);
        throw new Error('connection reset');
      })();
      const reader = new GzipMemberReader(failing, 'remote.apk');
      const attempt = (async () => {
        const member = await reader.next();
        while (member && (await member.read()));
        await reader.next();
      })();
      await expect(attempt).rejects.toMatchObject({ code: 'IO', message: 'remote.apk: cannot read: connection reset' });
    }
  });
});

// The in-memory reader shares the header rules with GzipMemberReader and must find the same members.
describe('readGzipMember / splitGzipMembers', () => {
  for (const file of ['apko/alpine-317/APKINDEX.tar.gz', 'wolfi/kubeflow-pipelines-2.1.3-r7.apk', 'apko/hello-0.1.0-r0.apk']) {
    it(`splits ${file} exactly as the streaming reader does`, async () => {
      const bytes = readFileSync(join(fixtures, file));
      const streamed = await split(bytes);
      const members = splitGzipMembers(bytes, { name: file });
      expect(members.map((m) => [m.index, m.offset, m.end - m.offset])).toEqual(streamed.map((m, index) => [index, m.offset, m.compressedSize]));
      for (const [index, member] of members.entries()) {
        expect(member.content.equals(streamed[index]!.data)).toBe(true);
        expect(member.bytes.equals(streamed[index]!.seen)).toBe(true);
      }
    });
  }

  it('finds exact member boundaries in any concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const members = parts.map((part) => gzipSync(part));
        const joined = Buffer.concat(members);
        let offset = 0;
        parts.forEach((part, index) => {
          const member = readGzipMember(joined, offset, index)!;
          expect(member.end - member.offset).toBe(members[index]!.length);
          expect(Buffer.compare(member.content, Buffer.from(part))).toBe(0);
          offset = member.end;
        });
        expect(offset).toBe(joined.length);
      }),
      { numRuns: 50 },
    );
  });

  it('handles FEXTRA, FNAME, FCOMMENT and FHCRC header fields and checks the header CRC', () => {
    const body = deflateRawSync(Buffer.from('hello'));
    const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3]), Buffer.from([3, 0, 1, 2, 3]), Buffer.from('name\0comment\0')]);
    const withCrc = Buffer.concat([header, Buffer.from([crc32(header) & 0xff, (crc32(header) >> 8) & 0xff])]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(Buffer.from('hello')), 0);
    trailer.writeUInt32LE(5, 4);
    const member = Buffer.concat([withCrc, body, trailer]);
    expect(splitGzipMembers(Buffer.concat([member, gzipSync('world')])).map((m) => m.content.toString())).toEqual(['hello', 'world']);
    const badCrc = Buffer.from(member);
    badCrc[withCrc.length - 1]! ^= 1;
    expect(() => splitGzipMembers(badCrc, { name: 'x.apk' })).toThrow(expect.objectContaining({ code: 'APK_GZIP_INVALID', message: 'x.apk: gzip member at byte 0: header CRC mismatch' }));
  });

  it('returns null for a member cut off by the end of the buffer, and refuses a corrupt one', () => {
    const member = gzipSync(Buffer.alloc(5000, 7));
    for (const cut of [0, 5, 12, member.length - 12, member.length - 1]) expect(readGzipMember(member.subarray(0, cut), 0, 0), `cut at ${cut}`).toBeNull();
    expect(() => splitGzipMembers(member.subarray(0, member.length - 1))).toThrow(expect.objectContaining({ code: 'APK_GZIP_INVALID', message: 'gzip member at byte 0: truncated (the input ends inside it)' }));
    const corrupt = Buffer.from(member);
    corrupt[corrupt.length - 6]! ^= 0xff; // CRC/length trailer
    expect(() => readGzipMember(corrupt, 0, 0)).toThrow(expect.objectContaining({ code: 'APK_GZIP_INVALID', message: expect.stringContaining('CRC-32 mismatch') }));
    expect(() => readGzipMember(Buffer.concat([member, Buffer.from('garbage---')]), member.length, 1)).toThrow(expect.objectContaining({ message: expect.stringContaining('trailing bytes after the last gzip member') }));
    expect(() => readGzipMember(Buffer.from('not gzip at all'), 0, 0)).toThrow(expect.objectContaining({ message: 'gzip member at byte 0: not a gzip file (bad magic)' }));
  });

  it('refuses a member that inflates past the limit with APK_LIMIT_EXCEEDED', () => {
    const member = gzipSync(Buffer.alloc(5000, 7));
    expect(readGzipMember(member, 0, 0, { maxMemberSize: 5000 })!.content).toHaveLength(5000);
    expect(() => readGzipMember(member, 0, 0, { maxMemberSize: 4999, name: 'big.apk' })).toThrow(expect.objectContaining({ code: 'APK_LIMIT_EXCEEDED', message: 'big.apk: gzip member 0 inflates to more than 4999 bytes' }));
  });

  it('caps what all members inflate to together, when each is under its own limit', () => {
    const member = gzipSync(Buffer.alloc(5000, 7));
    const three = Buffer.concat([member, member, member]);
    expect(splitGzipMembers(three, { maxTotalSize: 15000, maxMemberSize: 5000 })).toHaveLength(3);
    const over = { code: 'APK_LIMIT_EXCEEDED', message: 'layer: gzip members inflate to more than 14999 bytes in total' };
    expect(() => splitGzipMembers(three, { name: 'layer', maxTotalSize: 14999, maxMemberSize: 5000 })).toThrow(expect.objectContaining(over));
    expect(() => splitGzipMembers(three, { name: 'layer', maxTotalSize: 14999 })).toThrow(expect.objectContaining(over));
    expect(() => splitGzipMembers(three, { name: 'layer', maxTotalSize: 20000, maxMemberSize: 4999 })).toThrow(expect.objectContaining({ message: 'layer: gzip member 0 inflates to more than 4999 bytes' }));
  });
});
