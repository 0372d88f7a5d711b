import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeStaleLock, seeLock, withFileLock } from './file-lock.ts';
import { currentProcessIdentity } from './process-identity.ts';

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

  it('leaves a lock held in another pid namespace on this host alone, however dead its pid looks here', async () => {
    const lock = join(dir, 'contained.lock');
    const dead = spawn('true');
    await new Promise((done) => dead.once('exit', done));
    await writeFile(lock, JSON.stringify({ ...currentProcessIdentity(), pid: dead.pid, pidNamespace: 'pid:[1]', token: 'theirs' }));
    await expect(withFileLock(lock, () => Promise.resolve(1), { timeoutMs: 200 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    expect(await readFile(lock, 'utf8')).toContain('"theirs"');
  });

  it('removes the locks it holds when the process exits in the middle of the body (a signal handler calling process.exit)', async () => {
    const lock = join(dir, 'state.lock');
    const other = join(dir, 'other.lock');
    // Somebody else's lock must survive the exit.
    await writeFile(other, JSON.stringify({ pid: process.pid, host: hostname(), token: 'not-the-child' }));
    const module = resolve(import.meta.dirname, 'file-lock.ts');
    const takenOver = join(dir, 'taken-over.lock');
    // The child holds two locks; the second is taken over by someone else (as stale) before it exits.
    const script = `import { writeFileSync } from 'node:fs';
import { withFileLock } from ${JSON.stringify(module)};
await withFileLock(${JSON.stringify(lock)}, () => withFileLock(${JSON.stringify(takenOver)}, async () => {
  writeFileSync(${JSON.stringify(takenOver)}, JSON.stringify({ token: 'the-new-holder' }));
  process.stdout.write('held\\n');
  process.exit(143);
}));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise((done) => child.once('exit', done))).toBe(143);
    expect(output).toBe('held\n');
    await expect(readFile(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(takenOver, 'utf8')).toContain('the-new-holder');
    expect(await readFile(other, 'utf8')).toContain('not-the-child');
  }, 30_000);

  it('removes a stale lock only if it is still the very one judged stale, one taker at a time', async () => {
    const lock = join(dir, 'race.lock');
    await writeFile(lock, '');
    const judged = (await seeLock(lock))!;
    expect(await removeStaleLock(lock, judged)).toBe(true);
    await expect(readFile(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await removeStaleLock(lock, judged)).toBe(false);
    // Both found the empty lock stale; the other removed it and created its own, empty as it starts:
    // the same text, another file. It stays.
    await writeFile(lock, '');
    expect(await removeStaleLock(lock, judged)).toBe(false);
    expect((await seeLock(lock))!.file).not.toBe(judged.file);
    // Another taker in the middle of its takeover: wait for it (false), unless its guard is old.
    const current = (await seeLock(lock))!;
    await writeFile(`${lock}.takeover`, '');
    expect(await removeStaleLock(lock, current)).toBe(false);
    expect(await readFile(lock, 'utf8')).toBe('');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${lock}.takeover`, old, old);
    expect(await removeStaleLock(lock, current)).toBe(false);
    expect(await removeStaleLock(lock, current)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});
