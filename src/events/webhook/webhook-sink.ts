import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/index.ts';
import { signDelivery, SIGNATURE_HEADER, toCloudEvent } from '../format/cloudevent.ts';
import type { CloudEvent } from '../format/cloudevent.ts';
import type { PendingOutboxEvent } from '../format/outbox.ts';
import type { EventSink, RegistryEvent } from '../port.ts';
import { OutboxJournal } from './outbox-journal.ts';

/** One receiver of webhooks. */
export interface WebhookEndpoint {
  /** Named in logs and in the dead-letter log. */
  name: string;
  url: string;
  /** HMAC-SHA256 key of the signature header. */
  secret: string;
  /** Which events this endpoint wants (event type and repository filters, decided by the caller). */
  accepts(event: RegistryEvent): boolean;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts before the event goes to the dead-letter log (the first included). */
  maxAttempts: number;
  /** Wait before the second attempt; doubled for each later one, capped at `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

/** Settings of a {@link WebhookSink}. */
export interface WebhookSinkOptions {
  endpoints: readonly WebhookEndpoint[];
  /** CloudEvents `source` of every event (e.g. the registry's URL); a function when it is known
   *  only later (the port after listening). */
  source: string | (() => string);
  /** JSON-lines file of events that could not be delivered. */
  deadLetterPath: string;
  /** The outbox: a JSON-lines journal of the events each endpoint has not finished with, replayed
   *  when a sink is created on it again (after a crash or a restart). One sink per file. */
  outboxPath: string;
  logger: Logger;
  /** Events waiting per endpoint before new ones go straight to the dead-letter log. */
  maxQueue?: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** One line of the dead-letter log. */
export interface DeadLetter {
  time: string;
  endpoint: string;
  url: string;
  attempts: number;
  error: string;
  event: CloudEvent;
}

/** Statuses worth retrying: the receiver is overloaded, timed out or failed; other 4xx are final. */
const RETRYABLE = (status: number) => status >= 500 || status === 408 || status === 429;

/** An event waiting in an endpoint's queue; `journaled` when the outbox holds it (else it is in
 *  memory only, because the outbox could not be written). */
interface Queued {
  event: CloudEvent;
  journaled: boolean;
}

/** One endpoint's ordered queue. `key` names the endpoint in the outbox. */
interface Queue {
  endpoint: WebhookEndpoint;
  key: string;
  pending: Queued[];
  running: Promise<void> | undefined;
}

/** How one delivery ended: `stopped` when the sink closed before it was delivered or given up. */
type Outcome = { kind: 'delivered' } | { kind: 'failed' | 'stopped'; attempts: number; error: string };

/** Delivers registry events as signed CloudEvents webhooks: one ordered queue per endpoint, each
 *  event retried with exponential backoff, and written to the dead-letter log when every attempt
 *  failed, when the receiver refused it (4xx), when the queue is full, or when its endpoint is no
 *  longer configured. Every accepted event is in the outbox journal (fsynced) before `publish`
 *  returns and stays there until each endpoint has delivered or dead-lettered it, so a killed or
 *  closed sink's events are delivered by the next sink on the same journal (at least once; the
 *  CloudEvent id is kept). Nothing here ever throws into the registry: when the journal cannot be
 *  written, events are queued in memory only, as if there were no journal. */
export class WebhookSink implements EventSink {
  readonly #options: WebhookSinkOptions;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #queues: Queue[];
  readonly #journal: OutboxJournal | undefined;
  /** Dead letters written outside the queues (full queue, removed endpoint), awaited by close. */
  readonly #chores = new Set<Promise<unknown>>();
  #kept = 0;
  #closed = false;
  readonly #stopped: AbortController = new AbortController();
  readonly #stoppedPromise = new Promise<void>((resolve) => this.#stopped.signal.addEventListener('abort', () => resolve(), { once: true }));

  constructor(options: WebhookSinkOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
    const seen = new Map<string, number>();
    this.#queues = options.endpoints.map((endpoint) => {
      const count = (seen.get(endpoint.name) ?? 0) + 1;
      seen.set(endpoint.name, count);
      // The outbox names endpoints; a repeated name (the config should not allow it) gets a suffix.
      if (count > 1) options.logger.error({ endpoint: endpoint.name }, 'webhook endpoint name repeated');
      return { endpoint, key: count > 1 ? `${endpoint.name}#${count}` : endpoint.name, pending: [], running: undefined };
    });
    let opened: ReturnType<typeof OutboxJournal.open> | undefined;
    try {
      opened = OutboxJournal.open(options.outboxPath, options.logger, this.#now);
    } catch (error) {
      options.logger.error({ err: error, file: options.outboxPath }, 'webhook outbox unavailable; events are kept in memory only');
    }
    this.#journal = opened?.journal;
    if (opened) this.#replay(opened.pending);
  }

  publish(event: RegistryEvent): void {
    if (this.#closed || this.#queues.length === 0) return;
    try {
      const { source } = this.#options;
      const cloudEvent = toCloudEvent(event, randomUUID(), typeof source === 'string' ? source : source());
      const targets: Queue[] = [];
      for (const queue of this.#queues) {
        try {
          if (!queue.endpoint.accepts(event)) continue;
          if (this.#isFull(queue)) this.#chore(this.#deadLetter(queue.endpoint, cloudEvent, 0, 'queue full'));
          else targets.push(queue);
        } catch (error) {
          this.#options.logger.error({ err: error, endpoint: queue.endpoint.name }, 'webhook publish failed');
        }
      }
      if (targets.length === 0) return;
      // One line and one fdatasync per event, however many endpoints take it.
      const journaled = this.#journal?.append(cloudEvent, targets.map((queue) => [queue.key, queue.endpoint.url] as const)) ?? false;
      for (const queue of targets) this.#push(queue, { event: cloudEvent, journaled });
    } catch (error) {
      this.#options.logger.error({ err: error }, 'webhook publish failed');
    }
  }

  /** Waits up to `timeoutMs` for the queues to empty, then stops retrying. Events still queued stay in
   *  the outbox for the next sink on it; those held in memory only go to the dead-letter log. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const drained = Promise.all([...this.#queues.map((queue) => queue.running), ...this.#chores]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#stopped.abort();
    await drained;
    if (this.#kept) this.#options.logger.info({ pending: this.#kept, file: this.#options.outboxPath }, 'webhook events kept in the outbox for the next start');
    this.#kept = 0;
    this.#journal?.close();
  }

  /** Queues what the outbox held at start, in its order; what was meant for an endpoint that is no
   *  longer configured (matched by name) goes to the dead-letter log. */
  #replay(pending: readonly PendingOutboxEvent[]): void {
    const byKey = new Map(this.#queues.map((queue) => [queue.key, queue]));
    for (const { event, endpoints } of pending) {
      for (const [key, url] of endpoints) {
        const queue = byKey.get(key);
        if (!queue) this.#chore(this.#finish(key, { name: key, url }, { event, journaled: true }, 0, 'webhook endpoint no longer configured'));
        else if (this.#isFull(queue)) this.#chore(this.#finish(queue.key, queue.endpoint, { event, journaled: true }, 0, 'queue full'));
        else this.#push(queue, { event, journaled: true });
      }
    }
    const replayed = this.#queues.reduce((sum, queue) => sum + queue.pending.length, 0);
    if (replayed) this.#options.logger.info({ pending: replayed, file: this.#options.outboxPath }, 'webhook events replayed from the outbox');
  }

  #isFull(queue: Queue): boolean {
    return queue.pending.length >= (this.#options.maxQueue ?? 10_000);
  }

  #push(queue: Queue, item: Queued): void {
    queue.pending.push(item);
    queue.running ??= this.#drain(queue).finally(() => {
      queue.running = undefined;
    });
  }

  #chore(work: Promise<unknown>): void {
    this.#chores.add(work);
    void work.finally(() => this.#chores.delete(work));
  }

  async #drain(queue: Queue): Promise<void> {
    while (queue.pending.length) {
      const item = queue.pending[0]!;
      const outcome = await this.#deliver(queue.endpoint, item.event);
      if (outcome.kind === 'delivered') {
        if (item.journaled) this.#journal?.done(item.event.id, queue.key, 'delivered');
      } else if (outcome.kind === 'stopped' && item.journaled) {
        // Still pending in the outbox: the next sink on it delivers it.
        this.#kept++;
      } else {
        await this.#finish(queue.key, queue.endpoint, item, outcome.attempts, outcome.error);
      }
      queue.pending.shift();
    }
  }

  /** Dead-letters an event and then records it done in the outbox; when the dead-letter log cannot be
   *  written, the event stays pending in the outbox (so it is tried again after a restart). */
  async #finish(key: string, endpoint: Pick<WebhookEndpoint, 'name' | 'url'>, item: Queued, attempts: number, error: string): Promise<void> {
    const written = await this.#deadLetter(endpoint, item.event, attempts, error);
    if (written && item.journaled) this.#journal?.done(item.event.id, key, 'dead-lettered');
  }

  async #deliver(endpoint: WebhookEndpoint, event: CloudEvent): Promise<Outcome> {
    const stopped = (attempts: number): Outcome => ({ kind: 'stopped', attempts, error: 'the registry stopped before delivery' });
    if (this.#stopped.signal.aborted) return stopped(0);
    const body = JSON.stringify(event);
    let error = '';
    let attempt = 0;
    while (attempt < endpoint.maxAttempts) {
      if (attempt > 0) {
        if (this.#stopped.signal.aborted) return stopped(attempt);
        // The wait ends early when the sink closes.
        await Promise.race([this.#sleep(Math.min(endpoint.backoffMs * 2 ** (attempt - 1), endpoint.maxBackoffMs)), this.#stoppedPromise]);
        if (this.#stopped.signal.aborted) return stopped(attempt);
      }
      attempt++;
      try {
        const response = await this.#fetch(endpoint.url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/cloudevents+json; charset=utf-8',
            [SIGNATURE_HEADER]: signDelivery(endpoint.secret, Math.floor(this.#now() / 1000), body),
            'user-agent': 'kiln-registry-webhooks',
          },
          signal: AbortSignal.any([AbortSignal.timeout(endpoint.timeoutMs), this.#stopped.signal]),
          redirect: 'manual',
        });
        await response.body?.cancel().catch(() => undefined);
        if (response.status >= 200 && response.status < 300) {
          this.#options.logger.debug({ endpoint: endpoint.name, id: event.id, type: event.type, attempt }, 'webhook delivered');
          return { kind: 'delivered' };
        }
        error = `HTTP ${response.status}`;
        if (!RETRYABLE(response.status)) break;
      } catch (caught) {
        // Cut short by close, not by the receiver: not a failed attempt.
        if (this.#stopped.signal.aborted) return stopped(attempt);
        error = (caught as Error).name === 'TimeoutError' ? `no answer within ${endpoint.timeoutMs} ms` : (caught as Error).message;
      }
      this.#options.logger.warn({ endpoint: endpoint.name, id: event.id, attempt, error }, 'webhook delivery failed');
    }
    return { kind: 'failed', attempts: attempt, error };
  }

  /** Appends the event to the dead-letter log; false (logged) when that failed. */
  async #deadLetter(endpoint: Pick<WebhookEndpoint, 'name' | 'url'>, event: CloudEvent, attempts: number, error: string): Promise<boolean> {
    const line: DeadLetter = { time: new Date(this.#now()).toISOString(), endpoint: endpoint.name, url: endpoint.url, attempts, error, event };
    try {
      await mkdir(dirname(this.#options.deadLetterPath), { recursive: true });
      await appendFile(this.#options.deadLetterPath, `${JSON.stringify(line)}\n`);
      this.#options.logger.warn({ endpoint: endpoint.name, id: event.id, attempts, error, file: this.#options.deadLetterPath }, 'webhook dead-lettered');
      return true;
    } catch (caught) {
      this.#options.logger.error({ err: caught, endpoint: endpoint.name, id: event.id, event }, 'webhook dead-letter log not writable');
      return false;
    }
  }
}
