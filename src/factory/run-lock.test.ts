import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentProcessIdentity } from '../lib/index.ts';
import { abandonRunLock, acquireRunLock, checkRunLock } from './run-lock.ts';

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
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toEqual({ ...currentProcessIdentity(), runId: 'run-a', startedAt: '2026-12-04T10:00:00.000Z' });
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

  it('never takes over a lock held in another pid namespace on the same host, and says how to remove it', async () => {
    // A container sharing the hostname: its pid means nothing here, dead or alive.
    const elsewhere = { ...currentProcessIdentity(), pid: await deadPid(), pidNamespace: 'pid:[1]', startedAt: 'x', runId: 'contained' };
    await writeFile(join(dir, 'run.lock'), JSON.stringify(elsewhere));
    await expect(acquireRunLock(dir, 'run-f', new Date())).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining(`or remove ${join(dir, 'run.lock')} if that run is no longer active (a run on another host or container is not checked from here)`) });
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'contained' });
    // The same machine restarted since (another boot id): its processes are gone.
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...elsewhere, boot: 'another-boot' }));
    const release = await acquireRunLock(dir, 'run-g', new Date());
    await release();
  });

  it('refuses a fresh unreadable lock file (a run writing it), and takes over one left a minute ago', async () => {
    await writeFile(join(dir, 'run.lock'), '');
    await expect(acquireRunLock(dir, 'run-d', new Date())).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining(`remove ${join(dir, 'run.lock')} if no run is active`) });
    const release = await acquireRunLock(dir, 'run-e', new Date(Date.now() + 61_000));
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
    abandonRunLock(dir);
    expect((await stat(join(dir, 'run.lock'))).isFile()).toBe(true);
    // Our very pid and host, written by a process in another pid namespace (pid 1 in two containers).
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...currentProcessIdentity(), pidNamespace: 'pid:[1]', startedAt: 'x', runId: 'twin' }));
    abandonRunLock(dir);
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ runId: 'twin' });
    await rm(join(dir, 'run.lock'));
    await acquireRunLock(dir, 'mine', new Date());
    abandonRunLock(dir);
    await expect(stat(join(dir, 'run.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
    // Once abandoned, a lock another run took since is not ours, even from this process.
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ ...currentProcessIdentity(), startedAt: 'x', runId: 'mine' }));
    abandonRunLock(dir);
    expect((await stat(join(dir, 'run.lock'))).isFile()).toBe(true);
  });
});
