import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentProcessIdentity, holderLiveness, isSameProcess } from './process-identity.ts';

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

describe('holderLiveness', () => {
  it('judges a holder only from its own host, boot and pid namespace', async () => {
    const here = currentProcessIdentity();
    const dead = await exitedChild();
    // A live child: its start time read from /proc matches what it would have recorded.
    const child = spawn('sleep', ['5']);
    try {
      expect(holderLiveness(here)).toBe('alive');
      expect(holderLiveness({ ...here, pid: dead, start: undefined })).toBe('gone');
      expect(holderLiveness({ ...here, pid: child.pid!, start: undefined })).toBe('alive');
      // The child's pid with another start time: a reused pid, the holder is gone.
      expect(holderLiveness({ ...here, pid: child.pid!, start: '1' })).toBe('gone');
      expect(holderLiveness({ ...here, host: `not-${here.host}` })).toBe('unknown');
      expect(holderLiveness({ ...here, pid: dead, pidNamespace: 'pid:[1]' })).toBe('unknown');
      expect(holderLiveness({ ...here, pid: dead, boot: 'another-boot' })).toBe('gone');
      // A lock written before namespaces were recorded: its pid is trusted, as then.
      expect(holderLiveness({ pid: dead, host: here.host })).toBe('gone');
      expect(holderLiveness({ pid: process.pid, host: here.host })).toBe('alive');
      expect(holderLiveness({ host: here.host })).toBe('unknown');
    } finally {
      child.kill();
    }
  });
});
