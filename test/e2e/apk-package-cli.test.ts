// `kiln keygen`, `kiln apk mkpkg|index|info|verify` end to end, in-process; packages and indexes are
// then checked WITHOUT Kiln's reader: gzip members are split here with zlib's sync raw inflater, the
// signature is checked with `openssl dgst -verify`, datahash with `sha256sum`, contents with GNU tar.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, link, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitGzipMembers } from '../../src/apk/index.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

let work: string;

const kiln = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runKiln(args, { env, cwd: work });

function run(command: string, args: string[], input?: Buffer): string {
  return execFileSync(command, args, { cwd: work, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input ? { input } : {}) });
}

/** The exact bytes of each gzip member (apk's splitter), checking each header has no optional fields, as Node writes it. */
function splitMembers(bytes: Buffer): Buffer[] {
  return splitGzipMembers(bytes).map((member) => {
    expect([...member.bytes.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
    return member.bytes;
  });
}

async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'usr', 'bin'), { recursive: true });
  await mkdir(join(root, 'etc', 'hello'), { recursive: true });
  await writeFile(join(root, 'usr', 'bin', 'hello'), '#!/bin/sh\necho hello\n');
  await chmod(join(root, 'usr', 'bin', 'hello'), 0o755);
  await symlink('hello', join(root, 'usr', 'bin', 'hi'));
  await link(join(root, 'usr', 'bin', 'hello'), join(root, 'usr', 'bin', 'hello-again'));
  await writeFile(join(root, 'etc', 'hello', 'hello.conf'), 'greeting=hello\n');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-apk-package-e2e-'));
  const keygen = await kiln(['keygen', '--name', 'test', '--bits', '2048', '--json']);
  expect(keygen.code).toBe(0);
  expect(JSON.parse(keygen.stdout)).toMatchObject({ keyName: 'test.rsa.pub' });
  await makeTree(join(work, 'root'));
  await writeFile(join(work, 'post-install'), '#!/bin/sh\nexit 0\n');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
const mkpkgArgs = (output: string) => [
  'apk', 'mkpkg', '-I', 'pkgname=hello', '-I', 'pkgver=2.12-r0', '-I', 'arch=x86_64', '-I', 'pkgdesc=say hello', '-I', 'license=GPL-3.0-or-later',
  '-I', 'depend=so:libc.musl-x86_64.so.1', '-I', 'provides=cmd:hello=2.12-r0', '--script', 'post-install=post-install',
  '-F', 'root', '--signing-key', 'test.rsa', '-o', output, '--json',
];

describe('kiln apk mkpkg', () => {
  it('writes a package that openssl, sha256sum and GNU tar accept without Kiln', async () => {
    const made = await kiln(mkpkgArgs('hello-2.12-r0.apk'), epoch);
    expect(made.code, made.stderr).toBe(0);
    const result = JSON.parse(made.stdout) as { identity: string; datahash: string; size: number };
    const bytes = await readFile(join(work, 'hello-2.12-r0.apk'));
    expect(result.size).toBe(bytes.length);

    const [signatureMember, controlMember, dataMember, ...rest] = splitMembers(bytes);
    expect(rest).toEqual([]);
    await writeFile(join(work, 'sig.tar.gz'), signatureMember!);
    await writeFile(join(work, 'control.tar.gz'), controlMember!);
    await writeFile(join(work, 'data.tar.gz'), dataMember!);

    // signature member: exactly one .SIGN.RSA256.test.rsa.pub entry
    expect(run('tar', ['-tzf', 'sig.tar.gz']).trim()).toBe('.SIGN.RSA256.test.rsa.pub');
    await writeFile(join(work, 'sig.bin'), execFileSync('tar', ['-xzOf', 'sig.tar.gz', '.SIGN.RSA256.test.rsa.pub'], { cwd: work }));
    expect(run('openssl', ['dgst', '-sha256', '-verify', 'test.rsa.pub', '-signature', 'sig.bin', 'control.tar.gz']).trim()).toBe('Verified OK');

    // identity = Q1 of SHA-1 of the control member
    expect(result.identity).toBe(`Q1${createHash('sha1').update(controlMember!).digest('base64')}`);
    // datahash in .PKGINFO = sha256sum of the data member
    const pkginfo = run('tar', ['-xzOf', 'control.tar.gz', '.PKGINFO']);
    const datahash = run('sha256sum', ['data.tar.gz']).split(' ')[0];
    expect(pkginfo).toContain(`\ndatahash = ${datahash}\n`);
    expect(pkginfo).toContain('\npkgname = hello\npkgver = 2.12-r0\n');
    expect(pkginfo).toContain('\nbuilddate = 1700000000\n');
    expect(run('tar', ['-tzf', 'control.tar.gz']).trim().split('\n')).toEqual(['.PKGINFO', '.post-install']);

    // data member: sorted, directories first, root-owned, SOURCE_DATE_EPOCH mtimes, hard link and symlink kept
    const listing = run('tar', ['--numeric-owner', '--full-time', '-tvzf', 'data.tar.gz']).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).slice(5).join(' '))).toEqual([
      'etc', 'etc/hello', 'etc/hello/hello.conf', 'usr', 'usr/bin', 'usr/bin/hello', 'usr/bin/hello-again link to usr/bin/hello', 'usr/bin/hi -> hello',
    ]);
    for (const line of listing) {
      expect(line).toMatch(/ 0\/0 /);
      expect(line).toContain('2023-11-14 22:13:20');
    }
    // the whole file also lists as one tar stream, as GNU tar reads concatenated members
    expect(run('tar', ['-tzf', 'hello-2.12-r0.apk']).split('\n')).toContain('usr/bin/hello');
    // PAX checksum records hold the SHA-1 of the content
    const dataTar = execFileSync('gzip', ['-dc', 'data.tar.gz'], { cwd: work });
    expect(dataTar.toString('latin1')).toContain(`APK-TOOLS.checksum.SHA1=${createHash('sha1').update('#!/bin/sh\necho hello\n').digest('hex')}\n`);
  });

  it('is byte-for-byte reproducible across two runs', async () => {
    expect((await kiln(mkpkgArgs('one.apk'), epoch)).code).toBe(0);
    expect((await kiln(mkpkgArgs('two.apk'), epoch)).code).toBe(0);
    expect(run('sha256sum', ['one.apk']).split(' ')[0]).toBe(run('sha256sum', ['two.apk']).split(' ')[0]);
  });

  it('reports bad usage with exit code 2 and leaves nothing behind on failure', async () => {
    expect((await kiln(['apk', 'mkpkg', '-I', 'pkgver=1', '-F', 'root', '-o', 'x.apk'])).code).toBe(2);
    const before = await readdir(work);
    const failed = await kiln(['apk', 'mkpkg', '-I', 'pkgname=x', '-I', 'pkgver=1-r0', '-F', 'root', '--signing-key', 'post-install', '-o', 'x.apk']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/post-install: not a PEM private key/);
    expect(await readdir(work)).toEqual(before);
  });
});

describe('kiln apk index / info / verify', () => {
  it('writes a signed index that openssl verifies and whose C:/S: match the package', async () => {
    const indexed = await kiln(['apk', 'index', '--signing-key', 'test.rsa', '-o', 'APKINDEX.tar.gz', '-d', 'kiln e2e', 'hello-2.12-r0.apk', '--json']);
    expect(indexed.code, indexed.stderr).toBe(0);
    const bytes = await readFile(join(work, 'APKINDEX.tar.gz'));
    const [signatureMember, indexMember, ...rest] = splitMembers(bytes);
    expect(rest).toEqual([]);
    await writeFile(join(work, 'isig.tar.gz'), signatureMember!);
    await writeFile(join(work, 'index.tar.gz'), indexMember!);
    await writeFile(join(work, 'isig.bin'), execFileSync('tar', ['-xzOf', 'isig.tar.gz', '.SIGN.RSA256.test.rsa.pub'], { cwd: work }));
    expect(run('openssl', ['dgst', '-sha256', '-verify', 'test.rsa.pub', '-signature', 'isig.bin', 'index.tar.gz']).trim()).toBe('Verified OK');
    expect(run('tar', ['-tzf', 'index.tar.gz']).trim().split('\n')).toEqual(['DESCRIPTION', 'APKINDEX']);
    const text = run('tar', ['-xzOf', 'index.tar.gz', 'APKINDEX']);
    const pkg = await readFile(join(work, 'hello-2.12-r0.apk'));
    const control = splitMembers(pkg)[1]!;
    expect(text).toContain(`C:Q1${createHash('sha1').update(control).digest('base64')}\nP:hello\nV:2.12-r0\nA:x86_64\nS:${(await stat(join(work, 'hello-2.12-r0.apk'))).size}\n`);
    expect(text.endsWith('\n\n')).toBe(true);
  });

  it('info shows metadata, verified signature and contents', async () => {
    const info = await kiln(['apk', 'info', '--keyring', 'test.rsa.pub', '--contents', '--json', 'hello-2.12-r0.apk']);
    expect(info.code, info.stderr).toBe(0);
    const doc = JSON.parse(info.stdout);
    expect(doc).toMatchObject({ name: 'hello', version: '2.12-r0', datahash: { status: 'ok' }, signatures: [{ algorithm: 'RSA256', keyName: 'test.rsa.pub', status: 'verified' }], scripts: ['post-install'] });
    expect(doc.contents.map((e: { path: string }) => e.path)).toContain('usr/bin/hello-again');
  });

  it('verify prints OK per file, fails (exit 1) on an unknown key, a tampered package or a truncated one', async () => {
    const ok = await kiln(['apk', 'verify', '--keyring', 'test.rsa.pub', 'hello-2.12-r0.apk', 'APKINDEX.tar.gz']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('hello-2.12-r0.apk: OK (signed by test.rsa.pub)\nAPKINDEX.tar.gz: OK (signed by test.rsa.pub)\n');

    const fixtureKey = join(import.meta.dirname, '..', 'fixtures', 'apk', 'keys', 'wolfi-signing.rsa.pub');
    const unknown = await kiln(['apk', 'verify', '--keyring', fixtureKey, 'hello-2.12-r0.apk']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/hello-2.12-r0.apk: FAILED: .*test.rsa.pub, none of which is in the keyring/);

    const bytes = await readFile(join(work, 'hello-2.12-r0.apk'));
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 12]! ^= 0x01; // inside the data member's deflate stream or trailer
    await writeFile(join(work, 'tampered.apk'), tampered);
    await writeFile(join(work, 'truncated.apk'), bytes.subarray(0, bytes.length - 100));
    const bad = await kiln(['apk', 'verify', '--keyring', 'test.rsa.pub', '--json', 'tampered.apk', 'truncated.apk']);
    expect(bad.code).toBe(1);
    const results = JSON.parse(bad.stdout).results as Array<{ file: string; ok: boolean; code: string; error: string }>;
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(['APK_GZIP_INVALID', 'APK_DATAHASH_MISMATCH']).toContain(results[0]!.code);
    expect(results[1]).toMatchObject({ code: 'APK_GZIP_INVALID', error: expect.stringContaining('truncated.apk') });
    expect(bad.stderr).toContain('2 of 2 file(s) failed verification');
  });

  it('needs --keyring or --allow-untrusted (usage error otherwise)', async () => {
    expect((await kiln(['apk', 'verify', 'hello-2.12-r0.apk'])).code).toBe(2);
    expect((await kiln(['apk', 'verify', '--allow-untrusted', 'hello-2.12-r0.apk'])).stdout).toBe('hello-2.12-r0.apk: OK (untrusted)\n');
  });
});
