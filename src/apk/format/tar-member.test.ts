import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GzipMemberReader, splitGzipMembers } from './gzip-members.ts';
import { readTarEntries, TarMemberReader } from './tar-member.ts';
import { BLOCK, encodeHeader, padding } from './tar.ts';
import type { TarHeader } from './tar.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');

/** Every member's entries as the streaming reader sees them (headers and file contents). */
async function streamed(bytes: Buffer): Promise<Array<Array<{ header: TarHeader; content: Buffer }>>> {
  const gzip = new GzipMemberReader(Readable.from([bytes]), 'test');
  const members = [];
  for (let member = await gzip.next(); member; member = await gzip.next()) {
    const tar = new TarMemberReader(member, 'test');
    const entries = [];
    for (;;) {
      const step = await tar.next();
      if (step.kind !== 'entry') {
        if (step.kind === 'end-of-archive') await tar.finishArchive();
        break;
      }
      entries.push({ header: step.header, content: await tar.content(step.header.size, 'content') });
    }
    while (await member.read());
    members.push(entries);
  }
  return members;
}

/** A GNU `L` long-name record, written by hand (Kiln's writer uses PAX). */
function gnuLongName(name: string): Buffer {
  const body = Buffer.from(`${name}\0`);
  const header = Buffer.alloc(BLOCK);
  header.write('././@LongLink', 0);
  header.write('0000644\0', 100);
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('L', 156);
  header.write('ustar\u000000', 257, 'latin1');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([header, body, padding(body.length)]);
}

function file(name: string, data: string, pax?: Array<[string, string]>): Buffer {
  const body = Buffer.from(data);
  return Buffer.concat([encodeHeader({ name, type: 'file', mode: 0o644, size: body.length, mtime: 0, ...(pax ? { pax } : {}) }), body, padding(body.length)]);
}

describe('readTarEntries', () => {
  for (const fixture of ['apko/hello-0.1.0-r0.apk', 'apko/alpine-317/APKINDEX.tar.gz']) {
    it(`reads every member of ${fixture} as the streaming reader does`, async () => {
      const bytes = readFileSync(join(fixtures, fixture));
      // contents compared by digest: deep equality of large Buffers is slow
      const summary = (entries: Array<{ header: TarHeader; content: Buffer }>) => entries.map(({ header, content }) => ({ header, content: createHash('sha256').update(content).digest('hex') }));
      const members = splitGzipMembers(bytes).map((member) => summary(readTarEntries(member.content, fixture)));
      expect(members).toEqual((await streamed(bytes)).map(summary));
    });
  }

  it('applies PAX and GNU long-name records and stops at the end-of-archive block', () => {
    const longName = `usr/share/${'x'.repeat(150)}`;
    const gnuName = `usr/lib/${'y'.repeat(150)}`;
    const tar = Buffer.concat([
      file('.PKGINFO', 'pkgname = a\n'),
      file(longName, 'long', [['APK-TOOLS.checksum.SHA1', 'a'.repeat(40)]]),
      gnuLongName(gnuName),
      file('short', 'gnu'),
      Buffer.alloc(2 * BLOCK),
      file('after-the-end', 'never read'),
    ]);
    const entries = readTarEntries(tar, 'x.tar');
    expect(entries.map((entry) => [entry.header.name, entry.content.toString(), entry.header.checksumSha1])).toEqual([
      ['.PKGINFO', 'pkgname = a\n', undefined],
      [longName, 'long', 'a'.repeat(40)],
      [gnuName, 'gnu', undefined],
    ]);
  });

  it('refuses what the streaming reader refuses: bad checksums, cut-off entries, dangling records', () => {
    const good = file('a', 'content');
    const badSum = Buffer.from(good);
    badSum[0] = 0x62;
    expect(() => readTarEntries(badSum, 'x.tar')).toThrow(expect.objectContaining({ code: 'APK_TAR_INVALID', message: expect.stringContaining('checksum mismatch') }));
    expect(() => readTarEntries(good.subarray(0, BLOCK + 3), 'x.tar')).toThrow(expect.objectContaining({ code: 'APK_TAR_INVALID', message: 'x.tar: "a" at offset 0 is cut off at the end of the tar' }));
    expect(() => readTarEntries(good.subarray(0, 100), 'x.tar')).toThrow(expect.objectContaining({ code: 'APK_TAR_INVALID', message: 'x.tar: the tar ends inside a header block at offset 0' }));
    const paxOnly = encodeHeader({ name: 'p', type: 'file', mode: 0o644, mtime: 0, pax: [['comment', 'x']] }).subarray(0, 2 * BLOCK);
    expect(() => readTarEntries(paxOnly, 'x.tar')).toThrow(expect.objectContaining({ message: 'x.tar: the tar ends after an extended header with no entry' }));
    expect(() => readTarEntries(Buffer.concat([paxOnly, paxOnly, good]), 'x.tar')).toThrow(expect.objectContaining({ message: 'x.tar: two PAX headers in a row' }));
  });
});
