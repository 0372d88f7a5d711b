import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireRunLock } from './run-lock.ts';

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
