import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { ApkError, BLOCK, isZeroBlock, metadataRecord, padded, parseHeaderBlock, PendingTarRecords } from '../apk/index.ts';
import { KilnError, unreadableInput } from '../lib/index.ts';
import { OciError } from './errors.ts';

// A tar file read in place: its headers are indexed once (content is skipped, not read), and each
// member is then read or streamed by its byte range. A docker archive of many gigabytes is opened
// without holding it, and only the members an operation needs are read.

/** A regular file of the archive and where its content lies. */
export interface TarFileMember {
  name: string;
  offset: number;
  size: number;
}

/** An indexed tar file. */
export interface TarFile {
  /** Regular files by name (`./` removed); a later member of the same name replaces an earlier one. */
  members: ReadonlyMap<string, TarFileMember>;
  /** The regular file a name leads to, following symbolic-link members (legacy `docker save` stores
   *  a layer two images share once, and a link to it in the other image's directory). */
  find(name: string): TarFileMember | undefined;
  /** A member's content in memory; LIMIT_EXCEEDED when it is larger than `maxBytes`. */
  read(member: TarFileMember, maxBytes: number): Promise<Buffer>;
  /** A member's content in chunks. */
  stream(member: TarFileMember): AsyncGenerator<Buffer>;
}

const STREAM_CHUNK = 1 << 20;
/** Symbolic links followed for one name before it counts as a loop (Linux's MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/** A member's name as a key: no leading `./` or `/`. */
function memberPath(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '');
}

/** Indexes the tar at `path` (`what` names it in messages; `maxBytes` bounds the file). OCI_ARCHIVE_INVALID when it is not a
 *  readable tar; the file must stay the same file while it is read (OCI_ARCHIVE_INVALID when it was
 *  replaced or shortened). */
export async function openTarFile(path: string, what: string, options: { maxBytes?: number } = {}): Promise<TarFile> {
  const fail = (why: string, cause?: unknown): OciError => new OciError('OCI_ARCHIVE_INVALID', `${path}: ${why}`, { ...(cause ? { cause } : {}), detail: { path } });
  const handle = await openRegular(path, what);
  const members = new Map<string, TarFileMember>();
  const links = new Map<string, string>();
  let identity: { ino: number; dev: number; size: number };
  try {
    const info = await handle.stat();
    identity = { ino: info.ino, dev: info.dev, size: info.size };
    if (options.maxBytes !== undefined && info.size > options.maxBytes) {
      throw new KilnError('LIMIT_EXCEEDED', `${what} ${path}: ${info.size} bytes is more than the limit of ${options.maxBytes}`, { detail: { path, size: info.size, limit: options.maxBytes } });
    }
    const records = new PendingTarRecords('oci');
    const block = Buffer.alloc(BLOCK);
    let position = 0;
    while (position + BLOCK <= info.size) {
      await readFully(handle, block, position, fail);
      if (isZeroBlock(block)) break;
      const raw = parseHeaderBlock(block, `${path}: tar header at offset ${position}`, 'oci');
      const where = `${path}: ${JSON.stringify(raw.name)}`;
      const start = position + BLOCK;
      const kind = metadataRecord(raw, where, path);
      if (kind) {
        if (start + raw.size > info.size) throw fail(`${kind} at offset ${position} is cut off at the end of the tar`);
        const data = Buffer.alloc(raw.size);
        await readFully(handle, data, start, fail);
        const problem = records.add(raw, data, where);
        if (problem) throw fail(problem);
        position = start + padded(raw.size);
        continue;
      }
      const header = records.resolve(raw, where);
      const size = header.type === 'file' ? header.size : 0;
      if (start + size > info.size) throw fail(`${JSON.stringify(header.name)} at offset ${position} is cut off at the end of the tar`);
      if (header.type === 'file') members.set(memberPath(header.name), { name: header.name, offset: start, size });
      else if (header.type === 'symlink') links.set(memberPath(header.name), header.linkName);
      position = start + padded(size);
    }
    if (position + BLOCK > info.size && position < info.size) throw fail(`the tar ends inside a header block at offset ${position}`);
  } catch (error) {
    if (error instanceof ApkError) throw fail(`not a readable tar: ${error.message}`, error);
    throw error;
  } finally {
    await handle.close();
  }
  const reopen = async (): Promise<FileHandle> => {
    const again = await openRegular(path, what);
    const info = await again.stat();
    if (info.ino !== identity.ino || info.dev !== identity.dev || info.size !== identity.size) {
      await again.close();
      throw fail('was replaced or changed while being read');
    }
    return again;
  };
  return {
    members,
    find(name) {
      let path = memberPath(name);
      for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
        const member = members.get(path);
        if (member) return member;
        const target = links.get(path);
        if (target === undefined) return undefined;
        // relative to the link's directory; never above the archive's root
        path = memberPath(posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(path), target)).replace(/^(\.\.\/)+/, ''));
      }
      return undefined;
    },
    async read(member, maxBytes) {
      if (member.size > maxBytes) {
        throw new KilnError('LIMIT_EXCEEDED', `${path}: ${member.name} is ${member.size} bytes, more than the ${maxBytes} allowed for it`, { detail: { path, member: member.name, size: member.size, limit: maxBytes } });
      }
      const file = await reopen();
      try {
        const data = Buffer.alloc(member.size);
        await readFully(file, data, member.offset, fail);
        return data;
      } finally {
        await file.close();
      }
    },
    async *stream(member) {
      const file = await reopen();
      try {
        for (let done = 0; done < member.size; ) {
          const chunk = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, member.size - done));
          await readFully(file, chunk, member.offset + done, fail);
          done += chunk.length;
          yield chunk;
        }
      } finally {
        await file.close();
      }
    },
  };
}

/** Opens a regular file without blocking on a pipe or device swapped in for it. */
async function openRegular(path: string, what: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw unreadableInput(what, path, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw unreadableInput(what, path, Object.assign(new Error('is not a regular file'), { code: info.isDirectory() ? 'EISDIR' : 'EINVAL' }));
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function readFully(handle: FileHandle, into: Buffer, position: number, fail: (why: string) => Error): Promise<void> {
  for (let filled = 0; filled < into.length; ) {
    const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
    if (bytesRead === 0) throw fail(`ends at offset ${position + filled}, inside a member`);
    filled += bytesRead;
  }
}
