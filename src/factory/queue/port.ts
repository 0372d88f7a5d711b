// The job queue port: durable, idempotent work shared by workers (one machine on SQLite, many on
// PostgreSQL via pg-boss). Generic: a job is a kind, an idempotency key (the input hash of the work)
// and a JSON payload; handlers are registered per kind by whoever runs a worker.

/** A JSON value: payloads and results cross process and machine boundaries as JSON. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Where a job is: waiting (maybe for a retry delay), held by a worker's lease, or finished. */
export type JobState = 'queued' | 'active' | 'completed' | 'failed';

/** What to run: `key` identifies the work (its input hash), so the same key is never run twice. */
export interface JobSpec {
  /** Handler name: lower-case letters, digits, `.`, `-`, `_` (`factory.step`). */
  kind: string;
  /** Idempotency key, 1–255 printable ASCII characters (`sha256:…`). */
  key: string;
  payload: JsonValue;
  /** Attempts before the job fails for good (default 3); an expired lease uses up an attempt. */
  maxAttempts?: number;
  /** Seconds before a retry (default 10): exactly this without backoff, else doubling per attempt with
   *  jitter (pg-boss's rule: delay·2^n/2 · (1 + random), n = the attempt that failed, capped at 16). */
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  /** How long a claim holds the job (default 3600 s, at least 1): a worker that has not completed or
   *  failed it by then is taken for dead, and the job goes back to the queue as a failed attempt. */
  leaseSeconds?: number;
}

/** What enqueue did: `created` false means the key was already queued, running or done. */
export interface EnqueueResult {
  id: string;
  created: boolean;
  state: JobState;
  /** The stored result when the key is already done. */
  result?: JsonValue;
}

/** A job a worker holds: its lease lasts `leaseSeconds` from the claim. */
export interface ClaimedJob {
  id: string;
  kind: string;
  key: string;
  payload: JsonValue;
  /** 1 for the first run, 2 for the first retry … */
  attempt: number;
  maxAttempts: number;
  leaseSeconds: number;
}

/** A job as `get` and `list` show it. */
export interface JobRecord {
  id: string;
  kind: string;
  key: string;
  state: JobState;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  result?: JsonValue;
  /** The last failure's message. */
  error?: string;
}

/** Jobs per state, counted by key (a key re-enqueued after failing counts once, as queued). */
export interface JobCounts {
  queued: number;
  active: number;
  completed: number;
  failed: number;
}

/** How a failure is recorded: `retry` (attempts left), `failed` (for good) or `lost` (the lease had
 *  already expired and the job was taken over or finished by another worker; nothing was recorded). */
export type FailOutcome = 'retry' | 'failed' | 'lost';

/** A failure reported by a worker; `permanent` skips the remaining attempts (malformed input). */
export interface JobFailure {
  message: string;
  permanent?: boolean;
}

/** Durable idempotent job queue. Every method may be called from several processes at once. */
export interface JobQueue {
  /** Adds a job unless its (kind, key) is queued, active or completed: then returns that job and
   *  `created: false` (with the result when completed). A key whose job failed for good is queued
   *  again as a fresh job with all its attempts. */
  enqueue(spec: JobSpec): Promise<EnqueueResult>;
  /** Takes a runnable job (queued, retry delay passed) of one of these kinds under a lease, oldest
   *  first within a kind; one job is held by one claim at a time. Undefined when there is none. */
  claim(kinds: readonly string[]): Promise<ClaimedJob | undefined>;
  /** Records the result and ends the job. False when this claim's lease was lost and the job was
   *  retried or completed under another claim: the result is then not recorded (the job's stays). */
  complete(job: ClaimedJob, result: JsonValue): Promise<boolean>;
  /** Records a failed attempt: queued again after the retry delay while attempts remain. */
  fail(job: ClaimedJob, failure: JobFailure): Promise<FailOutcome>;
  /** Fails a job that is still queued (never claimed, or waiting for a retry) for good with `message`,
   *  so no worker takes it later. False when it is not queued: held by a worker, finished, or absent. */
  withdraw(kind: string, key: string, message: string): Promise<boolean>;
  /** The latest job of this kind and key. */
  get(kind: string, key: string): Promise<JobRecord | undefined>;
  /** Jobs in one state, oldest first, at most `limit` (default 100). */
  list(options: { state: JobState; kind?: string; limit?: number }): Promise<JobRecord[]>;
  /** Jobs per state, of one kind or all. */
  counts(kind?: string): Promise<JobCounts>;
  /** Releases connections and handles; jobs stay stored. Idempotent. */
  close(): Promise<void>;
}
