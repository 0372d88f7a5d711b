// One factory run per state directory: STATE/run.lock names the process (pid, host, boot, pid
// namespace, start time) and the run that owns it. A lock whose process is seen gone from the same host
// and pid namespace is stale and taken over; one held from elsewhere stays until its run releases it.
import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { currentProcessIdentity, holderLiveness, isSameProcess } from '../lib/index.ts';
import type { ProcessIdentity } from '../lib/index.ts';
import { FactoryError } from './errors.ts';

interface LockRecord extends ProcessIdentity {
  startedAt: string;
  runId: string;
}

/** Run locks this process holds: lock path → run id (what abandonRunLock may remove). */
const ownLocks = new Map<string, string>();

/** Reads of a lock that fail (I/O error, half-written) are tried again after these waits. */
const LOCK_READ_RETRIES_MS = [50, 200, 500, 1000];

/** An unreadable lock older than this was left by a run that died while writing it. */
const UNREADABLE_LOCK_STALE_MS = 60_000;

/** Whether a run still owns the state, as a worker about to run one of its steps must know. */
export type RunLockCheck = { held: true } | { held: false; why: string };

/** Whether run `runId` still holds STATE/run.lock: the lock names it and its process is not seen
 *  gone (seen only from its own host and pid namespace). No lock, another run's, or a dead holder: not
 *  held. A lock that still cannot be read after a few tries (an I/O error, or one left half-written)
 *  is no answer: FACTORY_LOCK_UNREADABLE, so the caller fails this attempt and tries again later
 *  instead of refusing a live run's work for good. */
export async function checkRunLock(stateDir: string, runId: string): Promise<RunLockCheck> {
  const path = join(stateDir, 'run.lock');
  let holder: Partial<LockRecord> | undefined;
  for (let attempt = 0; holder === undefined; attempt++) {
    try {
      holder = JSON.parse(await readFile(path, 'utf8')) as Partial<LockRecord>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { held: false, why: 'no run holds it' };
      if (attempt >= LOCK_READ_RETRIES_MS.length) {
        const why = error instanceof SyntaxError ? `it is not JSON (half-written?): ${error.message}` : (error as Error).message;
        throw new FactoryError('FACTORY_LOCK_UNREADABLE', `${path}: cannot read the run lock: ${why}`, { cause: error, detail: { lock: path } });
      }
      await delay(LOCK_READ_RETRIES_MS[attempt]);
    }
  }
  if (holder.runId !== runId) return { held: false, why: `run ${holder.runId ?? '?'} holds it` };
  if (holderLiveness(holder) === 'gone') return { held: false, why: `its process ${holder.pid} is gone` };
  return { held: true };
}

/** Removes STATE/run.lock at once if this process took it for a run that is still on: for a run
 *  stopped by a signal, so work it left queued is refused at once, on every host, rather than once its
 *  process is seen gone. Never another process's lock, even one with the same pid elsewhere. */
export function abandonRunLock(stateDir: string): void {
  const path = resolve(stateDir, 'run.lock');
  const runId = ownLocks.get(path);
  if (runId === undefined) return;
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockRecord>;
    if (holder.runId === runId && isSameProcess(holder)) rmSync(path, { force: true });
  } catch {
    // No lock, or not readable: nothing of ours to remove.
  }
  ownLocks.delete(path);
}

/** Takes STATE/run.lock for `runId`; FACTORY_LOCKED when a live run holds it. Returns the release. */
export async function acquireRunLock(stateDir: string, runId: string, now: Date): Promise<() => Promise<void>> {
  const path = join(stateDir, 'run.lock');
  const record: LockRecord = { ...currentProcessIdentity(), startedAt: now.toISOString(), runId };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      ownLocks.set(resolve(path), runId);
      return async () => {
        const current = await readFile(path, 'utf8').catch(() => '');
        if (current.includes(`"runId":"${runId}"`)) await rm(path, { force: true });
        if (ownLocks.get(resolve(path)) === runId) ownLocks.delete(resolve(path));
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
    const liveness = holder.pid !== undefined ? holderLiveness(holder) : undefined;
    const stale = liveness !== undefined ? liveness === 'gone' : ageMs > UNREADABLE_LOCK_STALE_MS;
    if (!stale) {
      // Only a holder in this host's pid namespace can be seen to have died; elsewhere, a person must say so.
      const hint = liveness === 'alive' ? '' : liveness === 'unknown' ? `, or remove ${path} if that run is no longer active (a run on another host or container is not checked from here)` : `, or remove ${path} if no run is active`;
      throw new FactoryError('FACTORY_LOCKED', `${stateDir}: another factory run holds the state (${holder.pid !== undefined ? `pid ${holder.pid} on ${holder.host ?? '?'}, run ${holder.runId ?? '?'} started ${holder.startedAt ?? '?'}` : `lock file ${path}`}); wait for it to finish${hint}`, {
        detail: { lock: path, ...holder },
      });
    }
    await rm(path, { force: true });
  }
  throw new FactoryError('FACTORY_LOCKED', `${stateDir}: could not take the run lock ${path}`, { detail: { lock: path } });
}
