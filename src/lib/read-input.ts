import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { KilnError } from './errors.ts';
import { DEFAULT_TEXT_LIMITS } from './structured-text.ts';

/** Options of {@link readInputFile}. */
export interface ReadInputOptions {
  /** What the file is, for messages: "image configuration", "policy", "recipe". */
  what: string;
  /** Largest file accepted (default: the structured-text limit). Pipes and devices are read up to it. */
  maxBytes?: number;
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a parent of it is not a directory',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/** The error for a file that could not be read: code IO, naming the file and the reason in words. */
export function unreadableInput(what: string, path: string, cause: unknown): KilnError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (cause as Error | undefined)?.message ?? String(cause);
  return new KilnError('IO', `${what} ${path}: cannot read: ${reason}`, { cause, detail: { path, ...(code ? { errno: code } : {}) } });
}

/** Reads a whole input file (a config, recipe, policy, key …) with the failures users meet turned
 *  into one-line errors naming the file: missing, a directory, unreadable (IO), or larger than the
 *  limit (LIMIT_EXCEEDED, checked before reading and again while reading pipes and devices). */
export async function readInputFile(path: string, options: ReadInputOptions): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_TEXT_LIMITS.maxBytes;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadableInput(options.what, path, error);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw unreadableInput(options.what, path, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
    const tooLarge = (size: number) =>
      new KilnError('LIMIT_EXCEEDED', `${options.what} ${path}: ${size} bytes is more than the limit of ${maxBytes}`, { detail: { path, size, limit: maxBytes } });
    if (info.isFile() && info.size > maxBytes) throw tooLarge(info.size);
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - total));
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, chunk.length, null));
      } catch (error) {
        throw unreadableInput(options.what, path, error);
      }
      if (bytesRead === 0) break;
      parts.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(total);
    }
    return Buffer.concat(parts, total);
  } finally {
    await handle.close();
  }
}

/** {@link readInputFile} decoded as UTF-8 text. */
export async function readInputText(path: string, options: ReadInputOptions): Promise<string> {
  return (await readInputFile(path, options)).toString('utf8');
}

/** Checks that an input directory (`-F DIR`, a recipe directory) exists and is one: IO naming it otherwise. */
export async function assertInputDirectory(path: string, what: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw unreadableInput(what, path, error);
  }
  if (!info.isDirectory()) throw new KilnError('IO', `${what} ${path}: is not a directory`, { detail: { path } });
}
