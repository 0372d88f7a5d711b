import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
