import { describe, expect, it } from 'vitest';
import type { CompiledStep } from './compile.ts';
import { runSteps } from './engine.ts';
import type { SandboxRunner, SandboxSpec } from './sandbox/runner.ts';

// melange's --interactive: a failed step opens a shell on the caller's terminal in a sandbox like
// the step's, and the failure is reported once the shell exits.

function recordingRunner(exitCodes: number[]): { runner: SandboxRunner; specs: SandboxSpec[] } {
  const specs: SandboxSpec[] = [];
  const runner: SandboxRunner = {
    name: 'recording',
    isolation: { filesystem: false, network: false },
    run(spec) {
      specs.push(spec);
      return Promise.resolve({ exitCode: exitCodes.shift() ?? 0 });
    },
  };
  return { runner, specs };
}

const step: CompiledStep = { name: 'make', label: 'make', runs: 'make', workdir: '/home/build/src', environment: { CC: 'gcc' }, steps: [], where: 'r.yaml:5:5', network: false };
const context = (runner: SandboxRunner, interactive: boolean) => ({
  runner,
  rootfs: '/',
  mounts: [{ source: '/tmp/ws', target: '/home/build', writable: true }],
  baseEnv: { HOME: '/home/build' },
  ...(interactive ? { interactive: true } : {}),
  user: { uid: 1000, gid: 1000 },
});

describe('runSteps with interactive', () => {
  it('opens /bin/sh on the terminal in the failed step\'s sandbox and directory, then reports the failure', async () => {
    const { runner, specs } = recordingRunner([2, 0]);
    await expect(runSteps([step], context(runner, true))).rejects.toMatchObject({ code: 'STEP_FAILED', message: expect.stringContaining('failed with exit code 2') as unknown });
    expect(specs).toHaveLength(2);
    const [failed, shell] = specs;
    expect(shell).toMatchObject({ terminal: true, rootfs: failed!.rootfs, mounts: failed!.mounts, env: failed!.env, user: { uid: 1000, gid: 1000 }, network: false });
    expect(shell!.argv).toEqual(['/bin/sh', '-c', "[ -d '/home/build/src' ] && cd '/home/build/src'; exec /bin/sh -i"]);
    expect(failed!.terminal).toBeUndefined();
  });

  it('opens nothing when the step succeeds or interactive is off', async () => {
    const ok = recordingRunner([0]);
    await runSteps([step], context(ok.runner, true));
    expect(ok.specs).toHaveLength(1);
    const off = recordingRunner([1]);
    await expect(runSteps([step], context(off.runner, false))).rejects.toMatchObject({ code: 'STEP_FAILED' });
    expect(off.specs).toHaveLength(1);
  });
});
