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
import { decodeUniverseImage, encodeUniverseImage } from './universe-image.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const solverDir = join(fixtures, 'solver');

/** An image with its digest computed again over its (changed) bytes. */
function reseal(bytes: Buffer): Buffer {
  const body = bytes.subarray(0, bytes.length - 32);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
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

    it('reads package records only when asked, each checked against its package', () => {
      const { db } = decodeUniverseImage(image, 'test.img');
      const curl = db.getName('curl').providers[0]!.pkg;
      expect(curl.record).toEqual(records.find((record) => record.name === 'curl'));
      // A record whose text names another package is refused when it is read.
      const other = records.find((record) => record.name === 'curl')!.identity;
      const bad = Buffer.from(image);
      const at = bad.indexOf(Buffer.from(`"identity":"${other}"`));
      expect(at).toBeGreaterThan(0);
      bad.write('X', at + '"identity":"'.length + 1, 'latin1');
      expect(() => decodeUniverseImage(bad, 'damaged.img')).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('digest') }));
      // Sealed again (as only someone writing the image on purpose could), the record is still refused.
      const damaged = decodeUniverseImage(reseal(bad), 'damaged.img').db;
      expect(() => damaged.getName('curl').providers[0]!.pkg.record).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('does not describe curl-') }));
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
      flipped[flipped.length >> 3]! ^= 0x40;
      const cases: Array<[string, Buffer]> = [
        ['digest', flipped],
        ['not a universe image', Buffer.from('KILNUNV\u0002 and more bytes than a header needs............')],
        ['not a universe image', image.subarray(0, 20)],
        ['header runs past the end', Buffer.concat([image.subarray(0, 8), Buffer.from([0xff, 0xff, 0xff, 0x7f]), image.subarray(12, 200)])],
        ['digest does not match', image.subarray(0, image.length - 40)],
      ];
      for (const [message, bytes] of cases) {
        expect(() => decodeUniverseImage(bytes, '/cache/u.img'), message).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining(message) }));
        expect(() => decodeUniverseImage(bytes, '/cache/u.img')).toThrow(/^\/cache\/u\.img: /);
      }
    });

    it('refuses a malformed header as a bad image, not with a TypeError', () => {
      const length = image.readUInt32LE(8);
      const header = JSON.parse(image.toString('utf8', 12, 12 + length)) as { sections: unknown[] };
      for (const sections of [[null, ...header.sections], [5, ...header.sections], [['names', 'f32', 0, 1], ...header.sections], 'none']) {
        const text = Buffer.from(JSON.stringify({ ...header, sections }));
        const bytes = Buffer.from(image);
        bytes.writeUInt32LE(text.length, 8);
        text.copy(bytes, 12);
        expect(() => decodeUniverseImage(reseal(bytes), 'odd.img')).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID' }));
      }
    });

    it('refuses an image whose references point outside its tables even when its digest matches', () => {
      // Rebuild a consistent file around broken parts: the checks, not the digest, must catch it.
      const db = openResolveDatabase(input);
      const parts = db.toParts();
      parts.depName[0] = parts.names.length + 5;
      const forged = Object.assign(Object.create(Database.prototype) as Database, { toParts: () => parts, packageList: db.packageList });
      expect(() => decodeUniverseImage(encodeUniverseImage(forged, {}), 'forged.img')).toThrow(expect.objectContaining({ code: 'APK_UNIVERSE_IMAGE_INVALID', message: expect.stringContaining('depName') }));
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
