import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxRunner, SandboxSpec } from './runner.ts';

/** How a conformance run gets its adapter. */
interface SandboxConformanceOptions {
  create: () => SandboxRunner;
  /** Guest root for the runs (`/` = the host's root read-only, as with --bootstrap-host). */
  rootfs?: string;
}

const GUEST = '/home/build';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin';
/** Environment variable carrying a per-case marker, inherited by everything a case starts, so a
 *  process that outlives its run can be found in /proc. */
const MARKER = 'KILN_SANDBOX_CASE';

/** A process's command line with its arguments separated by spaces ('' once it has gone). */
function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Every path under `dir`, relative and sorted (directories listed too). */
function listTree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((path) => path.split('\\').join('/')).sort();
}

/** Host processes whose environment carries `marker` (zombies have no environment and do not count). */
function processesWith(marker: string): string[] {
  const needle = `${MARKER}=${marker}\0`;
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return `${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(needle);
    } catch {
      return false;
    }
  });
}

/** The one suite every SandboxRunner adapter must pass unchanged. Cases that need isolation run
 *  only for adapters that claim it. Each case checks that nothing was left behind: the workspace
 *  holds exactly what the case's commands wrote, the read-only input is untouched, and no process
 *  the case started is still running. */
export function runSandboxConformance(name: string, options: SandboxConformanceOptions): void {
  // Isolation cases are registered only for adapters that claim isolation.
  const claims = options.create().isolation;
  describe(`SandboxRunner conformance: ${name}`, () => {
    let runner: SandboxRunner;
    let workspace: string;
    let outside: string;
    let marker: string;

    beforeEach(() => {
      runner = options.create();
      marker = randomUUID();
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
      env: { PATH, HOME: GUEST, [MARKER]: marker },
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
    /** Wraps a case: after its body, the workspace must hold exactly `workspaceAfter` (paths relative
     *  to it), the read-only input must be as it was, and no process of the case may still run.
     *  Processes get a short grace period to be reaped after a kill, checked by polling. */
    const leavesNothing = (workspaceAfter: readonly string[], body: () => Promise<void>) => async () => {
      await body();
      expect(listTree(workspace), 'workspace after the case').toEqual([...workspaceAfter].sort());
      expect(listTree(outside), 'read-only input after the case').toEqual(['input.txt']);
      expect(readFileSync(join(outside, 'input.txt'), 'utf8')).toBe('read-only input\n');
      let running = processesWith(marker);
      for (let i = 0; i < 100 && running.length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        running = processesWith(marker);
      }
      expect(running, 'processes still running after the case').toEqual([]);
    };

    it('propagates the exit code and separates stdout from stderr', leavesNothing([], async () => {
      const result = await run('echo out; echo err >&2; exit 7');
      expect(result).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    }));

    it('gives the command exactly the environment it was asked for', leavesNothing([], async () => {
      process.env.KILN_SANDBOX_LEAK_CHECK = 'leaked';
      try {
        const result = await run('env', { env: { PATH, HOME: GUEST, ONLY: 'this', [MARKER]: marker } });
        const names = result.stdout.split('\n').filter(Boolean).map((line) => line.split('=')[0]).filter((key) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(key!));
        expect(names.sort()).toEqual(['HOME', MARKER, 'ONLY', 'PATH']);
      } finally {
        delete process.env.KILN_SANDBOX_LEAK_CHECK;
      }
    }));

    it('runs in the requested working directory and persists workspace writes only', leavesNothing(['sub', 'sub/copied.txt', 'sub/here.txt'], async () => {
      mkdirSync(join(workspace, 'sub'));
      const result = await run('echo hi > here.txt && cat /var/kiln-input/input.txt > copied.txt', { workdir: `${GUEST}/sub` });
      expect(result.exitCode).toBe(0);
      expect(readFileSync(join(workspace, 'sub', 'here.txt'), 'utf8')).toBe('hi\n');
      expect(readFileSync(join(workspace, 'sub', 'copied.txt'), 'utf8')).toBe('read-only input\n');
    }));

    it('streams large output intact', leavesNothing([], async () => {
      const result = await run('i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done');
      const lines = result.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(20000);
      expect(lines[0]).toBe('line 0');
      expect(lines[19999]).toBe('line 19999');
    }));

    it('kills the command and its children on abort', leavesNothing(['started'], async () => {
      const controller = new AbortController();
      const pending = run(`sh -c 'sleep 60; echo never' & echo started > started; wait`, {}, controller.signal);
      for (let i = 0; i < 200 && !existsSync(join(workspace, 'started')); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      // The grandchild carries the case marker in its environment (so the leftover check can see it);
      // `started` is written before it is forked, so wait until it shows up.
      const commands = () => processesWith(marker).map(commandLine);
      for (let i = 0; i < 200 && !commands().includes('sleep 60'); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(commands()).toContain('sleep 60');
      controller.abort();
      const result = await pending;
      expect(result).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
      expect(result.stdout).not.toContain('never');
      // leavesNothing checks that neither the shell nor its child outlived the abort.
    }));

    if (claims.filesystem) it('keeps the root and read-only mounts unwritable', leavesNothing([], async () => {
      const result = await run('touch /usr/kiln-should-not-exist; a=$?; touch /var/kiln-input/x; b=$?; echo "$a $b"');
      expect(result.stdout.trim()).not.toMatch(/(^|\s)0(\s|$)/);
      expect(result.stderr).toMatch(/Read-only file system/);
      expect(existsSync('/usr/kiln-should-not-exist')).toBe(false);
    }));

    if (claims.network) it('offers only loopback without network and the host interfaces with it', leavesNothing([], async () => {
      const count = (text: string) => text.split('\n').filter((line) => line.includes(':')).length;
      const isolated = await run('cat /proc/net/dev');
      expect(count(isolated.stdout)).toBe(1);
      expect(isolated.stdout).toMatch(/\blo:/);
      const shared = await run('cat /proc/net/dev', { network: true });
      expect(count(shared.stdout)).toBe(count(readFileSync('/proc/net/dev', 'utf8')));
    }));

    if (claims.filesystem) it('gives each run a fresh /tmp', leavesNothing([], async () => {
      await run('echo one > /tmp/kiln-fresh');
      const second = await run('cat /tmp/kiln-fresh');
      expect(second.exitCode).not.toBe(0);
      expect(existsSync('/tmp/kiln-fresh')).toBe(false);
    }));
  });
}
