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
