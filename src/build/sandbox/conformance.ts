import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxRunner, SandboxSpec } from './runner.ts';

/** How a conformance run gets its adapter. */
export interface SandboxConformanceOptions {
  create: () => SandboxRunner;
  /** Guest root for the runs (`/` = the host's root read-only, as with --bootstrap-host). */
  rootfs?: string;
}

const GUEST = '/home/build';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin';

/** The one suite every SandboxRunner adapter must pass unchanged. Cases that need isolation run
 *  only for adapters that claim it; each case checks that nothing was left behind. */
export function runSandboxConformance(name: string, options: SandboxConformanceOptions): void {
  // Isolation cases are registered only for adapters that claim isolation.
  const claims = options.create().isolation;
  describe(`SandboxRunner conformance: ${name}`, () => {
    let runner: SandboxRunner;
    let workspace: string;
    let outside: string;

    beforeEach(() => {
      runner = options.create();
      workspace = mkdtempSync(join(tmpdir(), 'kiln-sandbox-ws-'));
      outside = mkdtempSync(join(tmpdir(), 'kiln-sandbox-ro-'));
      writeFileSync(join(outside, 'input.txt'), 'read-only input\n');
    });
    afterEach(() => {
      rmSync(workspace, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    });

    const spec = (script: string, extra: Partial<SandboxSpec> = {}): SandboxSpec => ({
      rootfs: options.rootfs ?? '/',
      mounts: [
        { source: workspace, target: GUEST, writable: true },
        { source: outside, target: '/var/kiln-input', writable: false },
      ],
      workdir: GUEST,
      env: { PATH, HOME: GUEST },
      argv: ['/bin/sh', '-c', script],
      network: false,
      ...extra,
    });
    const run = async (script: string, extra: Partial<SandboxSpec> = {}, signal?: AbortSignal) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const result = await runner.run(spec(script, extra), (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk), signal);
      return { ...result, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    };

    it('propagates the exit code and separates stdout from stderr', async () => {
      const result = await run('echo out; echo err >&2; exit 7');
      expect(result).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
      expect(readdirSync(workspace)).toEqual([]);
    });

    it('gives the command exactly the environment it was asked for', async () => {
      process.env.KILN_SANDBOX_LEAK_CHECK = 'leaked';
      try {
        const result = await run('env', { env: { PATH, HOME: GUEST, ONLY: 'this' } });
        const names = result.stdout.split('\n').filter(Boolean).map((line) => line.split('=')[0]).filter((key) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(key!));
        expect(names.sort()).toEqual(['HOME', 'ONLY', 'PATH']);
      } finally {
        delete process.env.KILN_SANDBOX_LEAK_CHECK;
      }
    });

    it('runs in the requested working directory and persists workspace writes only', async () => {
      mkdirSync(join(workspace, 'sub'));
      const result = await run('echo hi > here.txt && cat /var/kiln-input/input.txt > copied.txt', { workdir: `${GUEST}/sub` });
      expect(result.exitCode).toBe(0);
      expect(readFileSync(join(workspace, 'sub', 'here.txt'), 'utf8')).toBe('hi\n');
      expect(readFileSync(join(workspace, 'sub', 'copied.txt'), 'utf8')).toBe('read-only input\n');
      expect(readdirSync(outside)).toEqual(['input.txt']);
    });

    it('streams large output intact', async () => {
      const result = await run('i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done');
      const lines = result.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(20000);
      expect(lines[19999]).toBe('line 19999');
    });

    it('kills the command and its children on abort', async () => {
      const controller = new AbortController();
      const marker = `kiln-abort-${process.pid}-${Date.now()}`;
      const pending = run(`sh -c 'sleep 60; echo ${marker}' & echo started > started; wait`, {}, controller.signal);
      for (let i = 0; i < 200 && !existsSync(join(workspace, 'started')); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      controller.abort();
      const result = await pending;
      expect(result.exitCode).not.toBe(0);
      // nothing left running
      await new Promise((resolve) => setTimeout(resolve, 100));
      const alive = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).some((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });
      expect(alive).toBe(false);
    });

    if (claims.filesystem) it('keeps the root and read-only mounts unwritable', async () => {
      const result = await run('touch /usr/kiln-should-not-exist; a=$?; touch /var/kiln-input/x; b=$?; echo "$a $b"');
      expect(result.stdout.trim()).not.toMatch(/(^|\s)0(\s|$)/);
      expect(result.stderr).toMatch(/Read-only file system/);
      expect(existsSync('/usr/kiln-should-not-exist')).toBe(false);
      expect(readdirSync(outside)).toEqual(['input.txt']);
    });

    if (claims.network) it('offers only loopback without network and the host interfaces with it', async () => {
      const count = (text: string) => text.split('\n').filter((line) => line.includes(':')).length;
      const isolated = await run('cat /proc/net/dev');
      expect(count(isolated.stdout)).toBe(1);
      expect(isolated.stdout).toMatch(/\blo:/);
      const shared = await run('cat /proc/net/dev', { network: true });
      expect(count(shared.stdout)).toBe(count(readFileSync('/proc/net/dev', 'utf8')));
    });

    if (claims.filesystem) it('gives each run a fresh /tmp', async () => {
      await run('echo one > /tmp/kiln-fresh');
      const second = await run('cat /tmp/kiln-fresh');
      expect(second.exitCode).not.toBe(0);
      expect(existsSync('/tmp/kiln-fresh')).toBe(false);
    });
  });
}
