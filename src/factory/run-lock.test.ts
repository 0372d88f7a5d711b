import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { currentProcessIdentity } from '../lib/index.ts';
import { abandonRunLock, acquireRunLock, checkRunLock, RUN_LOCK_EXPIRY_MS, RUN_LOCK_REFRESH_MS } from './run-lock.ts';

/** Makes the lock look last refreshed `ms` ago. */
async function ageLock(dir: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(join(dir, 'run.lock'), then, then);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-factory-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireRunLock', () => {
  it('lets one run in, refuses a second naming the first, and frees the lock on release', async () => {
    const release = await acquireRunLock(dir, 'run-a', new Date('2026-12-04T10:00:00Z'));
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toEqual({ ...currentProcessIdentity(), runId: 'run-a', startedAt: '2026-12-04T10:00:00.000Z', refreshMs: RUN_LOCK_REFRESH_MS });
    await expect(acquireRunLock(dir, 'run-b', new Date())).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringMatching(new RegExp(`pid ${process.pid} on .*, run run-a started 2026-12-04T10:00:00.000Z`)) });
    await release();
    const again = await acquireRunLock(dir, 'run-b', new Date());
    await again();
  });

  it('takes over a lock whose process is gone', async () => {
    const child = spawn('true');
    await new Promise((done) => child.once('exit', done));
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid: child.pid, host: hostname(), startedAt: 'x', runId: 'dead' }));
    const release = await acquireRunLock(dir, 'run-c', new Date());
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'run-c' });
    await release();
  });

  it('never takes over a live-looking lock held from elsewhere (another pid namespace or boot) until it expires unrefreshed', async () => {
    // A container sharing the hostname, or a machine with the same hostname: its pid means nothing here.
    const elsewhere = { ...currentProcessIdentity(), pid: await deadPid(), pidNamespace: 'pid:[1]', startedAt: 'x', runId: 'contained', refreshMs: RUN_LOCK_REFRESH_MS };
    await writeFile(join(dir, 'run.lock'), JSON.stringify(elsewhere));
    await expect(acquireRunLock(dir, 'run-f', new Date())).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining('wait for it to finish; a lock its run no longer refreshes expires 5m after the last refresh (0s ago)') });
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...elsewhere, pidNamespace: currentProcessIdentity().pidNamespace, boot: 'another-boot' }));
    await ageLock(dir, RUN_LOCK_EXPIRY_MS - 60_000);
    await expect(acquireRunLock(dir, 'run-g', new Date())).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining('(4m ago)') });
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'contained' });
    // Not refreshed for longer than the expiry: its run died, wherever it ran.
    await ageLock(dir, RUN_LOCK_EXPIRY_MS + 1000);
    const release = await acquireRunLock(dir, 'run-h', new Date());
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'run-h' });
    await release();
  });

  it('refreshes the lock it holds while the run lasts, and stops once released or taken over', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const release = await acquireRunLock(dir, 'run-r', new Date());
      await ageLock(dir, RUN_LOCK_EXPIRY_MS - 1000);
      vi.advanceTimersByTime(RUN_LOCK_REFRESH_MS);
      // The touch is asynchronous: wait for it.
      // (File I/O runs on the thread pool: on a loaded machine it can take a while.)
      for (let tries = 0; Date.now() - (await stat(join(dir, 'run.lock'))).mtimeMs > 60_000 && tries < 500; tries++) await new Promise((done) => setTimeout(done, 10));
      expect(Date.now() - (await stat(join(dir, 'run.lock'))).mtimeMs).toBeLessThan(60_000);
      expect(vi.getTimerCount()).toBe(1);
      await release();
      expect(vi.getTimerCount()).toBe(0);
      // Taken over by another run while this one was away (suspended past the expiry): never kept
      // fresh for its new holder, and the refreshing stops.
      await acquireRunLock(dir, 'run-s', new Date());
      await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid: 4242, host: 'elsewhere', startedAt: 'x', runId: 'run-t', refreshMs: RUN_LOCK_REFRESH_MS }));
      await ageLock(dir, 120_000);
      vi.advanceTimersByTime(RUN_LOCK_REFRESH_MS);
      for (let tries = 0; vi.getTimerCount() > 0 && tries < 500; tries++) await new Promise((done) => setTimeout(done, 10));
      expect(vi.getTimerCount()).toBe(0);
      expect(Date.now() - (await stat(join(dir, 'run.lock'))).mtimeMs).toBeGreaterThan(100_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a fresh unreadable lock file (a run writing it), and takes over one not refreshed for the expiry', async () => {
    await writeFile(join(dir, 'run.lock'), '');
    await expect(acquireRunLock(dir, 'run-d', new Date())).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining(`(lock file ${join(dir, 'run.lock')}); wait for it to finish; a lock its run no longer refreshes expires`) });
    const release = await acquireRunLock(dir, 'run-e', new Date(), Date.now() + RUN_LOCK_EXPIRY_MS + 1000);
    await release();
  });
});

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((done) => child.once('exit', done));
  return child.pid!;
}

describe('checkRunLock', () => {
  it('says held only for the run that holds the lock while its process lives on this host', async () => {
    expect(await checkRunLock(dir, 'run-a')).toEqual({ held: false, why: 'no run holds it' });
    const release = await acquireRunLock(dir, 'run-a', new Date());
    expect(await checkRunLock(dir, 'run-a')).toEqual({ held: true });
    expect(await checkRunLock(dir, 'run-b')).toEqual({ held: false, why: 'run run-a holds it' });
    await release();
    expect(await checkRunLock(dir, 'run-a')).toEqual({ held: false, why: 'no run holds it' });
  });

  it('says not held when the holder died on this host (SIGKILL leaves the file), and trusts another host', async () => {
    const pid = await deadPid();
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid, host: hostname(), startedAt: 'x', runId: 'dead' }));
    expect(await checkRunLock(dir, 'dead')).toEqual({ held: false, why: `its process ${pid} is gone` });
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid, host: `not-${hostname()}`, startedAt: 'x', runId: 'remote' }));
    expect(await checkRunLock(dir, 'remote')).toEqual({ held: true });
  });

  it('trusts a holder in another pid namespace on this host, and sees a reused pid as the holder gone', async () => {
    const here = currentProcessIdentity();
    // Same hostname and boot, another pid namespace (a container with the host's network): pid 1 there is not ours.
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...here, pid: await deadPid(), pidNamespace: 'pid:[1]', startedAt: 'x', runId: 'contained' }));
    expect(await checkRunLock(dir, 'contained')).toEqual({ held: true });
    // This very pid, but a process that started at another time: the holder is gone, its pid reused.
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...here, start: '1', startedAt: 'x', runId: 'reused' }));
    expect(await checkRunLock(dir, 'reused')).toEqual({ held: false, why: `its process ${process.pid} is gone` });
  });

  it('says not held when the lock was not refreshed for the expiry, wherever its run is', async () => {
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid: 4242, host: `not-${hostname()}`, startedAt: 'x', runId: 'remote', refreshMs: RUN_LOCK_REFRESH_MS }));
    expect(await checkRunLock(dir, 'remote')).toEqual({ held: true });
    const later = Date.now() + RUN_LOCK_EXPIRY_MS + 61_000;
    expect(await checkRunLock(dir, 'remote', later)).toEqual({ held: false, why: 'its run stopped refreshing it 6m1s ago' });
    // Never while its holder is seen alive (a process suspended, a filesystem that refused the touch).
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...currentProcessIdentity(), startedAt: 'x', runId: 'live', refreshMs: RUN_LOCK_REFRESH_MS }));
    expect(await checkRunLock(dir, 'live', later)).toEqual({ held: true });
    // Nor a lock written by a Kiln that did not refresh its locks.
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid: 4242, host: `not-${hostname()}`, startedAt: 'x', runId: 'older' }));
    expect(await checkRunLock(dir, 'older', later)).toEqual({ held: true });
    await expect(acquireRunLock(dir, 'run-x', new Date(), later)).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining('(the lock was written by an older Kiln, which does not refresh it)') });
  });

  it('reads an unreadable lock again, and throws FACTORY_LOCK_UNREADABLE naming the file only when it stays so', async () => {
    // Half-written when first read, whole a moment later: an answer, not an error.
    await writeFile(join(dir, 'run.lock'), '{"pid": 1');
    const completed = new Promise((done) => setTimeout(done, 100)).then(() => writeFile(join(dir, 'run.lock'), JSON.stringify({ ...currentProcessIdentity(), startedAt: 'x', runId: 'run-a' })));
    expect(await checkRunLock(dir, 'run-a')).toEqual({ held: true });
    await completed;
    await writeFile(join(dir, 'run.lock'), '{"pid": 1');
    await expect(checkRunLock(dir, 'run-a')).rejects.toMatchObject({ code: 'FACTORY_LOCK_UNREADABLE', message: expect.stringContaining(`${join(dir, 'run.lock')}: cannot read the run lock: it is not JSON (half-written?)`) });
    await rm(join(dir, 'run.lock'));
    await mkdir(join(dir, 'run.lock'));
    await expect(checkRunLock(dir, 'run-a')).rejects.toMatchObject({ code: 'FACTORY_LOCK_UNREADABLE', message: expect.stringContaining('cannot read the run lock: EISDIR') });
  });
});

describe('abandonRunLock', () => {
  it('removes the lock only when this process took it for the run it names', async () => {
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: 'x', runId: 'other' }));
    expect(abandonRunLock(dir)).toBe(false);
    expect((await stat(join(dir, 'run.lock'))).isFile()).toBe(true);
    // Our very pid and host, written by a process in another pid namespace (pid 1 in two containers).
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...currentProcessIdentity(), pidNamespace: 'pid:[1]', startedAt: 'x', runId: 'twin' }));
    expect(abandonRunLock(dir)).toBe(false);
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'twin' });
    await rm(join(dir, 'run.lock'));
    await acquireRunLock(dir, 'mine', new Date());
    expect(abandonRunLock(dir)).toBe(true);
    await expect(stat(join(dir, 'run.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
    // Once abandoned, a lock another run took since is not ours, even from this process.
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...currentProcessIdentity(), startedAt: 'x', runId: 'mine' }));
    expect(abandonRunLock(dir)).toBe(false);
    expect((await stat(join(dir, 'run.lock'))).isFile()).toBe(true);
    await rm(join(dir, 'run.lock'));
    // Stopped while still writing its own lock (created, not yet written): removed.
    const release = await acquireRunLock(dir, 'half', new Date());
    await writeFile(join(dir, 'run.lock'), '{"pid":');
    expect(abandonRunLock(dir)).toBe(true);
    await expect(stat(join(dir, 'run.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
    await release();
  });
});
