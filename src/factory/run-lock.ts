// One factory run per state directory: STATE/run.lock holds the pid, host and start of the run that
// owns it. A lock whose process is gone (same host, no such pid) is stale and taken over.
import { hostname } from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive } from '../lib/index.ts';
import { FactoryError } from './errors.ts';

interface LockRecord {
  pid: number;
  host: string;
  startedAt: string;
  runId: string;
}

/** An unreadable lock older than this was left by a run that died while writing it. */
const UNREADABLE_LOCK_STALE_MS = 60_000;

/** Whether a run still owns the state, as a worker about to run one of its steps must know. */
export type RunLockCheck = { held: true } | { held: false; why: string };

/** Whether run `runId` still holds STATE/run.lock: the lock names it and, when it was taken on this
 *  host, its process is alive. No lock, another run's, or a dead holder: not held. A lock that cannot
 *  be read (an I/O error, or one being written) is not an answer: that throws, so the caller tries
 *  again later instead of refusing a live run's work for good. */
export async function checkRunLock(stateDir: string, runId: string): Promise<RunLockCheck> {
  const path = join(stateDir, 'run.lock');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { held: false, why: 'no run holds it' };
    throw new FactoryError('FACTORY_LOCKED', `${path}: cannot read the run lock: ${(error as Error).message}`, { cause: error, detail: { lock: path } });
  }
  let holder: Partial<LockRecord>;
  try {
    holder = JSON.parse(text) as Partial<LockRecord>;
  } catch (error) {
    throw new FactoryError('FACTORY_LOCKED', `${path}: the run lock is not readable yet (being written?): ${(error as Error).message}`, { cause: error, detail: { lock: path } });
  }
  if (holder.runId !== runId) return { held: false, why: `run ${holder.runId ?? '?'} holds it` };
  if (holder.host === hostname() && typeof holder.pid === 'number' && !isProcessAlive(holder.pid)) return { held: false, why: `its process ${holder.pid} is gone` };
  return { held: true };
}

/** Removes STATE/run.lock at once if this process holds it: for a run stopped by a signal, so work
 *  it left queued is refused at once, on every host, rather than once its process is seen gone. */
export function abandonRunLock(stateDir: string): void {
  const path = join(stateDir, 'run.lock');
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockRecord>;
    if (holder.pid === process.pid && holder.host === hostname()) rmSync(path, { force: true });
  } catch {
    // No lock, or not ours to remove.
  }
}

/** Takes STATE/run.lock for `runId`; FACTORY_LOCKED when a live run holds it. Returns the release. */
export async function acquireRunLock(stateDir: string, runId: string, now: Date): Promise<() => Promise<void>> {
  const path = join(stateDir, 'run.lock');
  const record: LockRecord = { pid: process.pid, host: hostname(), startedAt: now.toISOString(), runId };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return async () => {
        const current = await readFile(path, 'utf8').catch(() => '');
        if (current.includes(`"runId":"${runId}"`)) await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: Partial<LockRecord> = {};
    try {
      holder = JSON.parse(await readFile(path, 'utf8')) as LockRecord;
    } catch {
      // Unreadable or half-written: written by a run that died between create and write, or being
      // written right now; only one older than UNREADABLE_LOCK_STALE_MS is treated as stale below.
    }
    const ageMs = await stat(path).then((info) => now.getTime() - info.mtimeMs, () => 0);
    const stale = holder.pid !== undefined ? holder.host === record.host && !isProcessAlive(holder.pid) : ageMs > UNREADABLE_LOCK_STALE_MS;
    if (!stale) {
      throw new FactoryError('FACTORY_LOCKED', `${stateDir}: another factory run holds the state (${holder.pid !== undefined ? `pid ${holder.pid} on ${holder.host ?? '?'}, run ${holder.runId ?? '?'} started ${holder.startedAt ?? '?'}` : `lock file ${path}`}); wait for it to finish${holder.pid === undefined ? `, or remove ${path} if no run is active` : ''}`, {
        detail: { lock: path, ...holder },
      });
    }
    await rm(path, { force: true });
  }
  throw new FactoryError('FACTORY_LOCKED', `${stateDir}: could not take the run lock ${path}`, { detail: { lock: path } });
}
