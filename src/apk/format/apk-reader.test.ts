import { createReadStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readApk, summarizeApk } from './apk-reader.ts';
import { parsePublicKey } from './signature.ts';
import type { Keyring } from './signature.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
interface ManifestItem { file: string; kind: string; bytes: number; gzip_members: number; identity?: string; pkgname?: string; pkgver?: string; arch?: string; datahash_matches?: boolean; signatures: Array<{ entry: string; alg: string; keyname: string; verifies_with: string[] }> }
const manifest = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8')) as { items: ManifestItem[] };
const packages = manifest.items.filter((item) => item.kind === 'package');

function keyring(...files: string[]): Keyring {
  return new Map(files.map((file) => [file.split('/').pop()!, parsePublicKey(readFileSync(join(fixtures, file)), file)]));
}
const alpine = 'keys/alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub';
const wolfi = 'keys/wolfi-signing.rsa.pub';
const melange = 'apko-cli-packages/melange.rsa.pub';
const allKeys = keyring(alpine, wolfi, melange, 'keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');

function open(file: string, highWaterMark = 64 * 1024) {
  return createReadStream(join(fixtures, file), { highWaterMark });
}

describe('readApk on real packages', () => {
  for (const item of packages) {
    it(`${item.file}: identity, metadata and datahash as the manifest says`, async () => {
      const summary = summarizeApk(open(item.file), { name: item.file, allowUntrusted: true });
      if (!item.datahash_matches) {
        await expect(summary).rejects.toMatchObject({ code: 'APK_DATAHASH_MISMATCH' });
        return;
      }
      const { control, end } = await summary;
      expect(control.identity).toBe(item.identity);
      expect(control.pkginfo.name).toBe(item.pkgname);
      expect(control.pkginfo.version).toBe(item.pkgver);
      expect(control.pkginfo.arch).toBe(item.arch);
      expect(end.fileSize).toBe(item.bytes);
      expect(control.signatures.map((s) => `.SIGN.${s.algorithm}.${s.keyName}`)).toEqual(item.signatures.map((s) => s.entry));
      // datahash equals an independent SHA-256 over the bytes from the data member's offset to EOF
      const bytes = await readFile(join(fixtures, item.file));
      expect(end.datahash).toBe(createHash('sha256').update(bytes.subarray(control.dataOffset)).digest('hex'));
      expect(end.datahash).toBe(control.pkginfo.datahash);
    });
  }

  it('verifies signatures against a keyring and records the signer', async () => {
    for (const [file, key] of [['wolfi/libcap-2.69-r0.apk', 'wolfi-signing.rsa.pub'], ['apko/alpine-316/alpine-baselayout-3.2.0-r23.apk', 'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub'], ['apko-cli-packages/x86_64/replayout-1.0.0-r0.apk', 'melange.rsa.pub']] as const) {
      const { control } = await summarizeApk(open(file), { name: file, keyring: allKeys });
      expect(control.trust).toBe('signature');
      expect(control.signedBy).toBe(key);
      expect(control.signatures[0]).toMatchObject({ verified: true, trusted: true });
    }
  });

  it('refuses an unsigned or untrusted package unless allowed', async () => {
    await expect(summarizeApk(open('apko/hello-0.1.0-r0.apk'), { name: 'hello.apk', keyring: allKeys })).rejects.toMatchObject({ code: 'APK_UNTRUSTED', message: expect.stringContaining('hello.apk: package is not signed') });
    await expect(summarizeApk(open('wolfi/libcap-2.69-r0.apk'), { name: 'libcap', keyring: keyring(alpine) })).rejects.toMatchObject({ code: 'APK_UNTRUSTED', message: expect.stringContaining('wolfi-signing.rsa.pub') });
    const { control } = await summarizeApk(open('wolfi/libcap-2.69-r0.apk'), { keyring: keyring(alpine), allowUntrusted: true });
    expect(control.trust).toBe('untrusted');
  });

  it('fails a bad signature from a trusted key name even with allowUntrusted (apk checks the first trusted entry)', async () => {
    // hello-wolfi-2.12.1-r0 is signed by a different key that is also called melange.rsa.pub
    await expect(summarizeApk(open('apko/hello-wolfi-2.12.1-r0.apk'), { name: 'hw', keyring: keyring(melange), allowUntrusted: true })).rejects.toMatchObject({ code: 'APK_SIGNATURE_INVALID' });
  });

  it('accepts an unsigned package when its identity matches the expected index C: value', async () => {
    const { control } = await summarizeApk(open('apko/hello-0.1.0-r0.apk'), { expectedIdentity: 'Q1DNWZeWkviN7MJedLpYM8yBvmnGM=' });
    expect(control.trust).toBe('identity');
    await expect(summarizeApk(open('apko/hello-0.1.0-r0.apk'), { name: 'hello', expectedIdentity: 'Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=' })).rejects.toMatchObject({ code: 'APK_IDENTITY_MISMATCH' });
  });

  it('checks the expected file size (index S:) while reading', async () => {
    const file = 'apko/hello-0.1.0-r0.apk';
    const { end } = await summarizeApk(open(file), { allowUntrusted: true, expectedSize: 499 });
    expect(end.fileSize).toBe(499);
    await expect(summarizeApk(open(file), { name: 'h', allowUntrusted: true, expectedSize: 400 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH', message: 'h: longer than the expected 400 bytes' });
    await expect(summarizeApk(open(file), { name: 'h', allowUntrusted: true, expectedSize: 600 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  it('gives the same result however the input is chunked', async () => {
    const file = 'wolfi/libcap-2.69-r0.apk';
    const big = await summarizeApk(open(file), { keyring: allKeys });
    const tiny = await summarizeApk(open(file, 7), { keyring: allKeys });
    expect(tiny.control.identity).toBe(big.control.identity);
    expect(tiny.end).toEqual(big.end);
    expect(tiny.entries).toEqual(big.entries);
  });

  it('exposes every entry field, link targets, checksums and streamed content', async () => {
    const file = 'wolfi/libcap-2.69-r0.apk';
    const seen: Array<{ path: string; type: string; sha1?: string; link?: string; bytes?: number; mode: number }> = [];
    for await (const item of readApk(open(file), { keyring: allKeys })) {
      if (item.kind !== 'entry') continue;
      let bytes: number | undefined;
      if (item.content) {
        const hash = createHash('sha1');
        bytes = 0;
        for await (const chunk of item.content) { hash.update(chunk); bytes += chunk.length; }
        expect(hash.digest('hex')).toBe(item.entry.sha1);
      }
      seen.push({ path: item.entry.path, type: item.entry.type, sha1: item.entry.sha1, link: item.entry.linkTarget, bytes, mode: item.entry.mode });
    }
    expect(seen.find((e) => e.path === 'usr/lib/libcap.so.2')).toEqual({
      path: 'usr/lib/libcap.so.2', type: 'symlink', link: 'libcap.so.2.69', sha1: '32a9390352c3622f0c920bb22b07f5a82d33c0dc', bytes: undefined, mode: 0o777,
    });
    expect(seen.find((e) => e.path === 'usr/lib/libcap.so.2.69')).toMatchObject({ type: 'file', bytes: 67424, sha1: '9243f92e21180e1fd30f18924cea09f2075e1802', mode: 0o755 });
    expect(seen.filter((e) => e.type === 'directory').map((e) => e.path)).toEqual(['usr', 'usr/lib', 'var', 'var/lib', 'var/lib/db', 'var/lib/db/sbom']);
  });

  it('reads scripts, trailing-slash directories and special modes of the Alpine package', async () => {
    const { control, entries } = await summarizeApk(open('apko/alpine-316/alpine-baselayout-3.2.0-r23.apk'), { keyring: allKeys });
    expect([...control.scripts.keys()].sort()).toEqual(['post-install', 'post-upgrade', 'pre-install', 'pre-upgrade']);
    expect(control.scripts.get('pre-install')!.length).toBe(56);
    expect(entries.find((e) => e.path === 'tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(entries.find((e) => e.path === 'etc/crontabs/root')).toMatchObject({ mode: 0o600, sha1: 'bdf9356a9516238c8b2468613517749098b17ef6' });
    expect(entries.find((e) => e.path === 'var/spool/cron/crontabs')).toMatchObject({ type: 'symlink', linkTarget: '/etc/crontabs' });
  });

  it('keeps repeat semantics of .PKGINFO (last license wins, lists accumulate) and uname/gname', async () => {
    const ruby = await summarizeApk(open('wolfi/ruby3.2-base64-0.2.0-r2.apk'), { keyring: allKeys });
    expect(ruby.control.pkginfo.license).toBe('BSD-2-Clause');
    expect(ruby.control.pkginfo.licenses).toEqual(['Ruby', 'BSD-2-Clause']);
    const replaces = await summarizeApk(open('apko/replaces/replaces-0.0.1-r0.apk'), { allowUntrusted: true });
    expect(replaces.control.pkginfo.replaces).toEqual(['foo', 'bar']);
    expect(replaces.entries.some((e) => e.uid === 501 && e.gid === 20 && e.uname === 'jonjohnson' && e.gname === 'dialout')).toBe(true);
    expect(replaces.control.otherControlFiles).toEqual([]);
    const perl = await summarizeApk(open('wolfi/perl-json-4.11-r0.apk'), { allowUntrusted: true });
    expect(perl.control.otherControlFiles.map((f) => f.name)).toEqual(['.melange.yaml']);
  });
});

describe('readApk early exit', () => {
  it('releases the input when the consumer stops after the control item', async () => {
    const stream = createReadStream(join(fixtures, 'wolfi/libcap-2.69-r0.apk'), { highWaterMark: 1024 });
    for await (const item of readApk(stream, { keyring: allKeys })) {
      expect(item.kind).toBe('control');
      break;
    }
    expect(stream.destroyed).toBe(true);
  });
});
