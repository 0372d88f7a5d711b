// The webhook outbox journal's line format and its replay: which events each endpoint still waits
// for. Pure: text in, values out; the file itself is handled by src/events/webhook/outbox-journal.ts.
import type { CloudEvent } from './cloudevent.ts';

/** The journal format this code writes and reads; a header naming another version is not read. */
export const OUTBOX_VERSION = 1;

/** Marks the first line of a journal, so a file of anything else is never taken for one. */
const OUTBOX_KIND = 'kiln-webhook-outbox';

/** What happened to an event at one endpoint, recorded when the endpoint is done with it. */
export type OutboxOutcome = 'delivered' | 'dead-lettered';

/** One line of the journal. */
export type OutboxRecord =
  | { op: 'header'; version: number }
  /** An accepted event and the endpoints (name → URL at the time) that are to receive it. */
  | { op: 'event'; event: CloudEvent; endpoints: Record<string, string> }
  /** One endpoint is finished with an event: it was delivered or is in the dead-letter log. */
  | { op: 'done'; id: string; endpoint: string; outcome: OutboxOutcome };

/** An event that at least one endpoint has not finished with. */
export interface PendingOutboxEvent {
  event: CloudEvent;
  /** Endpoint name → the URL it had when the event was accepted, in the order they were recorded. */
  endpoints: Map<string, string>;
}

/** What a journal holds, as {@link readOutbox} found it. */
export interface OutboxContents {
  /** Events still pending somewhere, in the order they were accepted. */
  pending: PendingOutboxEvent[];
  /** Complete lines in the text, the header included. */
  lines: number;
  /** An unterminated last line: a write the process did not finish (so never acknowledged). */
  torn?: { line: number; bytes: number };
  /** Complete lines that are not valid records here (1-based line numbers). */
  invalid: { line: number; reason: string }[];
  /** Set when the header names a version this code cannot read; then nothing else was read. */
  unsupportedVersion?: unknown;
}

/** The journal line of `record`, newline included. */
export function encodeOutboxRecord(record: OutboxRecord): string {
  const value =
    record.op === 'header'
      ? { kiln: OUTBOX_KIND, version: record.version }
      : record.op === 'event'
        ? { op: 'event', endpoints: record.endpoints, event: record.event }
        : { op: 'done', id: record.id, endpoint: record.endpoint, outcome: record.outcome };
  return `${JSON.stringify(value)}\n`;
}

/** The header line every journal starts with. */
export const OUTBOX_HEADER = encodeOutboxRecord({ op: 'header', version: OUTBOX_VERSION });

/** A journal's complete text, rewritten to hold only `pending` (what compaction writes). */
export function compactOutbox(pending: Iterable<PendingOutboxEvent>): string {
  let text = OUTBOX_HEADER;
  for (const entry of pending) text += encodeOutboxRecord({ op: 'event', event: entry.event, endpoints: Object.fromEntries(entry.endpoints) });
  return text;
}

/** Replays a journal: every event line adds pending (event, endpoint) pairs, every done line
 *  removes one. A final line without its newline is a torn write and is reported, not read; every
 *  other line that is not a valid record is reported in `invalid` and skipped, so the caller can
 *  still recover what the rest of the file says. */
export function readOutbox(text: string): OutboxContents {
  const pending = new Map<string, PendingOutboxEvent>();
  const invalid: OutboxContents['invalid'] = [];
  const parts = text.split('\n');
  // split leaves '' after a final newline; anything else there is an unterminated line.
  const last = parts.pop()!;
  const torn = last === '' ? undefined : { line: parts.length + 1, bytes: Buffer.byteLength(last) };
  for (const [index, line] of parts.entries()) {
    const lineNumber = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      invalid.push({ line: lineNumber, reason: 'not JSON' });
      continue;
    }
    if (!isObject(value)) {
      invalid.push({ line: lineNumber, reason: 'not a JSON object' });
      continue;
    }
    if (lineNumber === 1) {
      if (value.kiln !== OUTBOX_KIND) invalid.push({ line: 1, reason: 'not an outbox header' });
      else if (value.version !== OUTBOX_VERSION) return { pending: [], lines: parts.length, invalid: [], unsupportedVersion: value.version, ...(torn ? { torn } : {}) };
      continue;
    }
    const reason = apply(value, pending);
    if (reason) invalid.push({ line: lineNumber, reason });
  }
  return { pending: [...pending.values()], lines: parts.length, invalid, ...(torn ? { torn } : {}) };
}

/** Applies one record to `pending`; returns why it is not a valid record, or undefined. */
function apply(value: Record<string, unknown>, pending: Map<string, PendingOutboxEvent>): string | undefined {
  if (value.op === 'event') {
    const { event, endpoints } = value;
    if (!isCloudEvent(event)) return 'event record without a CloudEvent';
    if (!isObject(endpoints) || Object.keys(endpoints).length === 0 || !Object.values(endpoints).every((url) => typeof url === 'string')) return 'event record without endpoints';
    if (pending.has(event.id)) return `event ${event.id} recorded twice`;
    pending.set(event.id, { event, endpoints: new Map(Object.entries(endpoints as Record<string, string>)) });
    return undefined;
  }
  if (value.op === 'done') {
    const { id, endpoint, outcome } = value;
    if (typeof id !== 'string' || typeof endpoint !== 'string' || (outcome !== 'delivered' && outcome !== 'dead-lettered')) return 'malformed done record';
    const entry = pending.get(id);
    // Done is only ever written for a pending pair, so anything else means lost or damaged lines.
    if (!entry?.endpoints.delete(endpoint)) return `done record for ${id} at ${endpoint}, which is not pending`;
    if (entry.endpoints.size === 0) pending.delete(id);
    return undefined;
  }
  return 'unknown record';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCloudEvent(value: unknown): value is CloudEvent {
  return isObject(value) && value.specversion === '1.0' && typeof value.id === 'string' && value.id !== '' && typeof value.type === 'string' && typeof value.source === 'string' && isObject(value.data);
}
