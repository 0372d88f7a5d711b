import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-file-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A read-modify-write that loses updates unless the lock serializes it.
async function increment(counter: string, lock: string): Promise<void> {
  await withFileLock(lock, async () => {
    const value = Number(await readFile(counter, 'utf8'));
    await new Promise((done) => setTimeout(done, 1));
    await writeFile(counter, String(value + 1));
  });
}

describe('withFileLock', () => {
  it('serializes read-modify-write between callers in one process and in two processes', async () => {
    const counter = join(dir, 'counter');
    const lock = join(dir, 'counter.lock');
    await writeFile(counter, '0');
    await Promise.all(Array.from({ length: 20 }, () => increment(counter, lock)));
    expect(await readFile(counter, 'utf8')).toBe('20');
    const module = resolve(import.meta.dirname, 'file-lock.ts');
    const script = `import { readFile, writeFile } from 'node:fs/promises';
import { withFileLock } from ${JSON.stringify(module)};
for (let i = 0; i < 25; i++) await withFileLock(${JSON.stringify(lock)}, async () => {
  const value = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
  await new Promise((done) => setTimeout(done, 1));
  await writeFile(${JSON.stringify(counter)}, String(value + 1));
});`;
    const child = () =>
      new Promise<number | null>((done) => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' }).once('exit', done));
    expect(await Promise.all([child(), child(), increment(counter, lock).then(() => 0)])).toEqual([0, 0, 0]);
    expect(await readFile(counter, 'utf8')).toBe('71');
  }, 30_000);

  it('takes over a lock whose process is gone, and releases only its own', async () => {
    const lock = join(dir, 'state.lock');
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), token: 'dead' }));
    expect(await withFileLock(lock, () => Promise.resolve('ran'), { timeoutMs: 2000 })).toBe('ran');
    await expect(readFile(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('waits for a live holder and gives up with LOCK_TIMEOUT naming the lock', async () => {
    const lock = join(dir, 'busy.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'live' }));
    await expect(withFileLock(lock, () => Promise.resolve(1), { timeoutMs: 200 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', message: expect.stringContaining(lock) });
    // Still the holder's.
    expect(await readFile(lock, 'utf8')).toContain('"live"');
    // Too old to be held by anyone: taken over.
    expect(await withFileLock(lock, () => Promise.resolve(2), { timeoutMs: 1000, staleMs: 0 })).toBe(2);
  });
});
