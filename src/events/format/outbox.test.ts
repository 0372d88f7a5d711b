import { describe, expect, it } from 'vitest';
import { toCloudEvent } from './cloudevent.ts';
import { compactOutbox, encodeOutboxRecord, OUTBOX_HEADER, readOutbox } from './outbox.ts';
import type { OutboxContents } from './outbox.ts';

const cloudEvent = (id: string) => toCloudEvent({ type: 'tag.deleted', repository: `repo-${id}`, tag: 'v1', time: 0 }, id, 'http://registry.test');
const added = (id: string, ...names: string[]) => encodeOutboxRecord({ op: 'event', event: cloudEvent(id), endpoints: Object.fromEntries(names.map((name) => [name, `http://hooks/${name}`])) });
const done = (id: string, endpoint: string) => encodeOutboxRecord({ op: 'done', id, endpoint, outcome: 'delivered' });
/** What is pending, as [id, endpoint names]. */
const pendingOf = (contents: OutboxContents) => contents.pending.map((entry) => [entry.event.id, [...entry.endpoints.keys()]]);

describe('readOutbox', () => {
  it.each([
    ['an empty file', '', [], 0],
    ['a header only', OUTBOX_HEADER, [], 1],
    ['events in the order they were accepted', OUTBOX_HEADER + added('b', 'ci') + added('a', 'ci', 'mirror'), [['b', ['ci']], ['a', ['ci', 'mirror']]], 3],
    ['an endpoint done with an event', OUTBOX_HEADER + added('a', 'ci', 'mirror') + done('a', 'ci'), [['a', ['mirror']]], 3],
    ['every endpoint done with an event', OUTBOX_HEADER + added('a', 'ci') + added('b', 'ci') + done('a', 'ci'), [['b', ['ci']]], 4],
  ])('replays %s', (_, text, pending, lines) => {
    const contents = readOutbox(text);
    expect(pendingOf(contents)).toEqual(pending);
    expect(contents.lines).toBe(lines);
    expect(contents.invalid).toEqual([]);
    expect(contents.torn).toBeUndefined();
  });

  it('reports an unterminated last line as torn and does not read it, even when it parses', () => {
    for (const tail of ['{"op":"ev', added('b', 'ci').trimEnd(), '\0\0\0\0']) {
      const contents = readOutbox(OUTBOX_HEADER + added('a', 'ci') + tail);
      expect(pendingOf(contents)).toEqual([['a', ['ci']]]);
      expect(contents.torn).toEqual({ line: 3, bytes: Buffer.byteLength(tail) });
      expect(contents.invalid).toEqual([]);
    }
  });

  it('reports every complete line that is not a record, by number, and reads the rest', () => {
    const text = [
      '{"kiln":"something-else","version":1}\n',
      added('a', 'ci'),
      'garbage\n',
      '[1]\n',
      '{"op":"event","endpoints":{},"event":{}}\n',
      encodeOutboxRecord({ op: 'event', event: cloudEvent('b'), endpoints: {} }),
      added('a', 'mirror'),
      done('zzz', 'ci'),
      done('a', 'mirror'),
      '{"op":"done","id":"a","endpoint":"ci","outcome":"lost"}\n',
      '{"op":"rename"}\n',
      added('c', 'ci'),
    ].join('');
    const contents = readOutbox(text);
    expect(contents.invalid).toEqual([
      { line: 1, reason: 'not an outbox header' },
      { line: 3, reason: 'not JSON' },
      { line: 4, reason: 'not a JSON object' },
      { line: 5, reason: 'event record without a CloudEvent' },
      { line: 6, reason: 'event record without endpoints' },
      { line: 7, reason: 'event a recorded twice' },
      { line: 8, reason: 'done record for zzz at ci, which is not pending' },
      { line: 9, reason: 'done record for a at mirror, which is not pending' },
      { line: 10, reason: 'malformed done record' },
      { line: 11, reason: 'unknown record' },
    ]);
    expect(pendingOf(contents)).toEqual([['a', ['ci']], ['c', ['ci']]]);
  });

  it('reads nothing from a journal of another version', () => {
    const contents = readOutbox(`{"kiln":"kiln-webhook-outbox","version":2}\n${added('a', 'ci')}`);
    expect(contents).toEqual({ pending: [], lines: 2, invalid: [], unsupportedVersion: 2 });
  });
});

describe('compactOutbox', () => {
  it('writes exactly what is pending, which reads back the same', () => {
    const before = readOutbox(OUTBOX_HEADER + added('a', 'ci', 'mirror') + added('b', 'ci') + added('c', 'mirror') + done('a', 'ci') + done('b', 'ci'));
    const text = compactOutbox(before.pending);
    expect(text).toBe(OUTBOX_HEADER + added('a', 'mirror') + added('c', 'mirror'));
    const after = readOutbox(text);
    expect(after.pending).toEqual(before.pending);
    expect(after.lines).toBe(3);
  });
});
