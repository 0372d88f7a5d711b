// Mutual exclusion between processes (on one machine or several sharing a filesystem) for short
// critical sections such as read-merge-write of a shared file. The lock is a file created with O_EXCL
// that names its holder; a holder that died leaves it behind, so a lock whose process is gone (seen
// from the same host and pid namespace) or that is older than `staleMs` (any host) is taken over.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { KilnError } from './errors.ts';
import { currentProcessIdentity, holderLiveness } from './process-identity.ts';
import type { ProcessIdentity } from './process-identity.ts';

export interface FileLockOptions {
  /** Give up after waiting this long (default 10 minutes): LOCK_TIMEOUT. */
  timeoutMs?: number;
  /** A lock older than this is taken for abandoned whoever holds it (default 10 minutes). */
  staleMs?: number;
  /** Wait between attempts (default 25 ms). */
  pollMs?: number;
}

interface Holder extends Partial<ProcessIdentity> {
  token?: string;
}

// Locks this process holds, by path → token. A process that exits while holding one (process.exit
// from a signal handler, mid-body) removes it on the way out, so others need not wait out `staleMs`.
const held = new Map<string, string>();
let exitHookInstalled = false;

function releaseHeldOnExit(): void {
  for (const [path, token] of held) {
    try {
      if (readFileSync(path, 'utf8').includes(`"token":"${token}"`)) rmSync(path, { force: true });
    } catch {
      // Gone already, or unreadable: nothing of ours to remove.
    }
  }
  held.clear();
}

/** A lock file as it was seen: which file (inode and change time: a file created later, even on a
 *  reused inode, or touched since, differs) and what it said. */
export interface SeenLock {
  file: string;
  text: string;
  mtimeMs: number;
}

/** How a lock file is now, or undefined when there is none. */
export async function seeLock(path: string): Promise<SeenLock | undefined> {
  const info = await stat(path, { bigint: true }).catch(() => undefined);
  if (!info) return undefined;
  return { file: `${info.ino}:${info.ctimeNs}`, mtimeMs: Number(info.mtimeMs), text: await readFile(path, 'utf8').catch(() => '') };
}

/** The lock at `path` if it is stale (older than `staleMs`, or its holder seen gone). */
async function staleLock(path: string, staleMs: number): Promise<SeenLock | undefined> {
  const seen = await seeLock(path);
  if (!seen) return undefined;
  if (Date.now() - seen.mtimeMs > staleMs) return seen;
  // A lock just created is empty until its holder writes it: unreadable counts as held (the age check covers a holder that died there).
  let holder: Holder;
  try {
    holder = JSON.parse(seen.text) as Holder;
  } catch {
    return undefined;
  }
  return holderLiveness(holder) === 'gone' ? seen : undefined;
}

/** A takeover guard older than this was left by a taker that died in the few steps it guards. */
const TAKEOVER_GUARD_STALE_MS = 10_000;

/** Removes the lock file at `path` if it is still the very lock judged stale (same file, same text);
 *  says whether it did. Two processes that found the same lock stale must not both take over: the
 *  second would remove the lock the first has just taken. Takeovers are serialised by a guard file
 *  (PATH.takeover, created exclusively), under which the lock is looked at again and only then
 *  removed, so a live lock never leaves its place. A taker that finds the guard taken gives up this
 *  time (false) and looks again later. */
export async function removeStaleLock(path: string, judged: SeenLock): Promise<boolean> {
  const guard = `${path}.takeover`;
  try {
    await (await open(guard, 'wx', 0o644)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > TAKEOVER_GUARD_STALE_MS) await rm(guard, { force: true });
    return false;
  }
  try {
    const now = await seeLock(path);
    if (!now || now.file !== judged.file || now.text !== judged.text) return false;
    await rm(path, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/** Runs `body` while holding the lock file `path`, and removes the lock afterwards. */
export async function withFileLock<T>(path: string, body: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const staleMs = options.staleMs ?? 10 * 60_000;
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(`${JSON.stringify({ ...currentProcessIdentity(), token })}\n`);
      } finally {
        await handle.close();
      }
      held.set(path, token);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', releaseHeldOnExit);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new KilnError('IO', `${path}: cannot create the lock file: ${(error as Error).message}`, { cause: error, detail: { path } });
    }
    const stale = await staleLock(path, staleMs);
    if (stale !== undefined && (await removeStaleLock(path, stale))) continue;
    if (Date.now() > deadline) throw new KilnError('LOCK_TIMEOUT', `${path}: held by another process for more than ${Math.round(timeoutMs / 1000)} s`, { detail: { path } });
    await delay(options.pollMs ?? 25);
  }
  try {
    return await body();
  } finally {
    // Only our own lock: one taken over as stale in the meantime belongs to someone else now.
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current.includes(`"token":"${token}"`)) await rm(path, { force: true });
    if (held.get(path) === token) held.delete(path);
  }
}
