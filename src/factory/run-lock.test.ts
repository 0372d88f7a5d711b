import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    expect(JSON.parse(await readFile(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ pid: process.pid, runId: 'run-a', startedAt: '2026-12-04T10:00:00.000Z' });
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

  it('throws FACTORY_LOCKED naming the file when the lock cannot be read, rather than answering', async () => {
    await writeFile(join(dir, 'run.lock'), '{"pid": 1');
    await expect(checkRunLock(dir, 'run-a')).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining(`${join(dir, 'run.lock')}: the run lock is not readable yet`) });
    await rm(join(dir, 'run.lock'));
    await mkdir(join(dir, 'run.lock'));
    await expect(checkRunLock(dir, 'run-a')).rejects.toMatchObject({ code: 'FACTORY_LOCKED', message: expect.stringContaining('cannot read the run lock: EISDIR') });
  });
});

describe('abandonRunLock', () => {
  it('removes the lock only when this process holds it', async () => {
    await writeFile(join(dir, 'run.lock'), JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: 'x', runId: 'other' }));
    abandonRunLock(dir);
    expect((await stat(join(dir, 'run.lock'))).isFile()).toBe(true);
    await rm(join(dir, 'run.lock'));
    await acquireRunLock(dir, 'mine', new Date());
    abandonRunLock(dir);
    await expect(stat(join(dir, 'run.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
    abandonRunLock(dir);
  });
});
