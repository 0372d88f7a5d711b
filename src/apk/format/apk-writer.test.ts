import { generateKeyPairSync, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildApkBuffer } from './apk-writer.ts';
import type { ApkWriteEntry, BuildApkInput } from './apk-writer.ts';
import { readApk, summarizeApk } from './apk-reader.ts';
import { GzipMemberReader } from './gzip-members.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyring = new Map([['test.rsa.pub', publicKey]]);

function input(entries: ApkWriteEntry[], extra: Partial<BuildApkInput> = {}): BuildApkInput {
  return {
    pkginfo: { name: 'demo', version: '1.2.3-r0', arch: 'x86_64', description: 'demo package', license: 'MIT', depends: ['so:libc.musl-x86_64.so.1'], provides: ['cmd:demo=1.2.3-r0'] },
    entries,
    mtime: 1700000000,
    signer: { privateKey, keyName: 'test.rsa.pub' },
    ...extra,
  };
}

const sample: ApkWriteEntry[] = [
  { path: 'usr/bin/demo', type: 'file', mode: 0o755, content: '#!/bin/sh\necho demo\n' },
  { path: 'usr/bin/demo-link', type: 'symlink', linkTarget: 'demo' },
  { path: 'usr/bin/demo-hard', type: 'hardlink', linkTarget: 'usr/bin/demo', mode: 0o755 },
  { path: 'etc/demo.conf', type: 'file', content: 'x=1\n', xattrs: { 'user.note': 'hi' } },
  { path: 'var/lib/demo', type: 'directory', mode: 0o700, uid: 100, gid: 101, uname: 'demo', gname: 'demo' },
];

async function members(bytes: Buffer): Promise<number[]> {
  const reader = new GzipMemberReader(Readable.from([bytes]), 'x');
  const sizes: number[] = [];
  for (;;) {
    const member = await reader.next();
    if (!member) return sizes;
    while (await member.read());
    sizes.push(member.info!.size);
  }
}

describe('buildApk', () => {
  it('writes a signed package that reads back with the same metadata and contents', async () => {
    const { bytes, built } = await buildApkBuffer(input(sample, { scripts: { 'post-install': '#!/bin/sh\ntrue\n' } }));
    const summary = await summarizeApk(Readable.from([bytes]), { keyring });
    expect(summary.control.trust).toBe('signature');
    expect(summary.control.signedBy).toBe('test.rsa.pub');
    expect(summary.control.signatures[0]!.algorithm).toBe('RSA256');
    expect(summary.control.identity).toBe(built.identity);
    expect(summary.end.datahash).toBe(built.datahash);
    expect(summary.control.pkginfo).toMatchObject({ name: 'demo', version: '1.2.3-r0', depends: ['so:libc.musl-x86_64.so.1'], installedSize: 24, datahash: built.datahash });
    expect(summary.control.scripts.get('post-install')!.toString()).toBe('#!/bin/sh\ntrue\n');
    expect(summary.entries.map((e) => [e.path, e.type])).toEqual([
      ['etc', 'directory'], ['etc/demo.conf', 'file'], ['usr', 'directory'], ['usr/bin', 'directory'], ['usr/bin/demo', 'file'],
      ['usr/bin/demo-hard', 'hardlink'], ['usr/bin/demo-link', 'symlink'], ['var', 'directory'], ['var/lib', 'directory'], ['var/lib/demo', 'directory'],
    ]);
    const conf = summary.entries.find((e) => e.path === 'etc/demo.conf')!;
    expect(conf.xattrs.get('user.note')!.toString()).toBe('hi');
    expect(conf.sha1).toBe(createHash('sha1').update('x=1\n').digest('hex'));
    expect(summary.entries.find((e) => e.path === 'usr/bin/demo-hard')!.sha1).toBe(createHash('sha1').update('#!/bin/sh\necho demo\n').digest('hex'));
    expect(summary.entries.find((e) => e.path === 'var/lib/demo')).toMatchObject({ uid: 100, gid: 101, uname: 'demo', mode: 0o700, mtime: 1700000000 });
    expect(summary.end.fileSize).toBe(bytes.length);
    expect(built.fileSize).toBe(bytes.length);
  });

  it('puts no end-of-archive blocks in the signature and control members, and ends the data tar with them', async () => {
    const { bytes } = await buildApkBuffer(input(sample));
    const sizes = await members(bytes);
    expect(sizes).toHaveLength(3);
    // signature: one header + one 256-byte signature block; control: header + .PKGINFO blocks, no zero blocks
    expect(sizes[0]).toBe(1024);
    const reader = new GzipMemberReader(Readable.from([bytes]), 'x');
    await (async () => { const m = (await reader.next())!; while (await m.read()); })();
    const control = (await reader.next())!;
    const parts: Buffer[] = [];
    for (let chunk; (chunk = await control.read()); ) parts.push(chunk);
    const tail = Buffer.concat(parts).subarray(-512);
    expect(tail.some((byte) => byte !== 0)).toBe(true);
  });

  it('is byte-for-byte deterministic', async () => {
    const first = await buildApkBuffer(input(sample));
    const second = await buildApkBuffer(input([...sample].reverse()));
    expect(second.bytes.equals(first.bytes)).toBe(true);
  });

  it('writes any set of safe file names and contents so that they read back exactly (property)', async () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9_+-]{0,20}$/);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(fc.array(name, { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 2000 })), { maxLength: 8, selector: ([parts]) => parts.join('/') }), async (files) => {
        const paths = files.map(([parts]) => parts.join('/'));
        // a path may not also be the parent of another one
        fc.pre(paths.every((p) => !paths.some((q) => q.startsWith(`${p}/`))));
        const entries: ApkWriteEntry[] = files.map(([parts, data]) => ({ path: parts.join('/'), type: 'file', content: data }));
        const { bytes } = await buildApkBuffer(input(entries, { signer: undefined, level: 1 }));
        const read = new Map<string, Buffer>();
        for await (const item of readApk(Readable.from([bytes]), { allowUntrusted: true })) {
          if (item.kind === 'entry' && item.content) {
            const chunks: Buffer[] = [];
            for await (const chunk of item.content) chunks.push(chunk);
            read.set(item.entry.path, Buffer.concat(chunks));
          }
        }
        expect(read.size).toBe(files.length);
        for (const [parts, data] of files) expect(read.get(parts.join('/'))!.equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses unsafe or ambiguous entries', async () => {
    await expect(buildApkBuffer(input([{ path: '../x', type: 'file', content: '' }]))).rejects.toMatchObject({ code: 'APK_PATH_UNSAFE' });
    await expect(buildApkBuffer(input([{ path: '/abs', type: 'file', content: '' }]))).rejects.toMatchObject({ code: 'APK_PATH_UNSAFE' });
    await expect(buildApkBuffer(input([{ path: '.hidden', type: 'file', content: '' }]))).rejects.toMatchObject({ code: 'APK_PATH_UNSAFE' });
    await expect(buildApkBuffer(input([{ path: 'l', type: 'symlink', linkTarget: '/etc' }, { path: 'l/passwd', type: 'file', content: '' }]))).rejects.toMatchObject({ code: 'APK_PATH_UNSAFE' });
    await expect(buildApkBuffer(input([{ path: 'a', type: 'hardlink', linkTarget: 'b' }, { path: 'b', type: 'file', content: '' }]))).rejects.toMatchObject({ code: 'APK_PATH_UNSAFE' });
    await expect(buildApkBuffer(input([{ path: 'a', type: 'file', content: '' }, { path: 'a/', type: 'directory' }]))).rejects.toMatchObject({ code: 'APK_PKGINFO_INVALID' });
    await expect(buildApkBuffer(input([], { pkginfo: { name: 'x', version: '1', description: 'two\nlines' } }))).rejects.toMatchObject({ code: 'APK_PKGINFO_INVALID' });
  });
});
