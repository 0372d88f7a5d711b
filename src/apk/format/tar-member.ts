import { ApkError } from '../errors.ts';
import type { GzipMember } from './gzip-members.ts';
import { BLOCK, isZeroBlock, metadataRecord, padded, parseHeaderBlock, PendingTarRecords } from './tar.ts';
import type { TarDialect, TarHeader } from './tar.ts';

// The two drivers of apk's tar dialect (tar.ts): TarMemberReader streams the records of one gzip
// member; readTarEntries reads a tar held in memory. Both take headers, PAX and GNU records and
// their limits from tar.ts, so they accept and refuse the same input.

/** What the next tar item in a member is. */
type TarStep = { kind: 'entry'; header: TarHeader; offset: number } | { kind: 'end-of-archive' } | { kind: 'member-end' };

/** Where a TarMemberReader takes its decompressed bytes from: a gzip member, or any stream. */
export type TarSource = Pick<GzipMember, 'index' | 'read'>;

/**
 * Reads tar records from one gzip member. Tar entries (with their PAX/long-name prefixes) must not
 * straddle a member boundary: apk's boundary checks assume whole entries per member.
 */
export class TarMemberReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Decompressed bytes taken from this member so far. */
  position = 0;

  constructor(
    private readonly member: TarSource,
    private readonly where: string,
    private readonly dialect: TarDialect = 'apk',
  ) {}

  private fault(code: 'APK_TAR_INVALID' | 'APK_PACKAGE_INVALID', message: string): ApkError {
    return new ApkError(code, `${this.where}: ${message}`, { detail: { file: this.where, member: this.member.index, offset: this.position } });
  }

  private async fill(count: number): Promise<boolean> {
    while (this.buffered < count) {
      if (this.ended) return false;
      const chunk = await this.member.read();
      if (!chunk) {
        this.ended = true;
        return false;
      }
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Up to `max` bytes (at least one) of what is buffered or next read; null at member end. */
  async readSome(max: number): Promise<Buffer | null> {
    if (this.buffered === 0 && !(await this.fill(1))) return null;
    const head = this.chunks[0]!;
    const take = Math.min(max, head.length);
    const out = head.subarray(0, take);
    if (take === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(take);
    this.buffered -= take;
    this.position += take;
    return out;
  }

  /** Exactly `count` bytes; null when the member ends before them (and `partial` reports how many were there). */
  async readExact(count: number): Promise<Buffer | null> {
    if (!(await this.fill(count))) return null;
    const parts: Buffer[] = [];
    let left = count;
    while (left > 0) {
      const part = (await this.readSome(left))!;
      parts.push(part);
      left -= part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private async exact(count: number, what: string): Promise<Buffer> {
    const bytes = await this.readExact(count);
    if (!bytes) throw this.fault('APK_TAR_INVALID', `${what} is cut off at the end of gzip member ${this.member.index}`);
    return bytes;
  }

  /** Skips `count` bytes inside the current entry. */
  async discard(count: number, what: string): Promise<void> {
    let left = count;
    while (left > 0) {
      const part = await this.readSome(Math.min(left, 1 << 20));
      if (!part) throw this.fault('APK_TAR_INVALID', `${what} is cut off at the end of gzip member ${this.member.index}`);
      left -= part.length;
    }
  }

  /** Reads the next header, applying `x` (PAX), `g` (ignored), `L` (GNU long name) and `K` (ignored, as apk does). */
  async next(): Promise<TarStep> {
    const records = new PendingTarRecords(this.dialect);
    for (;;) {
      const offset = this.position;
      const block = await this.readExact(BLOCK);
      if (!block) {
        if (this.buffered > 0) throw this.fault('APK_TAR_INVALID', `gzip member ${this.member.index} ends inside a tar header block`);
        if (!records.isEmpty) throw this.fault('APK_TAR_INVALID', `gzip member ${this.member.index} ends after an extended header with no entry`);
        return { kind: 'member-end' };
      }
      if (isZeroBlock(block)) {
        if (!records.isEmpty) throw this.fault('APK_TAR_INVALID', 'end-of-archive block after an extended header');
        return { kind: 'end-of-archive' };
      }
      const raw = parseHeaderBlock(block, `${this.where}: tar header at member ${this.member.index} offset ${offset}`, this.dialect);
      const where = `${this.where}: ${JSON.stringify(raw.name)}`;
      const what = metadataRecord(raw, where, this.where);
      if (!what) return { kind: 'entry', header: records.resolve(raw, where), offset };
      const data = await this.exact(raw.size, what);
      await this.discard(padded(raw.size) - raw.size, what);
      const problem = records.add(raw, data, where);
      if (problem) throw this.fault('APK_TAR_INVALID', problem);
    }
  }

  /** Reads an entry's whole content (caller has checked the size) and its padding. */
  async content(size: number, what: string): Promise<Buffer> {
    const data = size === 0 ? Buffer.alloc(0) : await this.exact(size, what);
    await this.discard(padded(size) - size, what);
    return data;
  }

  /** After an end-of-archive block: checks the second one and that only zero padding follows. */
  async finishArchive(): Promise<void> {
    const second = await this.readExact(BLOCK);
    if (!second || !isZeroBlock(second)) throw this.fault('APK_TAR_INVALID', 'a lone zero block is not a valid end of archive');
    for (;;) {
      const rest = await this.readSome(1 << 16);
      if (!rest) return;
      for (const byte of rest) {
        if (byte !== 0) throw this.fault('APK_PACKAGE_INVALID', 'non-zero bytes after the end-of-archive blocks');
      }
    }
  }
}

/** One entry of an in-memory tar: its header (records applied) and, for regular files, its content. */
export interface TarEntryBytes {
  header: TarHeader;
  content: Buffer;
}

/**
 * Reads the entries of a tar held in memory (a signature, control or index member), with the same
 * dialect and checks as TarMemberReader. Stops at the first end-of-archive block or at the end of
 * the buffer (signature and control members carry no end blocks); an entry or record cut off by the
 * end of the buffer is APK_TAR_INVALID. `where` names the tar in messages.
 */
export function readTarEntries(tar: Buffer, where: string): TarEntryBytes[] {
  const fault = (message: string, offset: number): ApkError => new ApkError('APK_TAR_INVALID', `${where}: ${message}`, { detail: { file: where, offset } });
  const entries: TarEntryBytes[] = [];
  const records = new PendingTarRecords();
  let position = 0;
  while (position < tar.length) {
    if (position + BLOCK > tar.length) throw fault(`the tar ends inside a header block at offset ${position}`, position);
    const block = tar.subarray(position, position + BLOCK);
    if (isZeroBlock(block)) {
      if (!records.isEmpty) throw fault('end-of-archive block after an extended header', position);
      return entries;
    }
    const raw = parseHeaderBlock(block, `${where}: tar header at offset ${position}`);
    const name = `${where}: ${JSON.stringify(raw.name)}`;
    const what = metadataRecord(raw, name, where);
    const header = what ? undefined : records.resolve(raw, name);
    const size = header ? header.size : raw.size;
    const start = position + BLOCK;
    if (start + padded(size) > tar.length) throw fault(`${what ?? JSON.stringify(header!.name)} at offset ${position} is cut off at the end of the tar`, position);
    const content = tar.subarray(start, start + size);
    position = start + padded(size);
    if (header) {
      entries.push({ header, content });
      continue;
    }
    const problem = records.add(raw, content, name);
    if (problem) throw fault(problem, position);
  }
  if (!records.isEmpty) throw fault('the tar ends after an extended header with no entry', position);
  return entries;
}
