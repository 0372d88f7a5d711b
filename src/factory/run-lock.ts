// One factory run per state directory: STATE/run.lock holds the pid, host and start of the run that
// owns it. A lock whose process is gone (same host, no such pid) is stale and taken over.
import { hostname } from 'node:os';
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


/** The id of the run holding STATE/run.lock, or undefined when none does (or the lock is unreadable). */
export async function runLockHolder(stateDir: string): Promise<string | undefined> {
  try {
    const holder = JSON.parse(await readFile(join(stateDir, 'run.lock'), 'utf8')) as Partial<LockRecord>;
    return typeof holder.runId === 'string' ? holder.runId : undefined;
  } catch {
    return undefined;
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
