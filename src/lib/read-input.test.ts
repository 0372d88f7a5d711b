import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from './errors.ts';
import { assertInputDirectory, readInputFile, readInputText } from './read-input.ts';

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isKilnError(error)) throw new Error(`expected a KilnError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

describe('readInputFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-read-input-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file whole, up to and including the limit', async () => {
    await writeFile(join(dir, 'ten'), '0123456789');
    expect(await readInputText(join(dir, 'ten'), { what: 'config', maxBytes: 10 })).toBe('0123456789');
    expect((await readInputFile(join(dir, 'ten'), { what: 'config' })).length).toBe(10);
  });

  it('names the file and the reason for missing files, directories and a file as a parent', async () => {
    expect(await failure(readInputFile(join(dir, 'absent.yaml'), { what: 'image configuration' }))).toEqual({ code: 'IO', message: `image configuration ${join(dir, 'absent.yaml')}: cannot read: no such file` });
    expect(await failure(readInputFile(dir, { what: 'recipe' }))).toEqual({ code: 'IO', message: `recipe ${dir}: cannot read: is a directory, not a file` });
    await writeFile(join(dir, 'plain'), 'x');
    expect((await failure(readInputFile(join(dir, 'plain', 'child'), { what: 'policy' }))).message).toBe(`policy ${join(dir, 'plain', 'child')}: cannot read: a parent of it is not a directory`);
  });

  it('refuses a file over the limit from its size, without reading it (a sparse 8 GiB file)', async () => {
    const huge = join(dir, 'huge');
    await writeFile(huge, '');
    await truncate(huge, 8 * 1024 ** 3);
    expect(await failure(readInputFile(huge, { what: 'lock file' }))).toEqual({ code: 'LIMIT_EXCEEDED', message: `lock file ${huge}: ${8 * 1024 ** 3} bytes is more than the limit of 16777216` });
  });

  it('stops reading an endless device at the limit', async () => {
    expect(await failure(readInputFile('/dev/zero', { what: 'config', maxBytes: 3 * 1024 * 1024 }))).toEqual({ code: 'LIMIT_EXCEEDED', message: `config /dev/zero: ${3 * 1024 * 1024 + 1} bytes is more than the limit of ${3 * 1024 * 1024}` });
  });

  it('checks input directories', async () => {
    await assertInputDirectory(dir, '-F');
    expect(await failure(assertInputDirectory(join(dir, 'missing'), '-F'))).toEqual({ code: 'IO', message: `-F ${join(dir, 'missing')}: cannot read: no such file` });
    expect(await failure(assertInputDirectory(join(dir, 'ten'), '-F'))).toEqual({ code: 'IO', message: `-F ${join(dir, 'ten')}: is not a directory` });
  });
});
