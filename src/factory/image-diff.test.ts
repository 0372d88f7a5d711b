import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/index.ts';
import { encodeTar } from '../oci/index.ts';
import type { TarMember } from '../oci/index.ts';
import type { AffectedRecord, VulnIndex } from '../vuln/index.ts';
import { stubVulnIndex } from '../vuln/testing.ts';
import { formatImageDiffTable } from './format/image-diff.ts';
import { diffImages, NOT_SCANNED_NO_INDEX } from './image-diff.ts';
import type { ImageBlobSource } from './image-snapshot.ts';

const file = (name: string, text: string, mode = 0o644, mtime = 0): TarMember => ({ header: { name, type: 'file', mode, uid: 0, gid: 0, mtime }, content: Buffer.from(text) });
const dir = (name: string): TarMember => ({ header: { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 } });

const OS = 'ID=alpine\nVERSION_ID=3.16.2\n';
const db = (packages: Array<[string, string]>) => packages.map(([name, version]) => `C:Q1${createHash('sha1').update(name + version).digest('base64')}\nP:${name}\nV:${version}\nA:x86_64\no:${name}\n`).join('\n');

/** An in-memory single-platform image source with these layers (plain tar). */
function source(name: string, layers: TarMember[][], env: string[] = []): ImageBlobSource {
  const blobs = new Map<string, Uint8Array>();
  const put = (bytes: Uint8Array) => {
    const digest = `sha256:${sha256Hex(bytes)}`;
    blobs.set(digest, bytes);
    return digest;
  };
  const layerDigests = layers.map((members) => put(encodeTar(members)));
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: env } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: config }, layers: layerDigests.map((digest) => ({ digest })) })));
  const read = async (digest: string) => blobs.get(digest)!;
  return { name, roots: async () => [{ digest: manifest }], manifest: read, blob: read, layer: async function* (digest: string) { yield await read(digest); } };
}

/** A fake index: zlib affected below 1.2.12-r1 (CVE-2099-0001), curl affected below 9 (CVE-2099-0002). */
const index: VulnIndex = stubVulnIndex({
  affected: (ecosystem, packages) => {
    const records: AffectedRecord[] = [
      { feed: 'test', ecosystem: 'alpine:3.16', package: 'zlib', vulnerability: 'CVE-2099-0001', aliases: [], status: 'affected', ranges: [{ fixed: '1.2.12-r1' }], versions: [] } as AffectedRecord,
      { feed: 'test', ecosystem: 'alpine:3.16', package: 'curl', vulnerability: 'CVE-2099-0002', aliases: [], status: 'affected', ranges: [{ fixed: '9.0-r0' }], versions: [] } as AffectedRecord,
    ];
    return records.filter((record) => record.ecosystem === ecosystem && packages.includes(record.package));
  },
});

const base = [dir('etc'), file('etc/os-release', OS), dir('usr'), dir('usr/bin'), file('usr/bin/tool', '#!/bin/true\n', 0o755), file('usr/bin/keep', 'same')];
const before = source('before', [[...base, dir('lib'), dir('lib/apk'), dir('lib/apk/db'), file('lib/apk/db/installed', db([['busybox', '1.35.0-r17'], ['zlib', '1.2.12-r0']]))]], ['A=1']);
const after = source(
  'after',
  [
    [...base, dir('lib'), dir('lib/apk'), dir('lib/apk/db'), file('lib/apk/db/installed', db([['busybox', '1.35.0-r17'], ['zlib', '1.2.12-r0']]))],
    // The upper layer upgrades zlib, adds curl, deletes the tool and makes `keep` executable.
    [
      file('lib/apk/db/installed', db([['busybox', '1.35.0-r17'], ['curl', '8.0-r0'], ['zlib', '1.2.13-r0']])),
      { header: { name: 'usr/bin/.wh.tool', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, content: new Uint8Array(0) },
      file('usr/bin/keep', 'same', 0o755),
      file('usr/bin/curl', 'curl-binary', 0o755),
    ],
  ],
  ['A=2'],
);

describe('diffImages', () => {
  it('applies whiteouts and reports packages, files, layers, config and the CVE difference', async () => {
    const diff = await diffImages(before, after, { vulnIndex: index });
    expect(diff.onlyBefore).toEqual([]);
    expect(diff.onlyAfter).toEqual([]);
    const [platform] = diff.platforms;
    expect(platform!.platform).toBe('linux/amd64');
    expect(platform!.identical).toBe(false);
    expect(platform!.packages).toEqual({ added: [{ name: 'curl', version: '8.0-r0' }], removed: [], upgraded: [{ name: 'zlib', from: '1.2.12-r0', to: '1.2.13-r0' }] });
    expect(platform!.files.added.map((entry) => [entry.path, entry.size, entry.layer, entry.digest])).toEqual([['usr/bin/curl', 11, 1, `sha256:${sha256Hex(Buffer.from('curl-binary'))}`]]);
    expect(platform!.files.removed.map((entry) => entry.path)).toEqual(['usr/bin/tool']);
    expect(platform!.files.changed.map((entry) => [entry.path, entry.what])).toEqual([
      ['lib/apk/db/installed', ['size', 'content']],
      ['usr/bin/keep', ['mode']],
    ]);
    expect(platform!.layers.map((layer) => [layer.index, Boolean(layer.before), Boolean(layer.after)])).toEqual([[1, false, true]]);
    expect(platform!.before.size.layers).toBe(1);
    expect(platform!.after.size.layers).toBe(2);
    expect(platform!.config).toEqual([{ field: 'Env', before: ['A=1'], after: ['A=2'] }]);
    expect(platform!.cves).toEqual({ fixed: ['CVE-2099-0001'], introduced: ['CVE-2099-0002'], open: { critical: 0, high: 0, medium: 0, low: 0, unknown: 1 } });
    const table = formatImageDiffTable(diff);
    expect(table).toContain('  ~ zlib 1.2.12-r0 → 1.2.13-r0\n');
    expect(table).toContain('  ~ usr/bin/keep: mode 0644 → 0755 (layer 1)\n');
    expect(table).toContain('cves: 1 fixed, 1 introduced; open after: 0 critical, 0 high, 0 medium, 0 low, 1 unknown\n  fixed CVE-2099-0001\n  new   CVE-2099-0002\n');
  });

  it('without an index says CVEs were not scanned; an image against itself is identical', async () => {
    const diff = await diffImages(before, before);
    expect(diff.platforms[0]!.identical).toBe(true);
    expect(diff.platforms[0]!.cves).toEqual({ notScanned: NOT_SCANNED_NO_INDEX });
    expect(diff.platforms[0]!.files).toEqual({ added: [], removed: [], changed: [] });
  });

  it('compares modification times only when asked (reproduce)', async () => {
    const older = source('older', [[file('etc/motd', 'hi', 0o644, 1)]]);
    const newer = source('newer', [[file('etc/motd', 'hi', 0o644, 2)]]);
    expect((await diffImages(older, newer)).platforms[0]!.files.changed).toEqual([]);
    expect((await diffImages(older, newer, { compareMtime: true })).platforms[0]!.files.changed.map((entry) => entry.what)).toEqual([['mtime']]);
  });

  it('names a platform the source lacks', async () => {
    await expect(diffImages(before, after, { platform: 'arm64' })).rejects.toMatchObject({ code: 'IMAGE_SOURCE_INVALID', message: 'before: holds no image for platform linux/arm64' });
  });
});
