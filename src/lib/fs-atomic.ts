import { randomBytes } from 'node:crypto';
import { access, link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { KilnError } from './errors.ts';

/** Writes a file so that readers see either nothing or the whole new content: write to a
 *  temporary name in the same directory, fsync, rename. With `exclusive`, an existing target is an
 *  error (FILE_EXISTS) rather than replaced. With `createParents: false`, a missing directory is an
 *  error (IO) rather than created: for paths a user typed, where a typo should not become a tree. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | ((handle: FileHandle) => Promise<void>),
  options: { exclusive?: boolean; mode?: number; createParents?: boolean } = {},
): Promise<void> {
  const dir = dirname(path);
  if (options.createParents === false) await assertDirectory(dir, path);
  else await mkdir(dir, { recursive: true });
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
    if (options.exclusive) {
      // link() refuses an existing target, so a file created since the check above is never
      // replaced (rename would silently overwrite it).
      await link(temp, path).catch(async (error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') await assertAbsent(path);
        // A filesystem without hard links: check and rename, as close as it allows.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
        await assertAbsent(path);
        await rename(temp, path);
      });
      await rm(temp, { force: true });
    } else {
      await rename(temp, path);
    }
    committed = true;
  } finally {
    if (!committed) await rm(temp, { force: true });
  }
}

/** Throws IO unless `dir` (the directory an output `path` goes into) exists and is a directory. */
export async function assertDirectory(dir: string, path: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new KilnError('IO', `${path}: cannot write: directory ${dir} does not exist${info ? ' (it is a file)' : ''}`, { detail: { path, dir } });
  }
}

/** Throws FILE_EXISTS when anything exists at `path` (an output that must not be replaced). */
export async function assertAbsent(path: string): Promise<void> {
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
