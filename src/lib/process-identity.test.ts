import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentProcessIdentity, holderLiveness, isSameProcess, processStartTicks } from './process-identity.ts';

async function exitedChild(): Promise<number> {
  const child = spawn('true');
  await new Promise((done) => child.once('exit', done));
  return child.pid!;
}

describe('currentProcessIdentity', () => {
  it('names this process by pid and host, and on Linux by boot, pid namespace and start time', () => {
    const here = currentProcessIdentity();
    expect(here).toMatchObject({ pid: process.pid, host: hostname(), boot: expect.stringMatching(/^[0-9a-f-]{36}$/), pidNamespace: expect.stringMatching(/^pid:\[\d+\]$/), start: expect.stringMatching(/^\d+$/) });
    expect(isSameProcess(here)).toBe(true);
    expect(isSameProcess({ ...here, start: `${Number(here.start) + 1}` })).toBe(false);
    expect(isSameProcess({ ...here, pidNamespace: 'pid:[1]' })).toBe(false);
  });
});

describe('processStartTicks', () => {
  it('reads when a process started: a child started now, by the boot time and clock tick of this machine', () => {
    const before = Date.now();
    const child = spawn('sleep', ['5']);
    try {
      const ticks = Number(processStartTicks(child.pid!));
      const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
      const hertz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
      const startedMs = (bootSeconds + ticks / hertz) * 1000;
      // btime has whole seconds; the child started within this test.
      expect(startedMs).toBeGreaterThan(before - 2000);
      expect(startedMs).toBeLessThan(Date.now() + 2000);
      expect(processStartTicks(child.pid!)).toBe(`${ticks}`);
    } finally {
      child.kill();
    }
  });
});

describe('holderLiveness', () => {
  it('judges a holder only from its own host, boot and pid namespace', async () => {
    const here = currentProcessIdentity();
    const dead = await exitedChild();
    const child = spawn('sleep', ['5']);
    try {
      expect(holderLiveness(here)).toBe('alive');
      // A live child as a lock it took would name it: alive; the same pid with another start time is
      // a reused pid, so the holder is gone.
      expect(holderLiveness({ ...here, pid: child.pid!, start: processStartTicks(child.pid!) })).toBe('alive');
      expect(holderLiveness({ ...here, pid: child.pid!, start: '1' })).toBe('gone');
      expect(holderLiveness({ ...here, pid: dead, start: undefined })).toBe('gone');
      expect(holderLiveness({ ...here, host: `not-${here.host}` })).toBe('unknown');
      // Same hostname elsewhere: another pid namespace (a container), or another boot id (another
      // machine with that hostname, or this one restarted: the two cannot be told apart).
      expect(holderLiveness({ ...here, pid: dead, pidNamespace: 'pid:[1]' })).toBe('unknown');
      expect(holderLiveness({ ...here, pid: dead, boot: 'another-boot' })).toBe('unknown');
      // A holder that recorded what this process cannot read about itself is not judged by pid alone.
      const blind = { pid: here.pid, host: here.host };
      expect(holderLiveness({ ...here, pid: dead }, blind)).toBe('unknown');
      // A lock written before boots and namespaces were recorded: its pid is trusted, as then.
      expect(holderLiveness({ pid: dead, host: here.host })).toBe('gone');
      expect(holderLiveness({ pid: process.pid, host: here.host })).toBe('alive');
      expect(holderLiveness({ host: here.host })).toBe('unknown');
    } finally {
      child.kill();
    }
  });
});
