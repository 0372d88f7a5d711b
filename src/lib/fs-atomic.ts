import { randomBytes } from 'node:crypto';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { KilnError } from './errors.ts';

/** Writes a file so that readers see either nothing or the whole new content: write to a
 *  temporary name in the same directory, fsync, rename. With `exclusive`, an existing target is an
 *  error (FILE_EXISTS) rather than replaced. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | ((handle: FileHandle) => Promise<void>),
  options: { exclusive?: boolean; mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  if (options.exclusive) await assertAbsent(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let committed = false;
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      if (typeof data === 'function') await data(handle);
      else await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) await assertAbsent(path);
    await rename(temp, path);
    committed = true;
  } finally {
    if (!committed) await rm(temp, { force: true });
  }
}

async function assertAbsent(path: string): Promise<void> {
  try {
    await access(path);
  } catch {
    return;
  }
  throw new KilnError('FILE_EXISTS', `${path}: already exists (remove it or choose another output path)`, {
    detail: { path },
  });
}

/** Whether anything (file, directory, link target) exists at a path. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
