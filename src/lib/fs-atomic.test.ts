import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './fs-atomic.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-fs-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temporary file behind', async () => {
    const path = join(dir, 'out.txt');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['out.txt']);
  });

  it('with exclusive, never replaces a file that appears while the new one is written', async () => {
    const path = join(dir, 'out.txt');
    // Another writer creates the target after the first check, while this one still writes.
    const error = await writeFileAtomic(
      path,
      async (handle) => {
        await writeFile(path, 'theirs');
        await handle.writeFile('mine');
      },
      { exclusive: true },
    ).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'FILE_EXISTS' });
    expect(await readFile(path, 'utf8')).toBe('theirs');
    expect(await readdir(dir)).toEqual(['out.txt']);
  });

  it('with exclusive, writes a new file once', async () => {
    const path = join(dir, 'out.txt');
    await writeFileAtomic(path, 'first', { exclusive: true });
    await expect(writeFileAtomic(path, 'second', { exclusive: true })).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['out.txt']);
  });
});
