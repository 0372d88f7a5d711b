import { generateKeyPairSync } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeApk } from './apk-reader.ts';
import {
  buildScriptsTar, formatArchFile, formatInstalledDb, keyFiles, formatInstalledPackage, formatTriggers, formatWorldFile, installedPackageFromApk, installedScriptsFromApk,
  parseInstalledDb, parseRepositoriesFile, parseScriptsTar, parseTriggers, parseWorldFile, xattrDigest,
} from './installed-db.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');
const text = (path: string) => readFileSync(join(fixtures, path), 'utf8');

describe('installed database', () => {
  it('round-trips the apk-tools-style root-db/installed byte for byte (record order kept)', () => {
    const original = text('apko/root-db/installed');
    const db = parseInstalledDb(original);
    expect(db).toHaveLength(14);
    expect(formatInstalledDb(db, 'given')).toBe(original);
    const baselayout = db.find((p) => p.record.name === 'alpine-baselayout-data')!;
    expect(baselayout.record.replaces).toEqual(['alpine-baselayout']);
    const etc = baselayout.directories.find((d) => d.path === 'etc')!;
    expect(etc.files.find((f) => f.name === 'shadow')).toEqual({ name: 'shadow', acl: { uid: 0, gid: 42, mode: 0o640 }, digest: 'Q1ltrPIAW2zHeDiajsex2Bdmq3uqA=' });
  });

  it('reads apko-written databases (C: last, i:[], k:0, 0777 modes) and normalises them', () => {
    for (const file of ['apko/installed/wolfi-base', 'apko/installed/redis-operator-compat']) {
      const db = parseInstalledDb(text(file), { source: file });
      expect(db.length).toBeGreaterThan(10);
      for (const pkg of db) expect(pkg.record.identity).toMatch(/^Q1/);
      const reparsed = parseInstalledDb(formatInstalledDb(db));
      expect(reparsed.map((p) => p.record.identity).sort()).toEqual(db.map((p) => p.record.identity).sort());
    }
    const mtab = parseInstalledDb(text('apko/installed/wolfi-base')).flatMap((p) => p.directories).flatMap((d) => d.files).find((f) => f.name === 'mtab')!;
    expect(mtab.acl).toEqual({ uid: 0, gid: 0, mode: 0o777 });
    expect(formatInstalledPackage(parseInstalledDb(text('apko/installed/wolfi-base'))[0]!)).toContain('a:0:0:777\n');
  });

  it('tolerates an M: after the bare root F: like apk-tools, refuses it in strict mode like apko', () => {
    const db = parseInstalledDb(text('apko/installed/bad-top-level-perms'));
    expect(db[0]!.directories[0]).toMatchObject({ path: '', acl: { mode: 0o711 } });
    expect(() => parseInstalledDb(text('apko/installed/bad-top-level-perms'), { strict: true, source: 'bad' })).toThrow(/bad:\d+: M:/);
  });

  it('refuses malformed file lines, naming the line', () => {
    expect(() => parseInstalledDb('C:Q1DNWZeWkviN7MJedLpYM8yBvmnGM=\nP:a\nV:1\nR:x\n', { source: 'db' })).toThrow(/db:4: R: before any F:/);
    expect(() => parseInstalledDb('C:Q1DNWZeWkviN7MJedLpYM8yBvmnGM=\nP:a\nV:1\nF:../etc\n', { source: 'db' })).toThrow(/db:4: F: path/);
    expect(() => parseInstalledDb('C:Q1DNWZeWkviN7MJedLpYM8yBvmnGM=\nP:a\nV:1\nF:\nR:x\na:0:0:999\n', { source: 'db' })).toThrow(/db:6: expected uid:gid:mode/);
    expect(() => parseInstalledDb('C:Q1DNWZeWkviN7MJedLpYM8yBvmnGM=\nP:a\nV:1\nF:\nR:x\nZ:nope\n', { source: 'db' })).toThrow(/not a Q1/);
  });

  it('turns hello-0.1.0-r0.apk into exactly the record of spec §5.2', async () => {
    const summary = await summarizeApk(createReadStream(join(fixtures, 'apko/hello-0.1.0-r0.apk')), { allowUntrusted: true });
    const pkg = installedPackageFromApk(summary.control, summary.entries, { fileSize: summary.end.fileSize });
    expect(formatInstalledPackage(pkg)).toBe(
      'C:Q1DNWZeWkviN7MJedLpYM8yBvmnGM=\nP:hello\nV:0.1.0-r0\nA:x86_64\nS:499\nI:4117\nT:just a test package\nU:\nL:Apache-2.0\nD:busybox\nF:\nR:hello\na:0:0:755\nZ:Q1nbbwdPygqQMTe5HHyGayHU5yBac=\n\n',
    );
  });

  it('writes M:/a:/Z: for the Alpine baselayout package as in the spec excerpt', async () => {
    const summary = await summarizeApk(createReadStream(join(fixtures, 'apko/alpine-316/alpine-baselayout-3.2.0-r23.apk')), { allowUntrusted: true });
    const record = formatInstalledPackage(installedPackageFromApk(summary.control, summary.entries, { fileSize: summary.end.fileSize }));
    expect(record).toContain('F:etc/crontabs\nR:root\na:0:0:600\nZ:Q1vfk1apUWI4yLJGhhNRd0kJixfvY=\n');
    expect(record).toContain('F:tmp\nM:0:0:1777\n');
    expect(record).toContain('F:var/spool/cron\nR:crontabs\na:0:0:777\nZ:Q1OFZt+ZMp7j0Gny0rqSKuWJyqYmA=\n');
    expect(record.startsWith('C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=\nP:alpine-baselayout\n')).toBe(true);
    // the output reads back with the same file list
    const back = parseInstalledDb(record)[0]!;
    expect(back.directories.flatMap((d) => d.files).length).toBe(summary.entries.filter((e) => e.type !== 'directory').length);
  });

  it('computes the xattr digest over sorted name/value pairs with big-endian lengths', () => {
    const digest = xattrDigest(new Map([['user.a', Buffer.from('x')], ['security.capability', Buffer.from([1, 2, 3])]]));
    const expected = Buffer.concat([Buffer.from([0, 0, 0, 19]), Buffer.from('security.capability'), Buffer.from([0, 0, 0, 3, 1, 2, 3]), Buffer.from([0, 0, 0, 6]), Buffer.from('user.a'), Buffer.from([0, 0, 0, 1]), Buffer.from('x')]);
    expect(digest).toBe(`Q1${execFileSync('sh', ['-c', 'openssl dgst -sha1 -binary | base64'], { input: expected }).toString().trim()}`);
    expect(xattrDigest(new Map())).toBeUndefined();
  });
});

describe('scripts.tar, triggers, world, repositories', () => {
  it('reads apko/root-db/scripts.tar (Q1 names with "/") and rewrites it with X1 names readable by GNU tar', async () => {
    const scripts = await parseScriptsTar(readFileSync(join(fixtures, 'apko/root-db/scripts.tar')));
    expect(scripts.map((s) => `${s.name}|${s.version}|${s.script}`)).toEqual([
      'busybox|1.35.0-r17|post-install', 'busybox|1.35.0-r17|post-upgrade', 'busybox|1.35.0-r17|trigger',
      'alpine-baselayout|3.2.0-r22|pre-install', 'alpine-baselayout|3.2.0-r22|post-install', 'alpine-baselayout|3.2.0-r22|pre-upgrade', 'alpine-baselayout|3.2.0-r22|post-upgrade',
    ]);
    const tar = buildScriptsTar(scripts);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-scripts-'));
    try {
      writeFileSync(join(dir, 'scripts.tar'), tar);
      const listing = execFileSync('tar', ['-tf', join(dir, 'scripts.tar')], { encoding: 'utf8' }).trim().split('\n');
      expect(listing).toContain(`busybox-1.35.0-r17.X1${Buffer.from('Meo+LHGPSi3uY9gIouEVb9z8Fbo=', 'base64').toString('hex')}.trigger`);
      expect(listing.every((name) => !name.includes('/'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const back = await parseScriptsTar(tar);
    expect(back).toHaveLength(scripts.length);
    expect(back.map((s) => s.identity.slice(0, 2))).toEqual(back.map(() => 'X1'));
    expect(back.find((s) => s.name === 'busybox' && s.script === 'trigger')!.content.equals(scripts.find((s) => s.name === 'busybox' && s.script === 'trigger')!.content)).toBe(true);
    expect(buildScriptsTar([])).toEqual(Buffer.alloc(1024));
  });

  it('collects package scripts from a read package', async () => {
    const summary = await summarizeApk(createReadStream(join(fixtures, 'apko/alpine-316/alpine-baselayout-3.2.0-r23.apk')), { allowUntrusted: true });
    const scripts = installedScriptsFromApk(summary.control);
    expect(scripts.map((s) => s.script).sort()).toEqual(['post-install', 'post-upgrade', 'pre-install', 'pre-upgrade']);
    expect(scripts[0]).toMatchObject({ name: 'alpine-baselayout', version: '3.2.0-r23', identity: 'Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=' });
  });

  it('reads and writes triggers, world and repositories', () => {
    const triggers = parseTriggers(text('apko/root-db/triggers'));
    expect(triggers.get('Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=')).toEqual(['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/lib/modules/*']);
    expect(formatTriggers([{ identity: 'Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=', triggers: triggers.get('Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=')! }])).toBe(text('apko/root-db/triggers'));
    expect(parseTriggers('Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo= /a\nQ1Meo+LHGPSi3uY9gIouEVb9z8Fbo= /b\n').get('Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=')).toEqual(['/a', '/b']);
    expect(formatWorldFile(['zlib', 'busybox', 'busybox', 'ca-certificates>=1'])).toBe('busybox\nca-certificates>=1\nzlib\n');
    expect(parseWorldFile('busybox\nzlib\n')).toEqual(['busybox', 'zlib']);
    expect(() => formatWorldFile(['a b'])).toThrow(/whitespace/);
    expect(formatArchFile('x86_64')).toBe('x86_64\n');
    expect(() => formatArchFile('x86_64\nevil')).toThrow(/not a plain name/);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(keyFiles(new Map([['b.rsa.pub', publicKey], ['a.rsa.pub', publicKey]])).map((f) => f.path)).toEqual(['etc/apk/keys/a.rsa.pub', 'etc/apk/keys/b.rsa.pub']);
    expect(() => keyFiles(new Map([['../x', publicKey]]))).toThrow(/not a file name/);
    expect(parseRepositoriesFile('# comment\nhttps://dl-cdn.alpinelinux.org/alpine/v3.17/main\n\n@edge https://x/edge\n')).toEqual(['https://dl-cdn.alpinelinux.org/alpine/v3.17/main', '@edge https://x/edge']);
  });
});
