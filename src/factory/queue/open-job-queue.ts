// Opens the JobQueue a location names: `sqlite:PATH` (embedded, one machine) or `postgres://…`
// (pg-boss, many workers). Adapters are imported only when chosen: pg-boss and better-sqlite3 load
// nothing for commands that never open a queue.
import { isAbsolute, resolve } from 'node:path';
import { FactoryQueueError } from './errors.ts';
import type { JobQueue } from './port.ts';

/** A parsed queue location. */
export type QueueLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Parses `sqlite:PATH` (relative to `cwd`) or `postgres://…` / `postgresql://…`. */
export function parseQueueLocation(location: string, cwd: string): QueueLocation {
  if (/^postgres(ql)?:\/\//.test(location)) {
    try {
      new URL(location);
    } catch (error) {
      throw new FactoryQueueError('QUEUE_URL_INVALID', `queue ${JSON.stringify(location.replace(/:[^:@/]*@/, ':***@'))}: not a valid PostgreSQL URL`, { cause: error });
    }
    return { kind: 'postgres', url: location };
  }
  if (location.startsWith('sqlite:') && location.length > 'sqlite:'.length) {
    const path = location.slice('sqlite:'.length);
    return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  throw new FactoryQueueError('QUEUE_URL_INVALID', `queue ${JSON.stringify(location)}: expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE`, { detail: { location } });
}

/** Opens the queue at `location`. */
export async function openJobQueue(location: string, options: { cwd: string; onError?: (error: Error) => void }): Promise<JobQueue> {
  const parsed = parseQueueLocation(location, options.cwd);
  if (parsed.kind === 'sqlite') {
    const { SqliteJobQueue } = await import('./sqlite-job-queue.ts');
    return new SqliteJobQueue(parsed.path);
  }
  const { PgBossJobQueue } = await import('./pgboss-job-queue.ts');
  return PgBossJobQueue.open(parsed.url, options.onError ? { onError: options.onError } : {});
}
