// `kiln image customize`: a Kiln OS catalog image with its shell removed and jq added, written as a
// derived configuration that records its base, built by kiln image build, unpacked with umoci and
// run with runc. Uses the cached Kiln OS repository (kiln-os-support.ts).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { ensureKilnOs, KILN_OS_BUILD_TIMEOUT } from './kiln-os-support.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let out: string;
let key: string;

/** `kiln ARGS` in-process with HOME in `cwd` and a fixed SOURCE_DATE_EPOCH. */
function kiln(args: string[], cwd: string): Promise<CliRun> {
  return runKiln(args, { cwd, env: { HOME: cwd, SOURCE_DATE_EPOCH: '1700000000' } });
}

describe('kiln image customize (Kiln OS busybox → no shell, with jq)', () => {
  let work: string;

  beforeAll(async () => {
    const os = await ensureKilnOs();
    out = os.out;
    key = os.publicKey;
    work = await mkdtemp(join(tmpdir(), 'kiln-image-customize-'));
  }, KILN_OS_BUILD_TIMEOUT);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes a derived config that records its base and removes the shell; the built image has jq and no /bin/sh', async () => {
    const osDir = join(root, 'os');
    const customized = await kiln(
      ['image', 'customize', 'busybox', '--os-dir', osDir, '--remove', 'busybox', '--add', 'jq', '--entrypoint', '/usr/bin/jq', '--cmd', '-n', '--env', 'GREETING=hi', '--user', 'nonroot', '-r', out, '-k', key, '-o', 'derived.yaml'],
      work,
    );
    expect(customized.code, customized.stderr).toBe(0);
    expect(customized.stderr).toBe('');
    const text = await readFile(join(work, 'derived.yaml'), 'utf8');
    expect(text).toMatch(/^# Derived by kiln image customize from busybox \(sha256-[A-Za-z0-9+/]+=*\)\.\n# Changes: \+jq, -busybox, run-as nonroot, env GREETING, entrypoint, cmd\./);
    expect(text).toContain('dev.kiln.image.base: busybox\n');
    expect(text).toContain('    - "!busybox"\n    - jq\n');

    const built = await kiln(['image', 'build', 'derived.yaml', 'kiln.test/custom:latest', 'custom.tar', '--oci-layout', 'layout'], work);
    expect(built.code, built.stderr).toBe(0);
    const index = JSON.parse(await readFile(join(work, 'layout', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const nested = JSON.parse(await readFile(join(work, 'layout', 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { annotations?: Record<string, string> };
    expect(nested.annotations?.['dev.kiln.image.base']).toBe('busybox');

    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--image', `${join(work, 'layout')}:latest`, bundle]);
    expect(existsSync(join(bundle, 'rootfs', 'usr', 'bin', 'jq'))).toBe(true);
    expect(existsSync(join(bundle, 'rootfs', 'bin', 'sh'))).toBe(false);
    expect(existsSync(join(bundle, 'rootfs', 'bin', 'busybox'))).toBe(false);
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { terminal: boolean; user: { uid: number }; args: string[]; env: string[] } };
    expect(config.process.args).toEqual(['/usr/bin/jq', '-n']);
    expect(config.process.user.uid).toBe(65532);
    expect(config.process.env).toContain('GREETING=hi');
    config.process.terminal = false;
    config.process.args = ['/usr/bin/jq', '-n', '{user: "ok"}.user'];
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
    const { stdout } = await run('runc', ['run', '--bundle', bundle, `kiln-customize-${process.pid}`], { timeout: 60_000 });
    expect(stdout).toBe('"ok"\n');
    // The shell is gone: runc cannot start it.
    config.process.args = ['/bin/sh', '-c', 'true'];
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
    await expect(run('runc', ['run', '--bundle', bundle, `kiln-customize-sh-${process.pid}`], { timeout: 60_000 })).rejects.toMatchObject({ stderr: expect.stringContaining('/bin/sh') as string });
  });

  it('warns when the entrypoint still runs the removed shell, and refuses removing what the base does not list', async () => {
    const warned = await kiln(['image', 'customize', 'busybox', '--os-dir', join(root, 'os'), '--remove', 'busybox', '-o', 'shell-less.yaml'], work);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toBe('warning: the entrypoint "/bin/sh -l" runs a shell that was removed: set --entrypoint\n');
    const refused = await kiln(['image', 'customize', 'busybox', '--os-dir', join(root, 'os'), '--remove', 'curl', '-o', 'x.yaml'], work);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('kiln: --remove curl: busybox does not list curl in contents.packages (it lists kiln-baselayout, ca-certificates-bundle, tzdata, busybox)\n');
    expect(existsSync(join(work, 'x.yaml'))).toBe(false);
    expect((await kiln(['image', 'customize', 'busybox', '--os-dir', join(root, 'os'), '--remove', 'busybox'], work)).code).toBe(2);
  });
});
