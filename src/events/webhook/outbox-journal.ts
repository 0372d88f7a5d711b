// The webhook outbox on disk: one JSON line per accepted event and per finished delivery, so events
// survive a killed process. All I/O here is synchronous on purpose: `EventSink.publish` is
// synchronous and the registry acknowledges the push right after it returns, so the event must be
// on disk by then — the same trade the SQLite metadata store makes for its commits (a few hundred
// microseconds per fdatasync on an SSD).
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/index.ts';
import type { CloudEvent } from '../format/cloudevent.ts';
import { compactOutbox, encodeOutboxRecord, readOutbox } from '../format/outbox.ts';
import type { OutboxOutcome, PendingOutboxEvent } from '../format/outbox.ts';

/** Obsolete lines (finished events, done records) the journal may hold before it is rewritten; it is
 *  rewritten only when they are also at least twice the pending events, so the cost stays linear. */
export const COMPACT_MIN_OBSOLETE_LINES = 1000;

/** Unreadable lines logged one by one, at most; the rest are only counted. */
const MAX_LOGGED_INVALID = 20;

/** The outbox journal of one webhook sink. Every method logs its failures and never throws, except
 *  {@link OutboxJournal.open}. */
export class OutboxJournal {
  readonly #path: string;
  readonly #logger: Logger;
  #fd: number | undefined;
  /** Bytes of complete lines: where the next line goes, and what a failed write is cut back to. */
  #size: number;
  #lines: number;
  #compactAt: number;
  /** Pending events by id, in the order they were accepted (what a rewrite keeps). */
  readonly #live: Map<string, PendingOutboxEvent>;

  private constructor(path: string, logger: Logger, fd: number, size: number, live: Map<string, PendingOutboxEvent>) {
    this.#path = path;
    this.#logger = logger;
    this.#fd = fd;
    this.#size = size;
    this.#live = live;
    this.#lines = 1 + live.size;
    this.#compactAt = COMPACT_MIN_OBSOLETE_LINES;
  }

  /** Opens the journal at `path` (created when absent) and recovers it: a torn last line is ignored
   *  with a warning; a file with any other unreadable line is moved aside to
   *  `<path>.corrupt-<time>` (logged as an error naming each line) after what it still says was read.
   *  The journal is then rewritten holding only the pending events, which are returned in the order
   *  they were accepted. Throws when the file cannot be read, moved aside or rewritten; the file is
   *  then left as it was. */
  static open(path: string, logger: Logger, now: () => number): { journal: OutboxJournal; pending: PendingOutboxEvent[] } {
    mkdirSync(dirname(path), { recursive: true });
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const contents = readOutbox(text);
    if (contents.torn) logger.warn({ file: path, line: contents.torn.line, bytes: contents.torn.bytes }, 'webhook outbox ends in a torn line; ignored');
    let pending = contents.pending;
    if (contents.invalid.length || contents.unsupportedVersion !== undefined) {
      // Kept for the operator, never overwritten: it may hold events that could not be read.
      const movedTo = `${path}.corrupt-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
      renameSync(path, movedTo);
      if (contents.unsupportedVersion !== undefined) {
        pending = [];
        logger.error({ file: path, movedTo, version: contents.unsupportedVersion }, 'webhook outbox written by another kiln version; moved aside, its events are not delivered');
      } else {
        for (const { line, reason } of contents.invalid.slice(0, MAX_LOGGED_INVALID)) logger.error({ file: path, line, reason }, 'webhook outbox line unreadable');
        logger.error({ file: path, movedTo, invalidLines: contents.invalid.length, recovered: pending.length }, 'webhook outbox damaged; moved aside, the events still readable are delivered');
      }
    }
    const live = new Map(pending.map((entry) => [entry.event.id, entry]));
    const { fd, size } = writeJournal(path, compactOutbox(live.values()));
    return { journal: new OutboxJournal(path, logger, fd, size, live), pending: pending.map((entry) => ({ event: entry.event, endpoints: new Map(entry.endpoints) })) };
  }

  /** Records `event` as pending at `endpoints` (name → URL) and fsyncs it. False when it could not be
   *  recorded (logged): the caller then holds the event in memory only. */
  append(event: CloudEvent, endpoints: readonly (readonly [string, string])[]): boolean {
    if (!this.#write(encodeOutboxRecord({ op: 'event', event, endpoints: Object.fromEntries(endpoints) }), true)) return false;
    this.#live.set(event.id, { event, endpoints: new Map(endpoints) });
    return true;
  }

  /** Records that `endpoint` is finished with event `id`. Not fsynced: losing it costs only a
   *  redelivery after a crash, which at-least-once delivery allows; the next append's fdatasync or
   *  {@link close} makes it durable. */
  done(id: string, endpoint: string, outcome: OutboxOutcome): void {
    const entry = this.#live.get(id);
    if (!entry?.endpoints.has(endpoint)) return;
    if (!this.#write(encodeOutboxRecord({ op: 'done', id, endpoint, outcome }), false)) return;
    entry.endpoints.delete(endpoint);
    if (entry.endpoints.size === 0) this.#live.delete(id);
    const obsolete = this.#lines - 1 - this.#live.size;
    if (obsolete >= this.#compactAt && obsolete >= 2 * this.#live.size) this.#compact();
  }

  /** Makes every recorded line durable and closes the file; later calls do nothing. */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    try {
      fdatasyncSync(fd);
    } catch (error) {
      this.#logger.error({ err: error, file: this.#path }, 'webhook outbox sync failed');
    }
    closeQuietly(fd);
  }

  /** Appends one line at the end of the complete ones; on failure cuts the file back, so a partial
   *  line never sits in the middle of the journal. */
  #write(line: string, sync: boolean): boolean {
    const fd = this.#fd;
    if (fd === undefined) return false;
    const bytes = Buffer.from(line);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, this.#size + written);
      if (sync) fdatasyncSync(fd);
      this.#size += bytes.length;
      this.#lines++;
      return true;
    } catch (error) {
      this.#logger.error({ err: error, file: this.#path }, 'webhook outbox write failed');
      try {
        ftruncateSync(fd, this.#size);
      } catch (truncateError) {
        // A partial line that cannot be removed would damage every line after it: stop writing.
        this.#logger.error({ err: truncateError, file: this.#path }, 'webhook outbox unusable until restart; events are kept in memory only');
        this.#fd = undefined;
        closeQuietly(fd);
      }
      return false;
    }
  }

  /** Rewrites the journal with only the pending events (temporary file, fsync, rename). */
  #compact(): void {
    let next: { fd: number; size: number };
    try {
      next = writeJournal(this.#path, compactOutbox(this.#live.values()));
    } catch (error) {
      // The old journal is still whole: keep appending to it and try again later.
      this.#compactAt = this.#lines + COMPACT_MIN_OBSOLETE_LINES;
      this.#logger.warn({ err: error, file: this.#path }, 'webhook outbox compaction failed');
      return;
    }
    closeQuietly(this.#fd!);
    this.#fd = next.fd;
    this.#size = next.size;
    this.#lines = 1 + this.#live.size;
    this.#compactAt = COMPACT_MIN_OBSOLETE_LINES;
  }
}

/** Replaces the file at `path` with `text` atomically (temporary name, fdatasync, rename, directory
 *  fsync) and returns the open descriptor of the new file, for appending. */
function writeJournal(path: string, text: string): { fd: number; size: number } {
  const temp = `${path}.tmp`;
  const bytes = Buffer.from(text);
  const fd = openSync(temp, 'w', 0o600);
  let renamed = false;
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, written);
    fdatasyncSync(fd);
    renameSync(temp, path);
    renamed = true;
    syncDirectory(dirname(path));
    return { fd, size: bytes.length };
  } catch (error) {
    closeQuietly(fd);
    if (!renamed) rmSync(temp, { force: true });
    throw error;
  }
}

/** Makes a rename durable. Never throws: the rename is done by then and the new file is the journal,
 *  and some filesystems refuse to fsync a directory. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The rename still happened; only its durability across power loss is left to the filesystem.
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing left to do with a descriptor that will not close.
  }
}
