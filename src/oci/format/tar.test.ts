import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeTar, encodeTarHeader } from './tar.ts';
import type { TarMember } from './tar.ts';

async function readBack(bytes: Uint8Array): Promise<Array<{ name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname: string | null; pax: Record<string, string>; content: string; uname: string }>> {
  const extract = tarStream.extract();
  const out: Array<{ name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname: string | null; pax: Record<string, string>; content: string; uname: string }> = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        chunks.push(chunk as Buffer);
      });
      stream.on('end', () => {
        out.push({
          name: header.name,
          type: header.type ?? 'file',
          mode: header.mode ?? 0,
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
          mtime: Math.floor((header.mtime?.getTime() ?? 0) / 1000),
          linkname: header.linkname ?? null,
          pax: (header.pax ?? {}) as Record<string, string>,
          content: Buffer.concat(chunks).toString('utf8'),
          uname: header.uname ?? '',
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([Buffer.from(bytes)]).pipe(extract);
  await done;
  return out;
}

describe('tar writer', () => {
  it('writes Go-dialect ustar headers', () => {
    const header = encodeTarHeader({ name: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 1700000000, size: 5 });
    expect(header.length).toBe(512);
    const text = Buffer.from(header);
    expect(text.subarray(100, 108).toString('latin1')).toBe('0000644\0');
    expect(text.subarray(124, 136).toString('latin1')).toBe('00000000005\0');
    expect(text.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(text.subarray(329, 337).toString('latin1')).toBe('0000000\0');
    // checksum: 6 octal digits, NUL, space
    expect(text.subarray(148, 156).toString('latin1')).toMatch(/^[0-7]{6}\0 $/);
  });

  it('uses a PaxHeaders.0 entry for xattrs and very long names, sorted by key', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const bytes = encodeTarHeader({ name: long, type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, pax: { 'SCHILY.xattr.security.capability': 'x', 'APK-TOOLS.checksum.SHA1': 'ab' } });
    const text = Buffer.from(bytes).toString('latin1');
    expect(text.slice(0, 100).replace(/\0+$/, '')).toBe(`${'d'.repeat(120)}/PaxHeaders.0/${'f'.repeat(120)}`.slice(0, 100));
    expect(text.charAt(156)).toBe('x');
    const records = text.slice(512, 512 + 200);
    expect(records.indexOf('APK-TOOLS')).toBeLessThan(records.indexOf('SCHILY'));
    expect(records.indexOf('path=')).toBeGreaterThan(records.indexOf('APK-TOOLS'));
  });

  it('writes a binary xattr value (a file capability) byte for byte, its record length counting bytes', () => {
    // VFS_CAP_REVISION_2 with cap_setuid permitted and effective: bytes above 0x7f must stay single bytes.
    const capability = Uint8Array.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const bytes = Buffer.from(encodeTarHeader({ name: 'usr/bin/tool', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, pax: { 'SCHILY.xattr.security.capability': capability } }));
    const size = parseInt(bytes.subarray(124, 136).toString('latin1'), 8);
    const records = bytes.subarray(512, 512 + size);
    const key = Buffer.from(' SCHILY.xattr.security.capability=');
    const start = records.indexOf(key);
    const length = Number(records.subarray(0, start).toString('latin1'));
    expect(length).toBe(records.length);
    expect(Buffer.compare(records.subarray(start + key.length, records.length - 1), Buffer.from(capability))).toBe(0);
    expect(records[records.length - 1]).toBe(0x0a);
  });

  it('round-trips through tar-stream and GNU tar', async () => {
    const members: TarMember[] = [
      { header: { name: 'bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 10 } },
      { header: { name: 'bin/su', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 11, uname: 'root', gname: 'root' }, content: Buffer.from('setuid') },
      { header: { name: 'bin/sh', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 12, linkname: '/bin/busybox' } },
      { header: { name: 'bin/su2', type: 'hardlink', mode: 0o4755, uid: 0, gid: 0, mtime: 11, linkname: 'bin/su' } },
      { header: { name: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, mtime: 0, devmajor: 1, devminor: 3 } },
      { header: { name: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime: 0 } },
      { header: { name: 'home/u', type: 'dir', mode: 0o700, uid: 65532, gid: 65532, mtime: 0, uname: 'nonroot' } },
    ];
    const bytes = encodeTar(members);
    const entries = await readBack(bytes);
    expect(entries.map((entry) => [entry.name, entry.type, entry.mode, entry.uid, entry.linkname])).toEqual([
      ['bin', 'directory', 0o755, 0, null],
      ['bin/su', 'file', 0o4755, 0, null],
      ['bin/sh', 'symlink', 0o777, 0, '/bin/busybox'],
      ['bin/su2', 'link', 0o4755, 0, 'bin/su'],
      ['dev/null', 'character-device', 0o666, 0, null],
      ['tmp', 'directory', 0o1777, 0, null],
      ['home/u', 'directory', 0o700, 65532, null],
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-tar-'));
    try {
      writeFileSync(join(dir, 'a.tar'), bytes);
      const listing = execFileSync('tar', ['tvf', join(dir, 'a.tar'), '--numeric-owner'], { encoding: 'utf8' });
      expect(listing).toContain('-rwsr-xr-x 0/0');
      expect(listing).toContain('drwxrwxrwt 0/0');
      expect(listing).toContain('bin/sh -> /bin/busybox');
      expect(listing).toContain('bin/su2 link to bin/su');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips arbitrary names, modes, owners, times and contents (property)', async () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9._-]{1,60}$/).filter((s) => s !== '.' && s !== '..');
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 0o7777 }),
        fc.integer({ min: 0, max: 0o7777777 }), // larger ids go to PAX records, which tar-stream does not read back
        fc.integer({ min: 0, max: 2 ** 33 - 1 }),
        fc.string({ maxLength: 300 }),
        async (parts, mode, uid, mtime, content) => {
          const name = parts.join('/');
          const entries = await readBack(encodeTar([{ header: { name, type: 'file', mode, uid, gid: uid, mtime }, content: Buffer.from(content) }]));
          expect(entries).toHaveLength(1);
          expect(entries[0]).toMatchObject({ name, mode, uid, gid: uid, mtime, content });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps a name of exactly 100 bytes in the name field and splits one of 101 at a slash (boundaries)', () => {
    const field = (bytes: Uint8Array, start: number, length: number) => Buffer.from(bytes.subarray(start, start + length)).toString('latin1').replace(/\0+$/, '');
    for (const name of ['n'.repeat(100), `${'a'.repeat(49)}/${'b'.repeat(50)}`]) {
      const header = encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
      expect(header.length, name).toBe(512);
      expect(field(header, 0, 100)).toBe(name);
      expect(field(header, 345, 155)).toBe('');
    }
    const longer = `${'a'.repeat(50)}/${'b'.repeat(50)}`;
    const split = encodeTarHeader({ name: longer, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
    expect(split.length).toBe(512);
    expect(field(split, 0, 100)).toBe('b'.repeat(50));
    expect(field(split, 345, 155)).toBe('a'.repeat(50));
    // 101 bytes with no slash to split at: the name goes to a PAX path record.
    const unsplittable = encodeTarHeader({ name: 'n'.repeat(101), type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
    expect(Buffer.from(unsplittable.subarray(512, 1024)).toString('latin1')).toContain(` path=${'n'.repeat(101)}\n`);
  });

  it('counts the length digits into a PAX record length, also where they roll over', () => {
    const records = (value: string) => {
      const bytes = encodeTarHeader({ name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, pax: { 'APK-TOOLS.checksum.SHA1': value } });
      const size = parseInt(Buffer.from(bytes.subarray(124, 136)).toString('latin1'), 8);
      return Buffer.from(bytes.subarray(512, 512 + size)).toString('latin1');
    };
    // " APK-TOOLS.checksum.SHA1=" is 25 bytes and the newline 1: a 71-byte value makes a 97-byte body.
    expect(records('a'.repeat(71))).toBe(`99 APK-TOOLS.checksum.SHA1=${'a'.repeat(71)}\n`);
    expect(records('a'.repeat(72))).toBe(`101 APK-TOOLS.checksum.SHA1=${'a'.repeat(72)}\n`);
    expect(records('a'.repeat(73))).toBe(`102 APK-TOOLS.checksum.SHA1=${'a'.repeat(73)}\n`);
    expect(records('ab')).toBe('30 APK-TOOLS.checksum.SHA1=ab\n');
    for (const length of [71, 72, 73]) {
      const record = records('a'.repeat(length));
      expect(Number(record.split(' ')[0]), record).toBe(record.length);
    }
  });

  it('rejects absolute names and negative ids', () => {
    expect(() => encodeTarHeader({ name: '/etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 })).toThrow(/not a relative path/);
    expect(() => encodeTarHeader({ name: 'etc', type: 'dir', mode: 0o755, uid: -1, gid: 0, mtime: 0 })).toThrow(/uid/);
  });
});
