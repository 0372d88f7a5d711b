import { KilnError } from '../../lib/index.ts';
import type { ErrorCodeTable } from '../../lib/index.ts';

/** Error codes of the factory's job queue, workers and `kiln factory serve` (docs/errors/factory-queue.md). */
export const factoryQueueErrorCodes = {
  QUEUE_URL_INVALID: 'the queue location is neither sqlite:PATH nor postgres://…',
  QUEUE_OPEN_FAILED: 'the queue database could not be opened, reached or migrated',
  QUEUE_UNAVAILABLE: 'the queue database failed or dropped the connection during an operation; it may be retried',
  QUEUE_DAMAGED: 'the queue database answers but cannot serve the operation and never will (a SQLite file that is corrupt, not a database, or whose tables do not match Kiln\'s statements; a PostgreSQL queue whose tables are gone or whose data is corrupt): not retried',
  QUEUE_JOB_INVALID: 'a job has a malformed kind, key, payload or option (payloads and results are JSON)',
  QUEUE_NO_HANDLER: 'a worker was asked to run a job kind it has no handler for',
  QUEUE_CLOSED: 'the queue was used after close()',
  SCHEDULE_INVALID: 'a cron schedule is malformed (the field at fault is named) or never fires',
  SERVE_LISTEN_FAILED: 'kiln factory serve could not listen on its status address (in use, or not a local address)',
} as const satisfies ErrorCodeTable<string>;

export type FactoryQueueErrorCode = keyof typeof factoryQueueErrorCodes;

/** A job-queue failure; `detail` names the queue, job kind, key or id at fault. */
export class FactoryQueueError extends KilnError<FactoryQueueErrorCode> {}
