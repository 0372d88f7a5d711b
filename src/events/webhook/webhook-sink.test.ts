// The webhook sink against a real loopback HTTP receiver: signed CloudEvents, retries with doubling
// backoff, final refusals, the dead-letter log, per-endpoint order, and shutdown; then the outbox
// journal in a real temporary directory: crashes (a sink dropped without close, a new one on the same
// directory), torn and damaged journals, removed endpoints, compaction, and restarts after close.
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { verifyDelivery } from '../format/cloudevent.ts';
import type { CloudEvent } from '../format/cloudevent.ts';
import { OUTBOX_HEADER, readOutbox } from '../format/outbox.ts';
import type { RegistryEvent } from '../port.ts';
import { COMPACT_MIN_OBSOLETE_LINES } from './outbox-journal.ts';
import { WebhookSink } from './webhook-sink.ts';
import type { DeadLetter, WebhookEndpoint, WebhookSinkOptions } from './webhook-sink.ts';

const secret = 'webhook-secret-0123456789';
let dir: string;
let server: Server;
let url: string;
/** What the receiver answers, in order; the last one repeats. */
let answers: number[];
let received: { body: string; signature: string; contentType: string }[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-webhooks-'));
  answers = [200];
  received = [];
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ body, signature: String(req.headers['kiln-signature']), contentType: String(req.headers['content-type']) });
      res.statusCode = answers.length > 1 ? answers.shift()! : answers[0]!;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function sink(endpoint: Partial<WebhookEndpoint> = {}, sleeps: number[] = []) {
  return new WebhookSink({
    source: 'http://registry.test',
    deadLetterPath: join(dir, 'dead', 'letters.jsonl'),
    outboxPath: join(dir, 'events-outbox.jsonl'),
    logger: silentLogger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    endpoints: [{ name: 'ci', url, secret, accepts: () => true, timeoutMs: 2000, maxAttempts: 4, backoffMs: 100, maxBackoffMs: 250, ...endpoint }],
  });
}

const event = (repository: string, type: RegistryEvent['type'] = 'manifest.pushed'): RegistryEvent => ({ type, repository, digest: `sha256:${'b'.repeat(64)}`, tags: ['v1'], time: 0 });

async function deadLetters(): Promise<DeadLetter[]> {
  const text = await readFile(join(dir, 'dead', 'letters.jsonl'), 'utf8').catch(() => '');
  return text.trim() ? text.trim().split('\n').map((line) => JSON.parse(line) as DeadLetter) : [];
}

const outboxPath = () => join(dir, 'events-outbox.jsonl');

/** Repositories of the events the outbox holds as pending, in order. */
async function journalEvents(): Promise<unknown[]> {
  return readOutbox(await readFile(outboxPath(), 'utf8')).pending.map((entry) => entry.event.data.repository);
}

/** A receiver behind an injected fetch: answers by URL, or never answers ('hang': the process dies
 *  with the request in flight). */
function fakeFetch(answer: (url: string) => number | 'hang') {
  const calls: { url: string; event: CloudEvent }[] = [];
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    const target = String(input);
    calls.push({ url: target, event: JSON.parse(String(init!.body)) as CloudEvent });
    const status = answer(target);
    if (status === 'hang') return new Promise<Response>(() => undefined);
    return new Response(null, { status });
  }) as typeof fetch;
  return { fetch: fetcher, calls };
}

function hook(name: string, endpoint: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return { name, url: `http://127.0.0.1:9/${name}`, secret, accepts: () => true, timeoutMs: 2000, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 10, ...endpoint };
}

/** A sink on the test directory's outbox, with instant backoff sleeps. */
function durable(endpoints: WebhookEndpoint[], options: Partial<WebhookSinkOptions> = {}): WebhookSink {
  return new WebhookSink({ source: 'http://registry.test', deadLetterPath: join(dir, 'dead', 'letters.jsonl'), outboxPath: outboxPath(), logger: silentLogger, sleep: async () => undefined, endpoints, ...options });
}

/** A logger that keeps what it is told. */
function recorder(): { logger: Logger; lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const repositories = (calls: { event: CloudEvent }[]) => calls.map((call) => call.event.data.repository);

describe('WebhookSink', () => {
  it('posts a signed CloudEvent the receiver can verify', async () => {
    const hooks = sink();
    hooks.publish(event('team/app'));
    await hooks.close(5000);
    expect(received).toHaveLength(1);
    const delivery = received[0]!;
    expect(delivery.contentType).toBe('application/cloudevents+json; charset=utf-8');
    expect(verifyDelivery(secret, delivery.signature, delivery.body, Math.floor(Date.now() / 1000))).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({ specversion: '1.0', type: 'dev.kiln.registry.manifest.pushed', source: 'http://registry.test', data: { repository: 'team/app', tags: ['v1'] } });
    expect(await deadLetters()).toEqual([]);
  });

  it('retries 5xx, 408 and 429 with doubling backoff capped at the maximum, then delivers', async () => {
    answers = [503, 429, 408, 200];
    const sleeps: number[] = [];
    const hooks = sink({}, sleeps);
    hooks.publish(event('team/app'));
    await hooks.close(5000);
    expect(received).toHaveLength(4);
    expect(sleeps).toEqual([100, 200, 250]);
    // The same event each time (one id), signed afresh.
    expect(new Set(received.map((delivery) => JSON.parse(delivery.body).id as string)).size).toBe(1);
    expect(await deadLetters()).toEqual([]);
  });

  it('dead-letters an event after the last failed attempt, and at once when the receiver refuses it (4xx)', async () => {
    answers = [500];
    const hooks = sink({ maxAttempts: 3 });
    hooks.publish(event('a'));
    await hooks.close(5000);
    expect(received).toHaveLength(3);
    let letters = await deadLetters();
    expect(letters.map((letter) => [letter.endpoint, letter.url, letter.attempts, letter.error, letter.event.data.repository])).toEqual([['ci', url, 3, 'HTTP 500', 'a']]);
    answers = [403];
    received = [];
    const refusing = sink();
    refusing.publish(event('b'));
    await refusing.close(5000);
    expect(received).toHaveLength(1);
    letters = await deadLetters();
    expect(letters.map((letter) => [letter.attempts, letter.error, letter.event.data.repository])).toEqual([
      [3, 'HTTP 500', 'a'],
      [1, 'HTTP 403', 'b'],
    ]);
  });

  it('dead-letters after network errors when nothing listens', async () => {
    await new Promise((resolve) => server.close(resolve));
    const hooks = sink({ maxAttempts: 2 });
    hooks.publish(event('gone'));
    await hooks.close(5000);
    const letters = await deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]!.attempts).toBe(2);
    expect(letters[0]!.error).toMatch(/fetch failed/);
    server = createServer().listen(0);
  });

  it('delivers in publish order, only what the endpoint accepts', async () => {
    const hooks = sink({ accepts: (candidate) => candidate.repository.startsWith('keep/') });
    for (const name of ['keep/1', 'drop/1', 'keep/2', 'keep/3']) hooks.publish(event(name));
    await hooks.close(5000);
    expect(received.map((delivery) => JSON.parse(delivery.body).data.repository as string)).toEqual(['keep/1', 'keep/2', 'keep/3']);
  });

  it('on close, stops retrying after the timeout and keeps what is still queued in the outbox; the next sink delivers it', async () => {
    answers = [500];
    const slow = (): WebhookSink =>
      new WebhookSink({
        source: 's',
        deadLetterPath: join(dir, 'dead', 'letters.jsonl'),
        outboxPath: join(dir, 'events-outbox.jsonl'),
        logger: silentLogger,
        endpoints: [{ name: 'slow', url, secret, accepts: () => true, timeoutMs: 2000, maxAttempts: 50, backoffMs: 60_000, maxBackoffMs: 60_000 }],
      });
    const hooks = slow();
    hooks.publish(event('first'));
    hooks.publish(event('second'));
    const started = Date.now();
    await hooks.close(200);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await deadLetters()).toEqual([]);
    const attempted = received.map((delivery) => JSON.parse(delivery.body) as CloudEvent);
    expect(attempted.map((sent) => sent.data.repository)).toEqual(['first']);
    // Closed: later events are dropped, not queued.
    hooks.publish(event('late'));
    expect(await journalEvents()).toEqual(['first', 'second']);
    answers = [200];
    received = [];
    await slow().close(5000);
    const delivered = received.map((delivery) => JSON.parse(delivery.body) as CloudEvent);
    expect(delivered.map((sent) => sent.data.repository)).toEqual(['first', 'second']);
    expect(delivered[0]!.id).toBe(attempted[0]!.id);
    expect(await deadLetters()).toEqual([]);
    expect(await journalEvents()).toEqual([]);
  });
});

describe('WebhookSink outbox', () => {
  it('after a crash, delivers what was queued or being retried, with the same ids and in order, and not what was delivered', async () => {
    // First life: 'one' is delivered, 'two' fails once and waits for its retry (a sleep that never
    // ends), 'three' waits behind it; then the process dies: no close.
    const first = fakeFetch(() => (first.calls.length === 1 ? 200 : 503));
    const crashed = durable([hook('ci')], { fetch: first.fetch, sleep: () => new Promise(() => undefined) });
    for (const name of ['one', 'two', 'three']) crashed.publish(event(name));
    await vi.waitFor(() => expect(repositories(first.calls)).toEqual(['one', 'two']));
    const journaled = readOutbox(await readFile(outboxPath(), 'utf8')).pending.map((entry) => entry.event);
    expect(journaled.map((pending) => pending.data.repository)).toEqual(['two', 'three']);
    expect(journaled[0]!.id).toBe(first.calls[1]!.event.id);

    const second = fakeFetch(() => 200);
    const restarted = durable([hook('ci')], { fetch: second.fetch });
    await restarted.close(5000);
    expect(second.calls.map((call) => call.event)).toEqual(journaled);
    expect(await deadLetters()).toEqual([]);
    expect(await journalEvents()).toEqual([]);

    // Third life: nothing left to deliver.
    const third = fakeFetch(() => 200);
    await durable([hook('ci')], { fetch: third.fetch }).close(5000);
    expect(third.calls).toEqual([]);
  });

  it('ignores a torn last line with a warning, and appends after it safely', async () => {
    const crashed = durable([hook('ci')], { fetch: fakeFetch(() => 'hang').fetch });
    crashed.publish(event('kept'));
    const whole = await readFile(outboxPath(), 'utf8');
    await appendFile(outboxPath(), '{"op":"event","endpoints":{"ci":"http://x"},"event":{"specv');
    const log = recorder();
    const stuck = fakeFetch(() => 'hang');
    const restarted = durable([hook('ci')], { fetch: stuck.fetch, logger: log.logger });
    expect(log.lines.filter((line) => line.level === 'warn' || line.level === 'error').map((line) => [line.level, line.message, line.fields.line])).toEqual([['warn', 'webhook outbox ends in a torn line; ignored', 3]]);
    // Rewritten without the fragment, so the next line starts on a line of its own.
    expect(await readFile(outboxPath(), 'utf8')).toBe(whole);
    restarted.publish(event('after'));
    const delivered = fakeFetch(() => 200);
    await durable([hook('ci')], { fetch: delivered.fetch }).close(5000);
    expect(repositories(delivered.calls)).toEqual(['kept', 'after']);
  });

  it('moves a damaged journal aside, names the bad line, and still delivers what it can read', async () => {
    const crashed = durable([hook('ci')], { fetch: fakeFetch(() => 'hang').fetch });
    crashed.publish(event('a'));
    crashed.publish(event('b'));
    const [header, lineA, lineB] = (await readFile(outboxPath(), 'utf8')).split('\n');
    const damaged = `${header}\n${lineA}\nnot json at all\n${lineB}\n`;
    await writeFile(outboxPath(), damaged);
    const log = recorder();
    const delivered = fakeFetch(() => 200);
    await durable([hook('ci')], { fetch: delivered.fetch, logger: log.logger, now: () => Date.UTC(2026, 0, 2, 3, 4, 5) }).close(5000);
    expect(log.lines.filter((line) => line.level === 'error').map((line) => [line.message, line.fields.file, line.fields.line])).toEqual([
      ['webhook outbox line unreadable', outboxPath(), 3],
      ['webhook outbox damaged; moved aside, the events still readable are delivered', outboxPath(), undefined],
    ]);
    expect(repositories(delivered.calls)).toEqual(['a', 'b']);
    expect(await readFile(`${outboxPath()}.corrupt-2026-01-02T03-04-05-000Z`, 'utf8')).toBe(damaged);
    // The new journal was started from what could be read.
    expect((await readFile(outboxPath(), 'utf8')).startsWith(OUTBOX_HEADER)).toBe(true);
    expect(await journalEvents()).toEqual([]);
  });

  it('dead-letters events whose endpoint is no longer configured, once', async () => {
    const crashed = durable([hook('ci'), hook('gone')], { fetch: fakeFetch(() => 'hang').fetch });
    crashed.publish(event('x'));
    const id = readOutbox(await readFile(outboxPath(), 'utf8')).pending[0]!.event.id;
    for (let life = 0; life < 2; life++) {
      const delivered = fakeFetch(() => 200);
      await durable([hook('ci')], { fetch: delivered.fetch }).close(5000);
      expect(delivered.calls.map((call) => [call.url, call.event.id])).toEqual(life === 0 ? [['http://127.0.0.1:9/ci', id]] : []);
    }
    expect((await deadLetters()).map((letter) => [letter.endpoint, letter.url, letter.attempts, letter.error, letter.event.id])).toEqual([['gone', 'http://127.0.0.1:9/gone', 0, 'webhook endpoint no longer configured', id]]);
    expect(await journalEvents()).toEqual([]);
  });

  it('compacts the journal once finished entries dominate, keeping what is pending where it is pending', async () => {
    const first = fakeFetch((target) => (target.endsWith('/slow') ? 'hang' : 200));
    const endpoints = [hook('slow', { accepts: (candidate) => candidate.repository === 'keep' }), hook('fast')];
    const crashed = durable(endpoints, { fetch: first.fetch });
    crashed.publish(event('keep'));
    const total = COMPACT_MIN_OBSOLETE_LINES + 100;
    for (let index = 0; index < total; index++) crashed.publish(event(`x${index}`));
    await vi.waitFor(
      async () => {
        const contents = readOutbox(await readFile(outboxPath(), 'utf8'));
        expect(contents.invalid).toEqual([]);
        expect(contents.pending.map((entry) => [entry.event.data.repository, [...entry.endpoints.keys()]])).toEqual([['keep', ['slow']]]);
      },
      { timeout: 10_000 },
    );
    expect(first.calls.filter((call) => call.url.endsWith('/fast'))).toHaveLength(total + 1);
    // Uncompacted it would hold the header, every event and every done line: 2 × (total + 1) + 1.
    expect((await readFile(outboxPath(), 'utf8')).split('\n').length - 1).toBeLessThan(total);

    const second = fakeFetch(() => 200);
    await durable(endpoints, { fetch: second.fetch }).close(5000);
    expect(second.calls.map((call) => [call.url, call.event.data.repository])).toEqual([['http://127.0.0.1:9/slow', 'keep']]);
  });

  it('applies the queue bound: a full queue dead-letters and journals nothing, also on replay', async () => {
    const crashed = durable([hook('ci')], { fetch: fakeFetch(() => 'hang').fetch, maxQueue: 3 });
    for (const name of ['a', 'b', 'c', 'd']) crashed.publish(event(name));
    await vi.waitFor(async () => expect((await deadLetters()).map((letter) => [letter.error, letter.event.data.repository])).toEqual([['queue full', 'd']]));
    expect(await journalEvents()).toEqual(['a', 'b', 'c']);
    const delivered = fakeFetch(() => 200);
    await durable([hook('ci')], { fetch: delivered.fetch, maxQueue: 2 }).close(5000);
    expect(repositories(delivered.calls)).toEqual(['a', 'b']);
    expect((await deadLetters()).map((letter) => [letter.error, letter.event.data.repository])).toEqual([
      ['queue full', 'd'],
      ['queue full', 'c'],
    ]);
    expect(await journalEvents()).toEqual([]);
  });

  it('keeps an event pending when its dead letter cannot be written', async () => {
    await writeFile(join(dir, 'not-a-directory'), '');
    const refused = fakeFetch(() => 403);
    const hooks = durable([hook('ci')], { fetch: refused.fetch, deadLetterPath: join(dir, 'not-a-directory', 'letters.jsonl') });
    hooks.publish(event('refused'));
    await hooks.close(5000);
    expect(refused.calls).toHaveLength(1);
    expect(await journalEvents()).toEqual(['refused']);
    const delivered = fakeFetch(() => 200);
    await durable([hook('ci')], { fetch: delivered.fetch }).close(5000);
    expect(repositories(delivered.calls)).toEqual(['refused']);
  });

  it('without a usable journal, logs it and works in memory as before: delivers, and dead-letters on close', async () => {
    await writeFile(join(dir, 'not-a-directory'), '');
    const log = recorder();
    const flaky = fakeFetch(() => (flaky.calls.length === 1 ? 200 : 500));
    const hooks = durable([hook('ci', { maxAttempts: 50, backoffMs: 60_000, maxBackoffMs: 60_000 })], { fetch: flaky.fetch, logger: log.logger, sleep: undefined, outboxPath: join(dir, 'not-a-directory', 'outbox.jsonl') });
    expect(log.lines.filter((line) => line.level === 'error').map((line) => [line.message, line.fields.file])).toEqual([['webhook outbox unavailable; events are kept in memory only', join(dir, 'not-a-directory', 'outbox.jsonl')]]);
    hooks.publish(event('sent'));
    hooks.publish(event('stuck'));
    await vi.waitFor(() => expect(flaky.calls).toHaveLength(2));
    await hooks.close(100);
    expect(repositories(flaky.calls)).toEqual(['sent', 'stuck']);
    expect((await deadLetters()).map((letter) => [letter.error, letter.event.data.repository])).toEqual([['the registry stopped before delivery', 'stuck']]);
  });
});
