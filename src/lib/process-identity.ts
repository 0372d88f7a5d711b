// Who holds a lock file, said precisely enough for another process to tell whether that holder still
// lives. A pid alone is not enough: containers that share a hostname (host networking) each have their
// own pid namespace, where pid 1 means another process; a machine that restarted reuses pids; and a
// pid is reused by a later process on a busy machine. So a holder names its host, the boot it runs in,
// its pid namespace and its start time, and its liveness is judged only where those say the same place.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** How a lock names its holder. The last three are missing off Linux (and in locks written before). */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** The kernel's boot id: differs after the machine restarted. */
  boot?: string;
  /** The pid namespace (`pid:[INODE]`): a pid means this process only inside it. */
  pidNamespace?: string;
  /** The process's start time in clock ticks since boot: tells a reused pid from the holder. */
  start?: string;
}

/** What can be told of a lock's holder from here: `unknown` when it lives elsewhere (another host,
 *  another pid namespace), where only its lease or its owner's word can end the lock. */
export type HolderLiveness = 'alive' | 'gone' | 'unknown';

function readProc(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat), if readable. */
export function processStartTicks(pid: number | 'self'): string | undefined {
  const stat = readProc(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields?.[19];
}

let current: ProcessIdentity | undefined;

/** This process, as a lock it takes names it. */
export function currentProcessIdentity(): ProcessIdentity {
  if (current?.pid === process.pid) return current;
  const boot = readProc(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNamespace = readProc(() => readlinkSync('/proc/self/ns/pid'));
  const start = processStartTicks('self');
  current = { pid: process.pid, host: hostname(), ...(boot ? { boot } : {}), ...(pidNamespace ? { pidNamespace } : {}), ...(start ? { start } : {}) };
  return current;
}

/** Whether `holder` (read from a lock) is the very process `identity` names. */
export function isSameProcess(holder: Partial<ProcessIdentity>, identity: ProcessIdentity = currentProcessIdentity()): boolean {
  return holder.pid === identity.pid && holder.host === identity.host && holder.boot === identity.boot && holder.pidNamespace === identity.pidNamespace && holder.start === identity.start;
}

/** Whether a process with this pid exists in this pid namespace (EPERM: it exists, owned by another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder a lock names still runs, as far as this process can see. It is judged only
 *  from the same host, boot and pid namespace; anywhere else it is `unknown` (a machine that shares
 *  the hostname has another boot id, as does this machine after a restart: the two cannot be told
 *  apart, so only the lock's own expiry can end such a lock). There, its pid must exist and, where
 *  the lock recorded it, have the same start time. A lock from a writer that recorded no boot or
 *  namespace (an older one, or off Linux) is judged by its pid on the same host, as it always was. */
export function holderLiveness(holder: Partial<ProcessIdentity>, here: ProcessIdentity = currentProcessIdentity()): HolderLiveness {
  if (typeof holder.pid !== 'number' || holder.host !== here.host) return 'unknown';
  if (holder.boot !== undefined && holder.boot !== here.boot) return 'unknown';
  if (holder.pidNamespace !== undefined && holder.pidNamespace !== here.pidNamespace) return 'unknown';
  if (!isProcessAlive(holder.pid)) return 'gone';
  if (holder.start !== undefined) {
    const start = holder.pid === here.pid ? here.start : processStartTicks(holder.pid);
    if (start !== undefined && start !== holder.start) return 'gone';
  }
  return 'alive';
}
