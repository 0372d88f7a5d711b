// The webhook sink against a real loopback HTTP receiver: signed CloudEvents, retries with doubling
// backoff, final refusals, the dead-letter log, per-endpoint order, and shutdown.
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/index.ts';
import { verifyDelivery } from '../format/cloudevent.ts';
import type { RegistryEvent } from '../port.ts';
import { WebhookSink } from './webhook-sink.ts';
import type { DeadLetter, WebhookEndpoint } from './webhook-sink.ts';

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

  it('on close, stops retrying after the timeout and dead-letters what is still queued', async () => {
    answers = [500];
    const hooks = new WebhookSink({
      source: 's',
      deadLetterPath: join(dir, 'dead', 'letters.jsonl'),
      logger: silentLogger,
      endpoints: [{ name: 'slow', url, secret, accepts: () => true, timeoutMs: 2000, maxAttempts: 50, backoffMs: 60_000, maxBackoffMs: 60_000 }],
    });
    hooks.publish(event('first'));
    hooks.publish(event('second'));
    const started = Date.now();
    await hooks.close(200);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await deadLetters()).map((letter) => letter.event.data.repository)).toEqual(['first', 'second']);
    // Closed: later events are dropped, not queued.
    hooks.publish(event('late'));
    expect((await deadLetters()).map((letter) => letter.event.data.repository)).toEqual(['first', 'second']);
  });
});
