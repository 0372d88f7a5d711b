import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apkVersionOf, newerVersions, nextEpoch, parseSourcesIndex, pinsOf, recipeDebianSource, rewriteRecipe } from './debian-update.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const zlibFile = join(root, 'os', 'packages', 'zlib.yaml');
const zlib = readFileSync(zlibFile, 'utf8');

const sources = `Package: zlib
Version: 1:1.2.13.dfsg-1
Directory: pool/main/z/zlib
Checksums-Sha256:
 3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8 2456 zlib_1.2.13.dfsg-1.dsc
 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1 1234 zlib_1.2.13.dfsg.orig.tar.gz
 f66cf3d4f2d7defcd4d1fd1fb0a11ee39f1e01b42ec7d059c9dc5c1695133c44 999 zlib_1.2.13.dfsg-1.debian.tar.xz

Package: zlib
Version: 1:1.2.13.dfsg-1+kiln1
Directory: pool/main/z/zlib
Checksums-Sha256:
 ${'a'.repeat(64)} 2456 zlib_1.2.13.dfsg-1+kiln1.dsc
 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1 1234 zlib_1.2.13.dfsg.orig.tar.gz
 ${'b'.repeat(64)} 999 zlib_1.2.13.dfsg-1+kiln1.debian.tar.xz

Package: jq
Version: 1.6-2.1+deb12u3
Directory: pool/main/j/jq
Checksums-Sha256:
 ${'c'.repeat(64)} 1 jq_1.6-2.1+deb12u3.dsc
`;

describe('Debian update detection', () => {
  it('maps Debian versions to apk versions', () => {
    expect(apkVersionOf('1:1.2.13.dfsg-1+deb12u1')).toBe('1.2.13');
    expect(apkVersionOf('3.0.20-1~deb12u2')).toBe('3.0.20');
    expect(apkVersionOf('20230311+deb12u1')).toBe('20230311');
    expect(apkVersionOf('2026f-0+deb12u1')).toBe('2026f');
    expect(apkVersionOf('1:1.35.0-4+deb12u1')).toBe('1.35.0');
    expect(apkVersionOf('7.88.1-10+deb12u15')).toBe('7.88.1');
  });

  it('reads a recipe\'s Debian source and lists the newer versions, newest first', () => {
    const source = recipeDebianSource(zlib, zlibFile)!;
    expect(source).toEqual({ package: 'zlib', version: '1:1.2.13.dfsg-1', versionVar: 'debian-version', apkVersion: '1.2.13', epoch: 0 });
    const entries = parseSourcesIndex(sources, { archive: 'file:///repo', suite: 'bookworm' });
    expect(entries.map((entry) => entry.version)).toEqual(['1:1.2.13.dfsg-1', '1:1.2.13.dfsg-1+kiln1', '1.6-2.1+deb12u3']);
    const newer = newerVersions(source, entries);
    expect(newer.map((entry) => entry.version)).toEqual(['1:1.2.13.dfsg-1+kiln1']);
    expect(pinsOf(newer[0]!)).toEqual({ dscSha256: 'a'.repeat(64), origSha256: '71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1', debianSha256: 'b'.repeat(64) });
    expect(nextEpoch(source, '1.2.13')).toBe(1);
    expect(nextEpoch(source, '1.3')).toBe(0);
  });

  it('rewrites version, epoch and pins, keeping comments and everything else', () => {
    const text = rewriteRecipe(zlib, zlibFile, { to: '1:1.2.13.dfsg-1+kiln1', toApk: '1.2.13', epoch: 1, pins: { dscSha256: 'a'.repeat(64), origSha256: '71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1', debianSha256: 'b'.repeat(64) } });
    const before = zlib.split('\n');
    const after = text.split('\n');
    const changed = after.filter((line, index) => line !== before[index]);
    expect(changed.map((line) => line.trim())).toEqual(['epoch: 1', 'debian-version: 1:1.2.13.dfsg-1+kiln1', `dsc-sha256: ${'a'.repeat(64)}`, `debian-sha256: ${'b'.repeat(64)}`]);
    expect(after).toHaveLength(before.length);
    expect(recipeDebianSource(text, zlibFile)).toMatchObject({ version: '1:1.2.13.dfsg-1+kiln1', epoch: 1 });
  });
});
