import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bwrapArguments, createBwrapRunner } from './bwrap.ts';
import { runSandboxConformance } from './conformance.ts';

runSandboxConformance('bubblewrap', { create: () => createBwrapRunner() });

describe('bwrapArguments', () => {
  it('covers a missing mount parent with a tmpfs and clears the environment', () => {
    const args = bwrapArguments({ rootfs: '/', mounts: [{ source: '/tmp/ws', target: '/home/build', writable: true }], workdir: '/home/build', env: { B: '2', A: '1' }, argv: ['/bin/true'], network: false });
    expect(args.join(' ')).toContain('--tmpfs /home --bind /tmp/ws /home/build');
    expect(args).toContain('--unshare-net');
    expect(args.join(' ')).toContain('--clearenv --setenv A 1 --setenv B 2 -- /bin/true');
  });
});

describe('bubblewrap run-as', () => {
  it('runs the command as the requested guest user and group, and files it writes land in the workspace', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'kiln-bwrap-user-'));
    try {
      const runner = createBwrapRunner();
      let output = '';
      const result = await runner.run(
        { rootfs: '/', mounts: [{ source: workspace, target: '/home/build', writable: true }], workdir: '/home/build', env: { PATH: '/usr/bin:/bin' }, argv: ['/bin/sh', '-c', 'id -u; id -g; echo made > out'], network: false, user: { uid: 65532, gid: 65533 } },
        (_stream, chunk) => (output += chunk.toString()),
      );
      expect(result.exitCode).toBe(0);
      expect(output).toBe('65532\n65533\n');
      expect(readFileSync(join(workspace, 'out'), 'utf8')).toBe('made\n');
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

describe('bubblewrap as root', () => {
  // As root (CI) the step has Docker's capabilities in the host's user namespace; otherwise it runs
  // as an unprivileged user in a user namespace. Either way these must hold.
  it('keeps kernel settings read-only, hides /proc/kcore and the host root\'s home from a step', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'kiln-bwrap-root-'));
    try {
      const runner = createBwrapRunner();
      let output = '';
      const current = readFileSync('/proc/sys/kernel/printk_ratelimit', 'utf8').trim();
      const script = [
        `if (echo ${current} > /proc/sys/kernel/printk_ratelimit) 2>/dev/null; then echo sysctl-written; else echo sysctl-refused; fi`,
        'echo kcore=$(head -c 16 /proc/kcore 2>/dev/null | wc -c)',
        'echo root-entries=$(ls -A /root 2>/dev/null | wc -l)',
      ].join('\n');
      const result = await runner.run(
        { rootfs: '/', mounts: [{ source: workspace, target: '/home/build', writable: true }], workdir: '/home/build', env: { PATH: '/usr/bin:/bin' }, argv: ['/bin/sh', '-c', script], network: false },
        (_stream, chunk) => (output += chunk.toString()),
      );
      expect(result.exitCode).toBe(0);
      expect(output).toBe('sysctl-refused\nkcore=0\nroot-entries=0\n');
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

describe('bubblewrap environment', () => {
  it('passes the environment (env-file secrets included) through a pipe, never on a command line other users can read', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'kiln-bwrap-env-'));
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    try {
      const runner = createBwrapRunner();
      let output = '';
      const running = runner.run(
        // `--` among the values must not be taken for the end of bwrap's options.
        { rootfs: '/', mounts: [{ source: workspace, target: '/home/build', writable: true }], workdir: '/home/build', env: { PATH: '/usr/bin:/bin', DASHES: '--', TOKEN: secret }, argv: ['/bin/sh', '-c', 'echo "$DASHES $TOKEN"; sleep 1'], network: false },
        (_stream, chunk) => (output += chunk.toString()),
      );
      await new Promise((done) => setTimeout(done, 400));
      const exposed = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(secret);
        } catch {
          return false;
        }
      });
      expect((await running).exitCode).toBe(0);
      expect(output).toBe(`-- ${secret}\n`);
      expect(exposed).toEqual([]);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
