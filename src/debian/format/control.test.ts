import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions, field, fileCreatedByDiff, parseControl, parseDebianVersion, sourceFileRole, sourceFiles, stripClearSignature } from './control.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'debian');

describe('Debian control files', () => {
  it('reads the signed .dsc of zlib 1:1.2.13.dfsg-1: fields, continuation lines and every Checksums-Sha256 file', () => {
    const text = readFileSync(join(fixtures, 'zlib_1.2.13.dfsg-1.dsc'), 'utf8');
    const [dsc, ...rest] = parseControl(stripClearSignature(text));
    expect(rest).toEqual([]);
    expect(field(dsc!, 'source')).toBe('zlib');
    expect(field(dsc!, 'Version')).toBe('1:1.2.13.dfsg-1');
    expect(field(dsc!, 'Format')).toBe('3.0 (quilt)');
    expect(field(dsc!, 'Package-List')!.split('\n')).toHaveLength(10);
    expect(sourceFiles(dsc!)).toEqual([
      { sha256: '71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1', size: 1239825, name: 'zlib_1.2.13.dfsg.orig.tar.bz2' },
      { sha256: 'f66cf3d4f2d7defcd4d1fd1fb0a11ee39f1e01b42ec7d059c9dc5c1695133c44', size: 15700, name: 'zlib_1.2.13.dfsg-1.debian.tar.xz' },
    ]);
    // The signature block is not part of the paragraph.
    expect(stripClearSignature(text)).not.toContain('BEGIN PGP');
  });

  it('unescapes dash-escaped lines of a clear-signed text', () => {
    expect(stripClearSignature('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nA: 1\n- -not a header\n-----BEGIN PGP SIGNATURE-----\nxx\n')).toBe('A: 1\n-not a header');
  });

  it('classifies source files by name', () => {
    expect(['x_1.dsc', 'x_1.orig.tar.gz', 'x_1.orig-docs.tar.xz', 'x_1.orig.tar.gz.asc', 'x_1-1.debian.tar.xz', 'x_20230311.tar.xz', 'x_1-1.diff.gz'].map(sourceFileRole)).toEqual(['dsc', 'orig', 'orig-component', 'orig-signature', 'debian', 'native', 'diff']);
  });

  it('takes the text a format 1.0 diff gives a file it creates, and nothing for a file it only changes', () => {
    const diff = '--- pcre2-10.42.orig/pcre2-config.in\n+++ pcre2-10.42/pcre2-config.in\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n--- pcre2-10.42.orig/debian/changelog\n+++ pcre2-10.42/debian/changelog\n@@ -0,0 +1,2 @@\n+pcre2 (10.42-1) unstable; urgency=medium\n+\n--- pcre2-10.42.orig/debian/rules\n+++ pcre2-10.42/debian/rules\n@@ -0,0 +1 @@\n+#!/usr/bin/make -f\n';
    expect(fileCreatedByDiff(diff, 'debian/changelog')).toBe('pcre2 (10.42-1) unstable; urgency=medium\n\n');
    expect(fileCreatedByDiff(diff, 'pcre2-config.in')).toBeUndefined();
    expect(fileCreatedByDiff(diff, 'debian/control')).toBeUndefined();
  });

  it('splits versions into epoch, upstream and revision', () => {
    expect(parseDebianVersion('1:1.2.13.dfsg-1+deb12u1')).toEqual({ epoch: 1, upstream: '1.2.13.dfsg', revision: '1+deb12u1' });
    expect(parseDebianVersion('20230311+deb12u1')).toEqual({ epoch: 0, upstream: '20230311+deb12u1', revision: '' });
    expect(parseDebianVersion('3.0.20-1~deb12u2')).toEqual({ epoch: 0, upstream: '3.0.20', revision: '1~deb12u2' });
    expect(parseDebianVersion('not a version')).toBeUndefined();
  });

  it('orders versions exactly as dpkg --compare-versions does', () => {
    const versions = ['1.0', '1.0-1', '1.0-1~deb12u1', '1.0-1+deb12u1', '1:0.9', '1.0~rc1', '1.0a', '1.0.1', '1.00', '2026b-0+deb12u1', '2026f-0+deb12u1', '7.88.1-10+deb12u5', '7.88.1-10+deb12u15', '1.2.13.dfsg-1', '1.2.13-1', '0:1.0', '1.0+b1', '1.0-1.1'];
    for (const a of versions) {
      for (const b of versions) {
        const ours = Math.sign(compareDebianVersions(a, b));
        const lt = (() => {
          try {
            execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
            return true;
          } catch {
            return false;
          }
        })();
        const eq = (() => {
          try {
            execFileSync('dpkg', ['--compare-versions', a, 'eq', b]);
            return true;
          } catch {
            return false;
          }
        })();
        expect(ours, `${a} vs ${b}`).toBe(lt ? -1 : eq ? 0 : 1);
      }
    }
  });
});
