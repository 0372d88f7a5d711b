import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApkBuffer, buildIndex, generateSigningKey, loadSigningKey } from '../../src/apk/index.ts';
import type { ApkWriteEntry, PackageRecord, PkgInfoInput, SigningKey } from '../../src/apk/index.ts';
import { startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';
import { runKiln } from './cli-support.ts';
import { recordOfPackage } from './package-support.ts';
import type { CliRun } from './cli-support.ts';

// What `kiln image build` and `ls-files` print: a dry run that is not stopped by outputs it would
// not write, aligned ls-files columns, counts that read right, progress bars only on a terminal.

let work: string;
let key: SigningKey;
let publicKey: string;

/** The text a terminal would show of bars drawn with escape sequences. */
// eslint-disable-next-line no-control-regex -- the bars are drawn with terminal escapes
const withoutEscapes = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g, '');

const kiln = (args: string[], isTTY = false): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, cwd: work, isTTY });

async function addPackage(pkginfo: PkgInfoInput, entries: ApkWriteEntry[]): Promise<PackageRecord> {
  const { bytes } = await buildApkBuffer({ pkginfo: { arch: 'x86_64', buildDate: 1_690_000_000, license: 'MIT', origin: pkginfo.name, ...pkginfo }, entries, mtime: 1_690_000_000, signer: key });
  await writeFile(join(work, 'repo', 'x86_64', `${pkginfo.name}-${pkginfo.version}.apk`), bytes);
  return recordOfPackage(bytes);
}

function config(packages: string[]): string {
  return `contents:
  repositories: [./repo]
  keyring: [${publicKey}]
  packages: [${packages.join(', ')}]
accounts:
  groups: [{groupname: wide, gid: 2000000000}]
  users: [{username: wide, uid: 2000000000, gid: 2000000000}]
  run-as: wide
archs: [x86_64]
`;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-e2e-image-output-'));
  const generated = await generateSigningKey(join(work, 'kiln-test'), 2048);
  key = await loadSigningKey(generated.privateKeyPath);
  publicKey = generated.publicKeyPath;
  await mkdir(join(work, 'repo', 'x86_64'), { recursive: true });
  const records = [
    await addPackage({ name: 'base', version: '1.0-r0', description: 'base layout' }, [
      { path: 'etc/os-release', type: 'file', content: 'ID=test\n' },
      { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
      { path: 'etc/group', type: 'file', content: 'root:x:0:\n' },
    ]),
    await addPackage({ name: 'hello', version: '1.0-r0', description: 'hello', depends: ['base'] }, [{ path: 'usr/bin/hello', type: 'file', mode: 0o755, content: '#!/bin/sh\necho hello\n' }]),
  ];
  await writeFile(join(work, 'repo', 'x86_64', 'APKINDEX.tar.gz'), buildIndex(records, { signer: key }));
  await writeFile(join(work, 'image.yaml'), config(['hello']));
  await writeFile(join(work, 'base.yaml'), config(['base']));
}, 120_000);

describe('kiln image build --dry-run', () => {
  it('plans even when the outputs exist, and leaves them alone (a real build still refuses them)', async () => {
    await writeFile(join(work, 'exists.tar'), 'keep me');
    await mkdir(join(work, 'exists-layout'), { recursive: true });
    const dry = await kiln(['image', 'build', 'image.yaml', 'example.com/x:1', 'exists.tar', '--oci-layout', 'exists-layout', '--cache-dir', 'cache', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { tag: string; arches: Array<{ packages: Array<{ name: string }> }> };
    expect(plan.tag).toBe('example.com/x:1');
    expect(plan.arches[0]!.packages.map((pkg) => pkg.name).sort()).toEqual(['base', 'hello']);
    expect(await readFile(join(work, 'exists.tar'), 'utf8')).toBe('keep me');

    const real = await kiln(['image', 'build', 'image.yaml', 'example.com/x:1', 'exists.tar', '--cache-dir', 'cache']);
    expect(real.code).toBe(1);
    expect(real.stderr).toContain(`${join(work, 'exists.tar')}: already exists (remove it or pass --overwrite)`);
  });
});

describe('kiln image build output', () => {
  it('counts packages and layers in the right number', async () => {
    const one = await kiln(['image', 'build', 'base.yaml', 'example.com/base:1', '--oci-layout', 'base-layout', '--cache-dir', 'cache']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^ {2}amd64: sha256:[0-9a-f]{64} \(1 package, 1 layer\)$/m);
    const two = await kiln(['image', 'build', 'image.yaml', 'example.com/hello:1', '--oci-layout', 'hello-layout', '--cache-dir', 'cache']);
    expect(two.stdout).toMatch(/^ {2}amd64: sha256:[0-9a-f]{64} \(2 packages, 1 layer\)$/m);
  });

  it('draws progress bars on stderr on a terminal only, finished before the output', async () => {
    const plain = await kiln(['image', 'build', 'image.yaml', 'example.com/hello:2', '--oci-layout', 'plain-layout', '--cache-dir', 'cache']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    const tty = await kiln(['image', 'build', 'image.yaml', 'example.com/hello:2', '--oci-layout', 'tty-layout', '--cache-dir', 'cache'], true);
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stdout).toBe(plain.stdout);
    const text = withoutEscapes(tty.stderr);
    expect(text).toMatch(/resolve +\[=+\] 1\/1/);
    expect(text).toMatch(/fetch +\[=+\] 2\/2 /);
    expect(text).toMatch(/install x86_64 +\[=+\] 2\/2/);
    expect(tty.stderr.endsWith('\n')).toBe(true);
  });
});

describe('kiln image ls-files', () => {
  it('aligns its columns however wide uid:gid and sizes are', async () => {
    const result = await kiln(['image', 'ls-files', 'image.yaml', '--cache-dir', 'cache']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    // the widest size is /lib/apk/db/scripts.tar's 1024: four digits
    expect(lines).toContain('drwx------ 2000000000:2000000000    0 /home/wide');
    expect(lines).toContain(`-rwxr-xr-x 0:0${' '.repeat(19)}  21 /usr/bin/hello  [hello]`);
    expect(lines).toContain(`-rw-r--r-- 0:0${' '.repeat(19)}1024 /lib/apk/db/scripts.tar`);
    // every path starts in the same column
    expect(new Set(lines.map((line) => line.indexOf(' /')))).toEqual(new Set([10 + 1 + 21 + 1 + 4]));
  });
});

describe('kiln image publish progress', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startDockerRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('draws build and push bars on a terminal, and none otherwise', async () => {
    const tty = await kiln(['image', 'publish', 'image.yaml', `${registry.host}/team/hello:1`, '--cache-dir', 'cache'], true);
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(new RegExp(`^${registry.host}/team/hello@sha256:[0-9a-f]{64}\n$`));
    // one layer, the config, the image manifest, the index, one tag
    expect(withoutEscapes(tty.stderr)).toMatch(/install x86_64 +\[=+\] 2\/2[^]*push +\[=+\] 5\/5 /);
    const plain = await kiln(['image', 'publish', 'image.yaml', `${registry.host}/team/hello:2`, '--cache-dir', 'cache']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
  });
});
