import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readIndex } from '../format/index-archive.ts';
import { parseRecords } from '../format/record.ts';
import type { PackageRecord } from '../format/record.ts';
import { ApkError } from '../errors.ts';
import { Database } from './database.ts';
import { openResolveDatabase, Resolver } from './resolve.ts';
import type { ResolveOptions, UniverseInput } from './resolve.ts';
import { parseSolverTest } from './test-file.ts';
import { decodeUniverseImage, encodeUniverseImage, UNIVERSE_IMAGE_PREFIX_BYTES, universeImageLeadBytes } from './universe-image.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const solverDir = join(fixtures, 'solver');

/** An image's header and where its body ends (the body's digest follows, then the records). */
function layout(image: Buffer): { bodyEnd: number; section: (name: string) => [string, string, number, number] } {
  const header = JSON.parse(image.toString('utf8', 16, 16 + image.readUInt32LE(8))) as { sections: unknown };
  const sections = Array.isArray(header.sections) ? (header.sections as unknown[]) : [];
  const section = (name: string): [string, string, number, number] => sections.find((entry) => Array.isArray(entry) && entry[0] === name) as [string, string, number, number];
  return { bodyEnd: image.readUInt32LE(12), section };
}

/** An image with its record digests (from the original layout) and body digest computed again
 *  over its (changed) bytes. */
function reseal(image: Buffer, original: Buffer = image): Buffer {
  const bytes = Buffer.from(image);
  const { bodyEnd, section } = layout(original);
  const [, , startsAt, count] = section('records.starts');
  const [, , digestsAt] = section('records.digests');
  const starts = new Int32Array(bytes.buffer.slice(bytes.byteOffset + startsAt, bytes.byteOffset + startsAt + count * 4));
  const recordsAt = bodyEnd + 32;
  for (let id = 0; id + 1 < count; id++) createHash('sha256').update(bytes.subarray(recordsAt + starts[id]!, recordsAt + starts[id + 1]!)).digest().copy(bytes, digestsAt + id * 32);
  createHash('sha256').update(bytes.subarray(0, bodyEnd)).digest().copy(bytes, bodyEnd);
  return bytes;
}

/** What a resolve gives, or the error it throws, in a comparable form. */
function outcome(resolver: Resolver, world: readonly string[], options: ResolveOptions = {}): unknown {
  try {
    const result = resolver.resolve(world, options);
    return { text: result.text, install: result.install, remove: result.remove, changes: result.changes, installFrom: result.installFrom };
  } catch (error) {
    if (!(error instanceof ApkError)) throw error;
    return { code: error.code, message: error.message };
  }
}

/** A resolver opened from the image of a fresh universe over the same input. */
function throughImage(input: UniverseInput): Resolver {
  return Resolver.fromImage(new Resolver(input).toImage({ test: true }), 'test.img').resolver;
}

// The apk-tools solver tests that install into an empty root (add, no installed database or cache),
// resolved by a fresh universe and by one restored from its image.
const addTests = readdirSync(solverDir)
  .filter((file) => file.endsWith('.test'))
  .sort()
  .map((file) => ({ file, test: parseSolverTest(readFileSync(join(solverDir, file), 'utf8')) }))
  .filter(({ test }) => !test.installed && !test.cache && !test.invalid && test.args.filter((arg) => arg !== '--force-broken-world')[0] === 'add');

describe('universe images', () => {
  it('finds the solver tests that add into an empty root', () => {
    expect(addTests.length).toBeGreaterThanOrEqual(25);
  });

  it.each(addTests)('answers $file as the universe it was made from does', ({ test }) => {
    const input: UniverseInput = {
      repositories: test.repositories.map((repo) => ({ records: parseRecords(readFileSync(join(solverDir, repo.file), 'utf8')), name: repo.file, ...(repo.tag ? { tag: repo.tag } : {}) })),
      arch: 'x86_64',
    };
    const world = test.args.filter((arg) => !arg.startsWith('-')).slice(1);
    const options: ResolveOptions = test.args.includes('--force-broken-world') ? { forceBrokenWorld: true } : {};
    const fresh = outcome(new Resolver(input), world, options);
    expect(outcome(throughImage(input), world, options)).toEqual(fresh);
  });

  describe('over the Alpine 3.17 index (5004 records)', () => {
    let records: PackageRecord[];
    let image: Buffer;
    let input: UniverseInput;
    beforeAll(async () => {
      const index = await readIndex(createReadStream(join(fixtures, 'apko', 'alpine-317', 'APKINDEX.tar.gz')), { allowUntrusted: true });
      records = index.records;
      input = { repositories: [{ records, name: 'https://dl-cdn.alpinelinux.org/alpine/v3.17/main' }], arch: 'aarch64' };
      image = new Resolver(input).toImage({ index: 'alpine-317' });
    });

    it('restores every name, package, link and flag of the universe', () => {
      const fresh = openResolveDatabase(input);
      const restored = decodeUniverseImage(image, 'test.img').db;
      // Exporting forces every object of the restored universe into being.
      expect(restored.toParts()).toEqual(fresh.toParts());
      expect(decodeUniverseImage(image, 'test.img').meta).toEqual({ index: 'alpine-317' });
    });

    it('resolves worlds one after another as a fresh universe does, failures included', () => {
      const fresh = new Resolver(input);
      const restored = Resolver.fromImage(image, 'test.img').resolver;
      const worlds = [
        ['python3', 'gcc'],
        ['alpine-base'],
        ['build-base', 'python3', 'py3-setuptools', 'git', 'curl', 'openssl-dev', 'perl', 'cmake'],
        ['docs', 'bash'],
        ['so:libc.musl-aarch64.so.1', 'cmd:sh'],
        ['python3', 'no-such-package'],
        ['busybox<1', 'musl'],
        ['!busybox', 'alpine-base'],
        ['python3', 'gcc'],
      ];
      for (const world of worlds) expect(outcome(restored, world)).toEqual(outcome(fresh, world));
      expect(outcome(restored, ['curl'], { flags: { latest: true, available: true } })).toEqual(outcome(fresh, ['curl'], { flags: { latest: true, available: true } }));
    });

    it('finds every name by its text, and no name for a part of one', () => {
      const fresh = openResolveDatabase(input);
      const restored = decodeUniverseImage(image, 'test.img').db;
      const count = fresh.nameList.length;
      // Past the first lookups the restored universe switches from searching to a table: cover both.
      for (let serial = 0; serial < count; serial += 37) expect(restored.getName(fresh.nameList[serial]!.name).serial).toBe(serial);
      for (const part of ['pyth', 'ython3', 'so:libc', 'gcc-', '', 'python3\ngcc']) {
        const before = restored.nameList.length;
        expect(restored.getName(part).serial).toBe(before);
      }
    });

    it('reads package records only when asked, each checked against its digest and its package', () => {
      const { db } = decodeUniverseImage(image, 'test.img');
      const curl = db.getName('curl').providers[0]!.pkg;
      expect(curl.record).toEqual(records.find((record) => record.name === 'curl'));
      // A record whose text names another package is refused when it is read, not before.
      const other = records.find((record) => record.name === 'curl')!.identity;
      const bad = Buffer.from(image);
      const at = bad.indexOf(Buffer.from(`"identity":"${other}"`), layout(image).bodyEnd);
      expect(at).toBeGreaterThan(0);
      bad.write('X', at + '"identity":"'.length + 1, 'latin1');
      const changed = decodeUniverseImage(bad, 'damaged.img').db;
      expect(changed.getName('busybox').providers[0]!.pkg.record.name).toBe('busybox');
      expect(() => changed.getName('curl').providers[0]!.pkg.record).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('does not match its digest') }));
      // Sealed again (as only someone writing the image on purpose could), the record is still refused.
      const damaged = decodeUniverseImage(reseal(bad), 'damaged.img').db;
      expect(() => damaged.getName('curl').providers[0]!.pkg.record).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('does not describe curl-') }));
    });

    it('opens from its lead bytes, reading each record asked for and nothing else', () => {
      const lead = universeImageLeadBytes(image.subarray(0, UNIVERSE_IMAGE_PREFIX_BYTES), 'test.img');
      expect(lead).toBe(layout(image).bodyEnd + 32);
      expect(lead).toBeLessThan(image.length / 2);
      const reads: Array<[number, number]> = [];
      const readRecords = (offset: number, length: number): Uint8Array => {
        reads.push([offset, length]);
        return image.subarray(lead + offset, lead + offset + length);
      };
      const { resolver } = Resolver.fromImage(image.subarray(0, lead), 'test.img', readRecords);
      expect(reads.length).toBe(0);
      const plan = resolver.resolve(['python3', 'gcc']);
      expect(plan.text).toBe(new Resolver(input).resolve(['python3', 'gcc']).text);
      expect(plan.install).toEqual(plan.install.map((installed) => records.find((record) => record.identity === installed.identity)));
      // The records of the plan, each once.
      expect(reads.length).toBe(plan.install.length);
      expect(new Set(reads.map(([offset]) => offset)).size).toBe(reads.length);
      expect(reads.reduce((sum, [, length]) => sum + length, 0)).toBeLessThan(50_000);
      // A file cut inside the records fails on the record it cuts, naming the image.
      const cut = decodeUniverseImage(image.subarray(0, lead), 'cut.img', (offset, length) => image.subarray(lead + offset, Math.min(lead + offset + length, image.length - 100))).db;
      expect(cut.packageAt(0).record).toEqual(records[0]);
      expect(() => cut.packageAt(layout(image).section('records.starts')[3] - 2).record).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringMatching(/^cut\.img: the file ends inside the record of package \d+$/) }));
    });

    it('lets a record be added to a restored universe', () => {
      const extra = { ...parseRecords('C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:kiln-extra\nV:1.0-r0\nA:aarch64\nD:python3 so:libc.musl-aarch64.so.1\n\n')[0]! };
      const fresh = openResolveDatabase(input);
      fresh.addRecord(extra, { kind: 'repository', index: 0 });
      const restored = decodeUniverseImage(image, 'test.img').db;
      restored.addRecord(extra, { kind: 'repository', index: 0 });
      expect(restored.toParts()).toEqual(fresh.toParts());
      expect(outcome(new Resolver(restored), ['kiln-extra'])).toEqual(outcome(new Resolver(fresh), ['kiln-extra']));
    });

    it('refuses damaged, truncated and foreign images with APK_UNIVERSE_IMAGE_INVALID naming the file', () => {
      const flipped = Buffer.from(image);
      flipped[layout(image).bodyEnd >> 1]! ^= 0x40;
      const headerTooLong = Buffer.from(image);
      headerTooLong.writeUInt32LE(0x7fffffff, 8);
      const cases: Array<[string, Buffer]> = [
        ['digest', flipped],
        ['not a universe image', Buffer.from('KILNUNV\u0002 and more bytes than a header needs............')],
        ['not a universe image', image.subarray(0, 12)],
        ['the file ends before its digest', image.subarray(0, 20)],
        ['header runs past the end', headerTooLong],
        ['the file ends before its digest', image.subarray(0, layout(image).bodyEnd + 20)],
        ['bytes of records, expected', image.subarray(0, image.length - 40)],
        ['bytes of records, expected', Buffer.concat([image, Buffer.from('{}')])],
      ];
      for (const [message, bytes] of cases) {
        expect(() => decodeUniverseImage(bytes, '/cache/u.img'), message).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining(message) }));
        expect(() => decodeUniverseImage(bytes, '/cache/u.img')).toThrow(/^\/cache\/u\.img: /);
      }
    });

    it('refuses a malformed header as a bad image, not with a TypeError', () => {
      const length = image.readUInt32LE(8);
      const header = JSON.parse(image.toString('utf8', 16, 16 + length)) as { sections: unknown[] };
      for (const sections of [[null, ...header.sections], [5, ...header.sections], [['names', 'f32', 0, 1], ...header.sections], 'none']) {
        const text = Buffer.from(JSON.stringify({ ...header, sections }));
        const bytes = Buffer.from(image);
        bytes.writeUInt32LE(text.length, 8);
        text.copy(bytes, 16);
        expect(() => decodeUniverseImage(reseal(bytes, image), 'odd.img')).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID' }));
      }
    });

    it('refuses to write a universe whose references point outside its tables', () => {
      // Read back, an image's values are vouched for by its digest: they are checked as it is written.
      const db = openResolveDatabase(input);
      const parts = db.toParts();
      parts.depName[0] = parts.names.length + 5;
      const forged = Object.assign(Object.create(Database.prototype) as Database, { toParts: () => parts, packageList: db.packageList });
      expect(() => encodeUniverseImage(forged, {})).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('depName: entry 0 refers to') }));
      const unordered = db.toParts();
      unordered.providerStart[5] = unordered.providerStart[6]! + 1;
      expect(() => encodeUniverseImage(Object.assign(Object.create(Database.prototype) as Database, { toParts: () => unordered, packageList: db.packageList }), {})).toThrow(
        expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('providers: offsets decrease at 5') }),
      );
    });

    it('refuses an image whose tables do not match their counts even when its digest matches', () => {
      const { section } = layout(image);
      const [, , offset, count] = section('packageName');
      const bytes = Buffer.from(image);
      // One entry fewer for packageName than the file has packages.
      const length = bytes.readUInt32LE(8);
      const header = JSON.parse(bytes.toString('utf8', 16, 16 + length)) as { sections: Array<[string, string, number, number]> };
      header.sections = header.sections.map((entry) => (entry[0] === 'packageName' ? [entry[0], entry[1], offset, count - 1] : entry));
      const text = Buffer.from(JSON.stringify(header));
      bytes.writeUInt32LE(text.length, 8);
      text.copy(bytes, 16);
      expect(() => decodeUniverseImage(reseal(bytes, image), 'short.img')).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringMatching(/^short\.img: .*entries, expected/) }));
    });

    it('stores a table the discovery graph repeats once', () => {
      const { section } = layout(image);
      expect(section('graph.providerStart')[2]).toBe(section('providerStart')[2]);
      expect(section('graph.dependName')[2]).not.toBe(section('depName')[2]);
    });
  });

  it('exports only a universe of repositories', () => {
    const records = parseRecords(readFileSync(join(solverDir, 'basic.repo'), 'utf8'));
    const withInstalled = new Resolver({ repositories: [{ records }], installed: records.slice(0, 1), arch: 'x86_64' });
    expect(() => withInstalled.toImage({})).toThrow(/only an opened universe of repositories/);
    const resolver = new Resolver({ repositories: [{ records }], arch: 'x86_64' });
    expect(() => resolver.resolve(['a', 'not-in-any-repository'])).toThrow(expect.objectContaining({ code: 'APK_RESOLVE_UNSATISFIABLE' }));
    expect(() => resolver.toImage({})).toThrow(/resolved worlds naming unknown packages/);
  });
});
