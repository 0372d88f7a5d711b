import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GzipMemberReader } from './gzip-members.ts';

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
