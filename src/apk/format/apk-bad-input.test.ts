// Hostile and broken packages/indexes: every one must be refused with a typed error naming the
// file and the fault. Packages are crafted here from raw tar blocks so that the writer's own
// validation cannot hide a reader gap.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../lib/index.ts';
import { readApk, summarizeApk } from './apk-reader.ts';
import type { ReadApkOptions } from './apk-reader.ts';
import { splitGzipMembers } from './gzip-members.ts';
import { buildIndex, readIndex } from './index-archive.ts';
import { parseRecords } from './record.ts';
import { createSignatureVerifier, signBytes } from './signature.ts';
import { BLOCK, encodeHeader, padding } from './tar.ts';
import type { TarWriteHeader } from './tar.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyring = new Map([['test.rsa.pub', publicKey]]);

interface RawEntry {
  header: Partial<TarWriteHeader> & { name: string };
  data?: Buffer | string;
  /** Patches the header block (checksum is recomputed afterwards). */
  patch?: (block: Buffer) => void;
}

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

function tarBlocks(entries: RawEntry[], end: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = encodeHeader({ type: 'file', mode: 0o644, mtime: 0, size: data.length, ...entry.header });
    if (entry.patch) {
      const last = header.subarray(header.length - BLOCK);
      entry.patch(last);
      fixChecksum(last);
    }
    parts.push(header, data, padding(data.length));
  }
  if (end) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

const sha1 = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');

/** Signature entries by keys nobody trusts, `size` bytes each. */
const decoys = (count: number, size = 512): RawEntry[] => Array.from({ length: count }, (_, i) => ({ header: { name: `.SIGN.RSA256.decoy-${i}.rsa.pub` }, data: Buffer.alloc(size, 0x41) }));

/** Yields `member` `count` times, counting how many the reader pulled. */
function repeated(member: Buffer, count: number, pulled: { count: number }): AsyncIterable<Buffer> {
  return (async function* () {
    for (let i = 0; i < count; i++) {
      pulled.count++;
      yield member;
    }
  })();
}

interface CraftOptions {
  control?: RawEntry[];
  data?: RawEntry[];
  dataEnd?: boolean;
  controlEnd?: boolean;
  sign?: 'good' | 'bad' | 'other-key' | 'none';
  datahash?: 'right' | 'wrong' | 'none';
  extraMember?: Buffer;
}

function craft(options: CraftOptions = {}): Buffer {
  const data = gzipSync(tarBlocks(options.data ?? [{ header: { name: 'hello', mode: 0o755, pax: [['APK-TOOLS.checksum.SHA1', sha1('hi\n')]] }, data: 'hi\n' }], options.dataEnd ?? true));
  const datahash = createHash('sha256').update(data).digest('hex');
  const hashLine = options.datahash === 'none' ? '' : `datahash = ${options.datahash === 'wrong' ? '0'.repeat(64) : datahash}\n`;
  const pkginfo = `pkgname = demo\npkgver = 1.0-r0\narch = x86_64\n${hashLine}`;
  const control = gzipSync(tarBlocks(options.control ?? [{ header: { name: '.PKGINFO' }, data: pkginfo }], options.controlEnd ?? false));
  const sign = options.sign ?? 'good';
  let signature = Buffer.alloc(0);
  if (sign !== 'none') {
    let sig = signBytes(control, sign === 'other-key' ? other.privateKey : privateKey, 'RSA256');
    if (sign === 'bad') sig = Buffer.from(sig.map((byte, index) => (index === 10 ? byte ^ 1 : byte)));
    signature = gzipSync(tarBlocks([{ header: { name: '.SIGN.RSA256.test.rsa.pub' }, data: sig }], false));
  }
  return Buffer.concat([signature, control, data, options.extraMember ?? Buffer.alloc(0)]);
}

async function read(bytes: Buffer, options: ReadApkOptions = {}) {
  return summarizeApk(Readable.from([bytes]), { name: 'bad.apk', keyring, ...options });
}

async function expectRefused(bytes: Buffer, code: string, message?: RegExp, options: ReadApkOptions = {}): Promise<void> {
  const error = await read(bytes, options).then(() => undefined, (caught: unknown) => caught);
  expect(isKilnError(error), String(error)).toBe(true);
  expect((error as { code: string }).code, (error as Error).message).toBe(code);
  expect((error as Error).message).toContain('bad.apk');
  if (message) expect((error as Error).message).toMatch(message);
}

describe('crafted packages: the baseline is accepted', () => {
  it('reads the well-formed crafted package', async () => {
    const summary = await read(craft());
    expect(summary.control.trust).toBe('signature');
    expect(summary.entries.map((e) => e.path)).toEqual(['hello']);
  });
});

describe('truncated and corrupt gzip', () => {
  it('refuses every truncation of a package with a typed error', async () => {
    const bytes = craft();
    for (let length = 0; length < bytes.length; length++) {
      const error = await read(bytes.subarray(0, length)).then(() => undefined, (caught: unknown) => caught);
      expect(isKilnError(error), `cut at ${length}: ${String(error)}`).toBe(true);
      expect(['APK_GZIP_INVALID', 'APK_PACKAGE_INVALID', 'APK_TAR_INVALID']).toContain((error as { code: string }).code);
    }
  });

  it('refuses a flip of any byte outside the signature member; inside it, a flip is harmless or refused (property)', async () => {
    const bytes = craft();
    // The signature member is authenticated by nothing (as in apk): its gzip header fields and any
    // deflate bits that do not change the inflated signature may vary. Everything after it may not.
    const signatureLength = bytes.length - craft({ sign: 'none' }).length;
    const original = await read(bytes);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (position, mask) => {
        const copy = Buffer.from(bytes);
        copy[position]! ^= mask;
        const result = await read(copy).then((summary) => summary, (caught: unknown) => caught);
        if (isKilnError(result)) return;
        expect(position, `byte ${position} ^ ${mask} was accepted`).toBeLessThan(signatureLength);
        expect((result as typeof original).control.identity).toBe(original.control.identity);
        expect((result as typeof original).end.datahash).toBe(original.end.datahash);
      }),
      { numRuns: 300, examples: [[3, 1], [3, 2], [signatureLength + 20, 0x80], [bytes.length - 3, 1]] },
    );
  });

  it('names the gzip fault', async () => {
    await expectRefused(Buffer.from('not a package at all'), 'APK_GZIP_INVALID', /not a gzip file/);
    const bytes = craft();
    await expectRefused(Buffer.concat([bytes, Buffer.from('trailing junk')]), 'APK_GZIP_INVALID', /trailing bytes/);
  });
});

describe('signatures, datahash and identity', () => {
  it('refuses a corrupted signature from a trusted key, even with allowUntrusted', async () => {
    await expectRefused(craft({ sign: 'bad' }), 'APK_SIGNATURE_INVALID', /does not verify with trusted key test.rsa.pub/);
    await expectRefused(craft({ sign: 'bad' }), 'APK_SIGNATURE_INVALID', undefined, { allowUntrusted: true });
  });

  it('refuses a signature made by another key under a trusted name', async () => {
    await expectRefused(craft({ sign: 'other-key' }), 'APK_SIGNATURE_INVALID');
  });

  it('refuses to build a verifier for an algorithm it cannot verify, with a typed error naming the entry', () => {
    const entry = { entryName: '.SIGN.DSA.test.rsa.pub', algorithm: 'DSA', keyName: 'test.rsa.pub', signature: Buffer.alloc(1) };
    expect(() => createSignatureVerifier(entry)).toThrow(expect.objectContaining({ code: 'APK_UNTRUSTED', message: expect.stringContaining('.SIGN.DSA.test.rsa.pub') }));
  });

  it('refuses an unsigned package, and one signed by an unknown key', async () => {
    await expectRefused(craft({ sign: 'none' }), 'APK_UNTRUSTED', /not signed/);
    await expectRefused(craft(), 'APK_UNTRUSTED', /test.rsa.pub, none of which is in the keyring/, { keyring: new Map() });
  });

  it('refuses a datahash mismatch after the data member', async () => {
    await expectRefused(craft({ datahash: 'wrong' }), 'APK_DATAHASH_MISMATCH', /\.PKGINFO says datahash 0000/);
  });

  it('verifies a legacy package (no datahash) over control and data at the end', async () => {
    const summary = await read(craft({ datahash: 'none', sign: 'none' }), { allowUntrusted: true });
    expect(summary.end.hadDatahash).toBe(false);
    expect(summary.control.trust).toBe('untrusted');
    // signed over control ‖ data, as legacy abuild did
    const unsigned = craft({ datahash: 'none', sign: 'none' });
    const sig = signBytes(unsigned, privateKey, 'RSA256');
    const legacy = Buffer.concat([gzipSync(tarBlocks([{ header: { name: '.SIGN.RSA256.test.rsa.pub' }, data: sig }], false)), unsigned]);
    const verified = await read(legacy);
    expect(verified.control).toMatchObject({ trust: 'signature', signedBy: 'test.rsa.pub' });
    const tampered = Buffer.concat([gzipSync(tarBlocks([{ header: { name: '.SIGN.RSA256.test.rsa.pub' }, data: sig }], false)), craft({ datahash: 'none', sign: 'none', data: [{ header: { name: 'other' }, data: 'x' }] })]);
    await expectRefused(tampered, 'APK_SIGNATURE_INVALID', /over control and data/);
  });

  it('verifies the trusted signature after 15 others, keeping the names of all 16', async () => {
    const unsigned = craft({ sign: 'none' });
    const control = splitGzipMembers(unsigned)[0]!.bytes;
    const real = { header: { name: '.SIGN.RSA256.test.rsa.pub' }, data: signBytes(control, privateKey, 'RSA256') };
    const summary = await read(Buffer.concat([gzipSync(tarBlocks([...decoys(15), real], false)), unsigned]));
    expect(summary.control.trust).toBe('signature');
    expect(summary.control.signatures).toHaveLength(16);
    expect(summary.control.signatures.map((s) => s.verified)).toEqual([...Array<boolean>(15).fill(false), true]);
  });

  it('refuses more than 16 signature entries, in one member or many, before reading on', async () => {
    const unsigned = craft({ sign: 'none' });
    await expectRefused(Buffer.concat([gzipSync(tarBlocks(decoys(17), false)), unsigned]), 'APK_LIMIT_EXCEEDED', /more than 16 signature entries/);
    const many = Buffer.concat([...decoys(17).map((entry) => gzipSync(tarBlocks([entry], false))), unsigned]);
    await expectRefused(many, 'APK_LIMIT_EXCEEDED', /more than 16 signature entries/);
    // the reviewer's shape: member after member of 64 KiB signatures; stops within the first few of 200 members
    const pulled = { count: 0 };
    const member = gzipSync(tarBlocks(decoys(64, 65536), false));
    const error = await summarizeApk(repeated(member, 200, pulled), { name: 'bomb.apk', keyring }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'APK_LIMIT_EXCEEDED', message: expect.stringMatching(/^bomb\.apk: signature entries hold more than 262144 bytes/) });
    expect(pulled.count).toBeLessThan(5);
  });

  it('refuses signature entries that hold more than 256 KiB together', async () => {
    await expectRefused(Buffer.concat([gzipSync(tarBlocks(decoys(5, 65536), false)), craft({ sign: 'none' })]), 'APK_LIMIT_EXCEEDED', /signature entries hold more than 262144 bytes together/);
  });

  it('refuses a file whose content does not match its PAX checksum, and says which file', async () => {
    const data = [{ header: { name: 'hello', pax: [['APK-TOOLS.checksum.SHA1', sha1('other')]] as Array<[string, string]> }, data: 'hi\n' }];
    await expectRefused(craft({ data }), 'APK_CHECKSUM_MISMATCH', /"hello" has SHA-1/);
    const link = [{ header: { name: 'l', type: 'symlink' as const, linkName: 'target', pax: [['APK-TOOLS.checksum.SHA1', sha1('elsewhere')]] as Array<[string, string]> } }];
    await expectRefused(craft({ data: link }), 'APK_CHECKSUM_MISMATCH', /"l"/);
  });
});

describe('entries escaping the root', () => {
  const cases: Array<[string, RawEntry[], string, RegExp]> = [
    ['a ../ path', [{ header: { name: '../etc/passwd' } }], 'APK_PATH_UNSAFE', /"\.\.\/etc\/passwd" has a "\.\." path component/],
    ['a ../ in the middle', [{ header: { name: 'usr', type: 'directory' } }, { header: { name: 'usr/../../x' } }], 'APK_PATH_UNSAFE', /"\.\." path component/],
    ['an absolute path', [{ header: { name: '/etc/passwd' } }], 'APK_PATH_UNSAFE', /absolute path/],
    ['a control character', [{ header: { name: 'a\nb' } }], 'APK_PATH_UNSAFE', /control characters/],
    ['an empty component', [{ header: { name: 'usr', type: 'directory' } }, { header: { name: 'usr//x' } }], 'APK_PATH_UNSAFE', /empty path component/],
    ['a file below a symlink', [{ header: { name: 'lib', type: 'symlink', linkName: '/etc' } }, { header: { name: 'lib/passwd' } }], 'APK_PATH_UNSAFE', /below "lib", which is a symlink/],
    ['a file below a file', [{ header: { name: 'f' }, data: 'x' }, { header: { name: 'f/x' } }], 'APK_PATH_UNSAFE', /which is a file/],
    ['a hard link out of the root', [{ header: { name: 'h', type: 'hardlink', linkName: '../../etc/shadow' } }], 'APK_PATH_UNSAFE', /hard link h.*"\.\." path component/],
    ['a hard link to an absolute path', [{ header: { name: 'h', type: 'hardlink', linkName: '/etc/shadow' } }], 'APK_PATH_UNSAFE', /absolute path/],
    ['a hard link to a file not in the package', [{ header: { name: 'h', type: 'hardlink', linkName: 'etc/shadow' } }], 'APK_PATH_UNSAFE', /not an earlier regular file of this package/],
    ['a hard link to a directory', [{ header: { name: 'd', type: 'directory' } }, { header: { name: 'h', type: 'hardlink', linkName: 'd' } }], 'APK_PATH_UNSAFE', /not an earlier regular file/],
    ['a file without its parent directory', [{ header: { name: 'usr/bin/x' } }], 'APK_PACKAGE_INVALID', /without\) a directory entry for "usr\/bin"/],
    ['a file given twice', [{ header: { name: 'x' } }, { header: { name: 'x' } }], 'APK_PACKAGE_INVALID', /appears twice/],
    ['a NUL byte in a PAX path', [{ header: { name: 'x', pax: [['path', 'etc/passwd\0.txt']] } }], 'APK_TAR_INVALID', /NUL byte/],
    ['a GNU long name climbing out', [{ header: { name: '././@LongLink' }, data: '../../../etc/cron.d/x', patch: (block) => block.write('L', 156, 'latin1') }, { header: { name: 'short' } }], 'APK_PATH_UNSAFE', /"\.\." path component/],
  ];
  for (const [what, data, code, message] of cases) {
    it(`refuses ${what}`, async () => {
      await expectRefused(craft({ data }), code, message);
    });
  }

  it('skips dot-leading names as apk does, without exposing them', async () => {
    const data = [{ header: { name: './usr', type: 'directory' as const } }, { header: { name: './usr/evil' }, data: 'x' }, { header: { name: 'ok' }, data: 'y' }];
    const summary = await read(craft({ data }));
    expect(summary.entries.map((e) => e.path)).toEqual(['ok']);
    expect(summary.end.skipped).toEqual(['./usr', './usr/evil']);
  });

  it('keeps absolute and ../ symlink targets verbatim (they resolve inside the image root)', async () => {
    const data = [{ header: { name: 'l', type: 'symlink' as const, linkName: '../../../../etc/passwd' } }];
    const summary = await read(craft({ data }));
    expect(summary.entries[0]).toMatchObject({ type: 'symlink', linkTarget: '../../../../etc/passwd' });
  });
});

describe('layout faults and absurd sizes', () => {
  const pkginfo = 'pkgname = demo\npkgver = 1.0-r0\n';
  it('refuses end-of-archive blocks in the control member', async () => {
    await expectRefused(craft({ controlEnd: true }), 'APK_PACKAGE_INVALID', /end-of-archive blocks inside the control member/);
  });
  it('refuses data entries inside the control member', async () => {
    await expectRefused(craft({ control: [{ header: { name: '.PKGINFO' }, data: pkginfo }, { header: { name: 'usr/bin/x' } }] }), 'APK_PACKAGE_INVALID', /must start a new gzip member/);
  });
  it('refuses a control member without .PKGINFO, two .PKGINFO, and APKv1 .INSTALL', async () => {
    await expectRefused(craft({ control: [{ header: { name: '.post-install' }, data: 'x' }] }), 'APK_PACKAGE_INVALID', /no \.PKGINFO/);
    await expectRefused(craft({ control: [{ header: { name: '.PKGINFO' }, data: pkginfo }, { header: { name: '.PKGINFO' }, data: pkginfo }] }), 'APK_PACKAGE_INVALID', /two \.PKGINFO/);
    await expectRefused(craft({ control: [{ header: { name: '.PKGINFO' }, data: pkginfo }, { header: { name: '.INSTALL' }, data: 'x' }] }), 'APK_PACKAGE_INVALID', /\.INSTALL/);
  });
  it('refuses a malformed .PKGINFO, naming the line', async () => {
    await expectRefused(craft({ control: [{ header: { name: '.PKGINFO' }, data: 'pkgname = demo\nthis is not a field\n' }] }), 'APK_PKGINFO_INVALID', /\.PKGINFO:2: expected "key = value"/);
    await expectRefused(craft({ control: [{ header: { name: '.PKGINFO' }, data: 'pkgname = demo\npkgver = 1\nsize = lots\n' }] }), 'APK_PKGINFO_INVALID', /size is not a decimal number/);
  });
  it('refuses a data member without end blocks, junk after them, and a fourth member', async () => {
    await expectRefused(craft({ dataEnd: false }), 'APK_PACKAGE_INVALID', /no end-of-archive/);
    await expectRefused(craft({ extraMember: gzipSync(Buffer.alloc(1024)) }), 'APK_PACKAGE_INVALID', /extra gzip member/);
    const junk = [{ header: { name: 'x' }, data: 'y' }];
    const data = gzipSync(Buffer.concat([tarBlocks(junk, true), Buffer.from('hidden payload')]));
    const pkg = craft({ sign: 'none', datahash: 'none' });
    const withoutData = pkg.subarray(0, pkg.length - gzipSync(tarBlocks([{ header: { name: 'hello', mode: 0o755, pax: [['APK-TOOLS.checksum.SHA1', sha1('hi\n')]] }, data: 'hi\n' }], true)).length);
    await expectRefused(Buffer.concat([withoutData, data]), 'APK_PACKAGE_INVALID', /non-zero bytes after the end-of-archive/, { allowUntrusted: true });
  });
  it('caps .PKGINFO, scripts, signatures and PAX headers before reading them', async () => {
    const huge = (name: string, size: number): RawEntry => ({ header: { name }, data: Buffer.alloc(0), patch: (block) => block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1') });
    await expectRefused(craft({ control: [huge('.PKGINFO', 200 << 20)] }), 'APK_LIMIT_EXCEEDED', /\.PKGINFO is 209715200 bytes/);
    await expectRefused(craft({ control: [{ header: { name: '.PKGINFO' }, data: pkginfo }, huge('.pre-install', 300 << 10)] }), 'APK_LIMIT_EXCEEDED', /script \.pre-install/);
    const bigSignature = gzipSync(tarBlocks([huge('.SIGN.RSA256.test.rsa.pub', 1 << 20)], false));
    const unsigned = craft({ sign: 'none' });
    await expectRefused(Buffer.concat([bigSignature, unsigned]), 'APK_LIMIT_EXCEEDED', /signature entry/);
    const paxBomb = [{ header: { name: 'PaxHeaders/x' }, patch: (block: Buffer) => { block.write('x', 156, 'latin1'); block.write(`${(64 << 20).toString(8).padStart(11, '0')}\0`, 124, 'latin1'); } }];
    await expectRefused(craft({ data: paxBomb }), 'APK_LIMIT_EXCEEDED', /PAX header of 67108864 bytes/);
  });
  it('refuses a file size larger than what the member holds, and base-256 numbers', async () => {
    const lying = [{ header: { name: 'x' }, data: 'abc', patch: (block: Buffer) => block.write(`${(8 * 2 ** 30 - 1).toString(8).padStart(11, '0')}\0`, 124, 'latin1') }];
    await expectRefused(craft({ data: lying }), 'APK_TAR_INVALID', /cut off/);
    const binary = [{ header: { name: 'x' }, data: 'abc', patch: (block: Buffer) => { block.fill(0, 124, 136); block[124] = 0x80; block[135] = 3; } }];
    await expectRefused(craft({ data: binary }), 'APK_TAR_INVALID', /base-256/);
  });
  it('refuses a bad tar header checksum and a non-ustar header', async () => {
    const data = tarBlocks([{ header: { name: 'x' }, data: 'y' }], true);
    data[0]! ^= 1;
    const pkg = craft({ sign: 'none', datahash: 'none' });
    const withoutData = pkg.subarray(0, pkg.length - gzipSync(tarBlocks([{ header: { name: 'hello', mode: 0o755, pax: [['APK-TOOLS.checksum.SHA1', sha1('hi\n')]] }, data: 'hi\n' }], true)).length);
    await expectRefused(Buffer.concat([withoutData, gzipSync(data)]), 'APK_TAR_INVALID', /checksum mismatch/, { allowUntrusted: true });
    await expectRefused(craft({ data: [{ header: { name: 'x' }, patch: (block) => block.write('notus', 257, 'latin1') }] }), 'APK_TAR_INVALID', /no ustar magic/);
  });
  it('caps the decompressed data size', async () => {
    const data = [{ header: { name: 'zeros' }, data: Buffer.alloc(1 << 20) }];
    await expectRefused(craft({ data }), 'APK_LIMIT_EXCEEDED', /inflates to more than 65536 bytes/, { limits: { maxDataSize: 65536 } });
  });
  it('stops content reads that happen after moving on', async () => {
    const iterator = readApk(Readable.from([craft()]), { keyring });
    let content: AsyncIterable<Buffer> | undefined;
    for await (const item of iterator) if (item.kind === 'entry') content = item.content;
    await expect((async () => { for await (const _ of content!) void _; })()).rejects.toThrow(/read after moving on/);
  });
});

describe('indexes', () => {
  const record = 'C:Q1DNWZeWkviN7MJedLpYM8yBvmnGM=\nP:hello\nV:0.1.0-r0\nS:499\nI:4117\nT:x\nU:\nL:MIT\n';
  it('refuses unknown upper-case fields in a signed index', async () => {
    const records = parseRecords(`${record}X:future\n`, { allowUnknownUpperCase: true });
    const bytes = buildIndex(records, { signer: { privateKey, keyName: 'test.rsa.pub' } });
    await expect(readIndex(Readable.from([bytes]), { name: 'idx.tar.gz', keyring })).rejects.toMatchObject({ code: 'APK_RECORD_INVALID', message: expect.stringMatching(/idx.tar.gz: APKINDEX:\d+: unknown field X:/) });
  });
  it('refuses a truncated or re-signed index', async () => {
    const bytes = buildIndex(parseRecords(record), { signer: { privateKey, keyName: 'test.rsa.pub' } });
    await expect(readIndex(Readable.from([bytes.subarray(0, bytes.length - 9)]), { name: 'idx', keyring })).rejects.toMatchObject({ code: 'APK_GZIP_INVALID' });
    const forged = buildIndex(parseRecords(record), { signer: { privateKey: other.privateKey, keyName: 'test.rsa.pub' } });
    await expect(readIndex(Readable.from([forged]), { name: 'idx', keyring })).rejects.toMatchObject({ code: 'APK_SIGNATURE_INVALID' });
  });
  it('verifies an index whose trusted signature follows 15 others', async () => {
    const unsigned = buildIndex(parseRecords(record));
    const real = { header: { name: '.SIGN.RSA256.test.rsa.pub' }, data: signBytes(unsigned, privateKey, 'RSA256') };
    const index = await readIndex(Readable.from([Buffer.concat([gzipSync(tarBlocks([...decoys(15), real], false)), unsigned])]), { name: 'idx', keyring });
    expect(index).toMatchObject({ trust: 'signature', signedBy: 'test.rsa.pub' });
    expect(index.signatures.map((s) => s.verified)).toEqual([...Array<boolean>(15).fill(false), true]);
  });

  it('refuses an index with too many signatures, or too many signature bytes, before holding them', async () => {
    const unsigned = buildIndex(parseRecords(record));
    await expect(readIndex(Readable.from([Buffer.concat([...decoys(17).map((entry) => gzipSync(tarBlocks([entry], false))), unsigned])]), { name: 'idx', keyring })).rejects.toMatchObject({
      code: 'APK_LIMIT_EXCEEDED', message: 'idx: more than 16 signature entries (apk-tools verifies only one)',
    });
    // the reviewer's 1.4 MiB index: 200 members of 64 signatures of 64 KiB each (800 MiB once inflated)
    const pulled = { count: 0 };
    const member = gzipSync(tarBlocks(decoys(64, 65536), false), { level: 9 });
    await expect(readIndex(repeated(member, 200, pulled), { name: 'APKINDEX.tar.gz', keyring })).rejects.toMatchObject({
      code: 'APK_LIMIT_EXCEEDED', message: 'APKINDEX.tar.gz: signature entries hold more than 262144 bytes together',
    });
    expect(pulled.count).toBeLessThan(5);
  });

  it('refuses an index without APKINDEX', async () => {
    const bytes = gzipSync(tarBlocks([{ header: { name: 'DESCRIPTION' }, data: 'x' }], true));
    await expect(readIndex(Readable.from([bytes]), { name: 'idx', allowUntrusted: true })).rejects.toMatchObject({ code: 'APK_INDEX_INVALID', message: 'idx: no APKINDEX entry' });
  });
});
