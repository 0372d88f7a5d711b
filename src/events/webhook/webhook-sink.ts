import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/index.ts';
import { signDelivery, SIGNATURE_HEADER, toCloudEvent } from '../format/cloudevent.ts';
import type { CloudEvent } from '../format/cloudevent.ts';
import type { EventSink, RegistryEvent } from '../port.ts';

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

/** Delivers registry events as signed CloudEvents webhooks: one ordered queue per endpoint, each
 *  event retried with exponential backoff, and written to the dead-letter log when every attempt
 *  failed, when the receiver refused it (4xx), when the queue is full, or when the sink closes with
 *  it still queued. Nothing here ever throws into the registry. */
export class WebhookSink implements EventSink {
  readonly #options: WebhookSinkOptions;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #queues: { endpoint: WebhookEndpoint; pending: CloudEvent[]; running: Promise<void> | undefined }[];
  #closed = false;
  readonly #stopped: AbortController = new AbortController();
  readonly #stoppedPromise = new Promise<void>((resolve) => this.#stopped.signal.addEventListener('abort', () => resolve(), { once: true }));

  constructor(options: WebhookSinkOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
    this.#queues = options.endpoints.map((endpoint) => ({ endpoint, pending: [], running: undefined }));
  }

  publish(event: RegistryEvent): void {
    if (this.#closed || this.#queues.length === 0) return;
    const { source } = this.#options;
    const cloudEvent = toCloudEvent(event, randomUUID(), typeof source === 'string' ? source : source());
    for (const queue of this.#queues) {
      try {
        if (!queue.endpoint.accepts(event)) continue;
        if (queue.pending.length >= (this.#options.maxQueue ?? 10_000)) {
          void this.#deadLetter(queue.endpoint, cloudEvent, 0, 'queue full');
          continue;
        }
        queue.pending.push(cloudEvent);
        queue.running ??= this.#drain(queue).finally(() => {
          queue.running = undefined;
        });
      } catch (error) {
        this.#options.logger.error({ err: error, endpoint: queue.endpoint.name }, 'webhook publish failed');
      }
    }
  }

  /** Waits up to `timeoutMs` for the queues to empty, then stops retrying and writes what is left to
   *  the dead-letter log. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const drained = Promise.all(this.#queues.map((queue) => queue.running));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#stopped.abort();
    await drained;
  }

  async #drain(queue: { endpoint: WebhookEndpoint; pending: CloudEvent[] }): Promise<void> {
    while (queue.pending.length) {
      const event = queue.pending[0]!;
      await this.#deliver(queue.endpoint, event);
      queue.pending.shift();
    }
  }

  async #deliver(endpoint: WebhookEndpoint, event: CloudEvent): Promise<void> {
    const body = JSON.stringify(event);
    let error = '';
    let attempt = 0;
    while (attempt < endpoint.maxAttempts) {
      if (attempt > 0) {
        if (this.#stopped.signal.aborted) break;
        // The wait ends early when the sink closes.
        await Promise.race([this.#sleep(Math.min(endpoint.backoffMs * 2 ** (attempt - 1), endpoint.maxBackoffMs)), this.#stoppedPromise]);
        if (this.#stopped.signal.aborted) break;
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
          return;
        }
        error = `HTTP ${response.status}`;
        if (!RETRYABLE(response.status)) break;
      } catch (caught) {
        error = (caught as Error).name === 'TimeoutError' ? `no answer within ${endpoint.timeoutMs} ms` : (caught as Error).message;
      }
      this.#options.logger.warn({ endpoint: endpoint.name, id: event.id, attempt, error }, 'webhook delivery failed');
    }
    await this.#deadLetter(endpoint, event, attempt, error || 'the registry stopped before delivery');
  }

  async #deadLetter(endpoint: WebhookEndpoint, event: CloudEvent, attempts: number, error: string): Promise<void> {
    const line: DeadLetter = { time: new Date(this.#now()).toISOString(), endpoint: endpoint.name, url: endpoint.url, attempts, error, event };
    try {
      await mkdir(dirname(this.#options.deadLetterPath), { recursive: true });
      await appendFile(this.#options.deadLetterPath, `${JSON.stringify(line)}\n`);
      this.#options.logger.warn({ endpoint: endpoint.name, id: event.id, attempts, error, file: this.#options.deadLetterPath }, 'webhook dead-lettered');
    } catch (caught) {
      this.#options.logger.error({ err: caught, endpoint: endpoint.name, id: event.id, event }, 'webhook dead-letter log not writable');
    }
  }
}
