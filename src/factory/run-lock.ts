// One factory run per state directory: STATE/run.lock names the run that owns it and its process
// (pid, host, boot, pid namespace, start time). The holder refreshes the file's mtime every
// RUN_LOCK_REFRESH_MS, so a lock not refreshed for RUN_LOCK_EXPIRY_MS was left by a run that died,
// wherever it ran; a lock whose process is seen gone from the same host, boot and pid namespace is
// stale at once. Either is taken over.
import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { currentProcessIdentity, formatDuration, holderLiveness, isSameProcess, removeStaleLock, seeLock } from '../lib/index.ts';
import type { HolderLiveness, ProcessIdentity } from '../lib/index.ts';
import { FactoryError } from './errors.ts';

interface LockRecord extends ProcessIdentity {
  startedAt: string;
  runId: string;
  /** How often the holder refreshes the lock. Locks without it (written before locks were refreshed)
   *  never expire: only their holder's death, seen from its host, ends them. */
  refreshMs?: number;
}

/** Whether a lock whose holder is `liveness` and was last refreshed `ageMs` ago has expired: never
 *  while its holder is seen alive, nor for a lock that does not say it is refreshed. */
function expired(holder: Partial<LockRecord> | undefined, liveness: HolderLiveness | undefined, ageMs: number): boolean {
  if (liveness === 'alive' || ageMs <= RUN_LOCK_EXPIRY_MS) return false;
  return holder === undefined || holder.pid === undefined || typeof holder.refreshMs === 'number';
}

/** Run locks this process holds: lock path → run id (what abandonRunLock may remove). */
const ownLocks = new Map<string, string>();

/** Reads of a lock that fail (I/O error, half-written) are tried again after these waits. */
const LOCK_READ_RETRIES_MS = [50, 200, 500, 1000];

/** The holder touches its lock this often while the run lasts. */
export const RUN_LOCK_REFRESH_MS = 30_000;

/** A lock not touched for this long (ten refreshes missed, room for clock skew between hosts on a
 *  shared filesystem) was left by a run that died; so was an unreadable one this old. */
export const RUN_LOCK_EXPIRY_MS = 5 * 60_000;

/** How long ago the lock at `path` was last refreshed, by this machine's clock (0 when unknown). */
async function lockAgeMs(path: string, nowMs: number): Promise<number> {
  return stat(path).then((info) => nowMs - info.mtimeMs, () => 0);
}

/** Whether a run still owns the state, as a worker about to run one of its steps must know. */
export type RunLockCheck = { held: true } | { held: false; why: string };

/** Whether run `runId` still holds STATE/run.lock: the lock names it, its process is not seen gone
 *  (seen only from its own host, boot and pid namespace) and, unless seen alive, it was refreshed
 *  within RUN_LOCK_EXPIRY_MS. No lock, another run's, a dead holder or an expired lock: not held. A
 *  lock that still cannot be read after a few tries (an I/O error, or one left half-written) is no
 *  answer: FACTORY_LOCK_UNREADABLE, so the caller fails this attempt and tries again later
 *  instead of refusing a live run's work for good. */
export async function checkRunLock(stateDir: string, runId: string, nowMs = Date.now()): Promise<RunLockCheck> {
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
  const liveness = holderLiveness(holder);
  if (liveness === 'gone') return { held: false, why: `its process ${holder.pid} is gone` };
  const ageMs = await lockAgeMs(path, nowMs);
  if (expired(holder, liveness, ageMs)) return { held: false, why: `its run stopped refreshing it ${formatDuration(Math.round(ageMs / 1000) * 1000)} ago` };
  return { held: true };
}

/** For the run itself, before each step it starts: FACTORY_LOCK_LOST once run `runId` no longer
 *  holds STATE/run.lock (its host slept past the expiry and another run took the lock over, or the
 *  lock was removed). A lock that cannot be read is no proof of loss: the run goes on, and its next
 *  check reads it again. */
export async function assertRunLockHeld(stateDir: string, runId: string): Promise<void> {
  const lock = await checkRunLock(stateDir, runId).catch((error: unknown) => {
    if (error instanceof FactoryError && error.code === 'FACTORY_LOCK_UNREADABLE') return { held: true } as const;
    throw error;
  });
  if (lock.held) return;
  const path = join(stateDir, 'run.lock');
  throw new FactoryError('FACTORY_LOCK_LOST', `${path}: run ${runId} no longer holds the state directory (${lock.why}); it starts no further step`, { detail: { lock: path, runId } });
}

/** Removes STATE/run.lock at once if this process took it for a run that is still on, and says
 *  whether it did: for a run stopped by a signal, so work it left queued is refused at once, on every
 *  host. Never another process's lock, even one with the same pid elsewhere; a lock this process is
 *  still writing (empty or partial) is its own. */
export function abandonRunLock(stateDir: string): boolean {
  const path = resolve(stateDir, 'run.lock');
  const runId = ownLocks.get(path);
  if (runId === undefined) return false;
  ownLocks.delete(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  let holder: Partial<LockRecord> | undefined;
  try {
    holder = JSON.parse(text) as Partial<LockRecord>;
  } catch {
    // Created by this process (it is in ownLocks) and not yet written whole.
  }
  if (holder !== undefined && !(holder.runId === runId && isSameProcess(holder))) return false;
  rmSync(path, { force: true });
  return true;
}

/** Whether the text of a run lock names run `runId`. */
function namesRun(text: string, runId: string): boolean {
  return text.includes(`"runId":"${runId}"`);
}

/** Takes STATE/run.lock for `runId` (started at `startedAt`) and keeps it fresh until released;
 *  FACTORY_LOCKED when a live run holds it. Returns the release. */
export async function acquireRunLock(stateDir: string, runId: string, startedAt: Date, nowMs = Date.now()): Promise<() => Promise<void>> {
  const path = join(stateDir, 'run.lock');
  const ownKey = resolve(path);
  const record: LockRecord = { ...currentProcessIdentity(), startedAt: startedAt.toISOString(), runId, refreshMs: RUN_LOCK_REFRESH_MS };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      // Ours from here: a signal while it is being written may remove it (abandonRunLock).
      ownLocks.set(ownKey, runId);
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.sync();
      } catch (error) {
        ownLocks.delete(ownKey);
        await rm(path, { force: true });
        throw error;
      } finally {
        await handle.close();
      }
      // Touched only while it is still this run's: a lock taken over (this process suspended past the
      // expiry) is never kept fresh for its new holder. A touch that fails is retried next time; the
      // expiry leaves room for ten.
      const refresh = setInterval(() => {
        void (async () => {
          const current = await readFile(path, 'utf8').catch(() => '');
          if (!namesRun(current, runId)) {
            clearInterval(refresh);
            return;
          }
          const now = new Date();
          await utimes(path, now, now);
        })().catch(() => undefined);
      }, RUN_LOCK_REFRESH_MS);
      refresh.unref();
      return async () => {
        clearInterval(refresh);
        const current = await readFile(path, 'utf8').catch(() => '');
        if (namesRun(current, runId)) await rm(path, { force: true });
        if (ownLocks.get(ownKey) === runId) ownLocks.delete(ownKey);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: Partial<LockRecord> = {};
    const seen = await seeLock(path);
    // Released meanwhile: try again.
    if (!seen) continue;
    try {
      holder = JSON.parse(seen.text) as LockRecord;
    } catch {
      // Unreadable or half-written: written by a run that died between create and write, or being
      // written right now; only an expired one is treated as stale below.
    }
    const ageMs = nowMs - seen.mtimeMs;
    const liveness = holder.pid !== undefined ? holderLiveness(holder) : undefined;
    const stale = liveness === 'gone' || expired(holder, liveness, ageMs);
    if (!stale) {
      const holding = holder.pid !== undefined ? `pid ${holder.pid} on ${holder.host ?? '?'}, run ${holder.runId ?? '?'} started ${holder.startedAt ?? '?'}` : `lock file ${path}`;
      // A holder seen alive needs no hint; one that cannot be seen from here expires unless refreshed.
      const hint = liveness === 'alive' ? '' : holder.pid !== undefined && holder.refreshMs === undefined ? `, or remove ${path} if that run is over (the lock was written by an older Kiln, which does not refresh it)` : `; a lock its run no longer refreshes expires ${formatDuration(RUN_LOCK_EXPIRY_MS)} after the last refresh (${formatDuration(Math.round(Math.max(0, ageMs) / 1000) * 1000)} ago)`;
      throw new FactoryError('FACTORY_LOCKED', `${stateDir}: another factory run holds the state (${holding}); wait for it to finish${hint}`, {
        detail: { lock: path, ...holder },
      });
    }
    // Another run that found it stale too may have taken over first: then the next attempt says so.
    await removeStaleLock(path, seen);
  }
  throw new FactoryError('FACTORY_LOCKED', `${stateDir}: could not take the run lock ${path}`, { detail: { lock: path } });
}
