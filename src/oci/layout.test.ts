import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestWith } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { readLayoutBlob, streamLayoutBlob } from './layout.ts';

let dir: string;
const data = Buffer.from('{"schemaVersion":2}');
const sha256 = digestWith(data, 'sha256');
const sha512 = digestWith(data, 'sha512');
const hexOf = (digest: Digest) => digest.slice(digest.indexOf(':') + 1);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-layout-'));
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(dir, 'blobs', 'sha512'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', hexOf(sha256)), data);
  await writeFile(join(dir, 'blobs', 'sha512', hexOf(sha512)), data);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A blob path holding `make`'s result under the digest of other content. */
async function planted(name: string, make: (path: string) => Promise<void>): Promise<Digest> {
  const digest = digestWith(name);
  await make(join(dir, 'blobs', 'sha256', hexOf(digest)));
  return digest;
}

describe('readLayoutBlob', () => {
  it('reads a blob by digest or by descriptor, from the directory of its algorithm', async () => {
    expect(await readLayoutBlob(dir, sha256)).toEqual(data);
    expect(await readLayoutBlob(dir, { digest: sha256, size: data.length })).toEqual(data);
    expect(await readLayoutBlob(dir, { digest: sha512, size: data.length })).toEqual(data);
  });

  it('refuses a blob whose size is not the descriptor\'s', async () => {
    await expect(readLayoutBlob(dir, { digest: sha256, size: data.length + 1 })).rejects.toMatchObject({
      code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${sha256} is ${data.length} bytes, its descriptor says ${data.length + 1}`,
    });
  });

  it('refuses a blob over the caller\'s limit before reading it, and reads one at the limit', async () => {
    await expect(readLayoutBlob(dir, sha256, { maxBytes: data.length - 1 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED', message: `${dir}: blob ${sha256} is ${data.length} bytes, more than the ${data.length - 1} bytes allowed for it`,
    });
    expect(await readLayoutBlob(dir, sha256, { maxBytes: data.length })).toEqual(data);
  });

  it('refuses content that does not match the digest', async () => {
    const digest = await planted('other', (path) => writeFile(path, 'tampered'));
    await expect(readLayoutBlob(dir, digest)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${digest} does not match its digest` });
  });

  it('follows a link to a regular file (as Bazel lays blobs out), and refuses a link to /dev/zero, a named pipe and a directory without reading them', async () => {
    await writeFile(join(dir, 'elsewhere'), data);
    const linked = join(dir, 'linked');
    await mkdir(join(linked, 'blobs', 'sha256'), { recursive: true });
    await symlink(join(dir, 'elsewhere'), join(linked, 'blobs', 'sha256', hexOf(sha256)));
    expect(await readLayoutBlob(linked, { digest: sha256, size: data.length })).toEqual(data);
    const link = await planted('link', (path) => symlink('/dev/zero', path));
    await expect(readLayoutBlob(dir, link)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${link} is a device, not a regular file` });
    const fifo = await planted('fifo', async (path) => void execFileSync('mkfifo', [path]));
    await expect(readLayoutBlob(dir, fifo)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${fifo} is a named pipe, not a regular file` });
    const directory = await planted('directory', (path) => mkdir(path));
    await expect(readLayoutBlob(dir, directory)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: expect.stringContaining('is a directory') });
  });

  it('leaves a missing blob to the file system error, and refuses a digest it cannot verify', async () => {
    await expect(readLayoutBlob(dir, digestWith('absent'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readLayoutBlob(dir, 'sha256:../../../etc/passwd' as Digest)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID' });
  });
});

async function drain(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('streamLayoutBlob', () => {
  it('streams a blob by descriptor and checks its digest at the end', async () => {
    expect(await drain(streamLayoutBlob(dir, { digest: sha256, size: data.length }))).toEqual(data);
    expect(await drain(streamLayoutBlob(dir, { digest: sha512, size: data.length }))).toEqual(data);
    const digest = await planted('streamed other', (path) => writeFile(path, 'tampered'));
    const seen: Buffer[] = [];
    await expect((async () => {
      for await (const chunk of streamLayoutBlob(dir, { digest, size: 8 })) seen.push(chunk);
    })()).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${digest} does not match its digest` });
    // The bytes went by before the end: a consumer must trust nothing until the iteration completes.
    expect(Buffer.concat(seen).toString()).toBe('tampered');
  });

  it('refuses a blob of another size, a named pipe and an unverifiable digest before streaming', async () => {
    await expect(drain(streamLayoutBlob(dir, { digest: sha256, size: data.length + 1 }))).rejects.toMatchObject({
      code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${sha256} is ${data.length} bytes, its descriptor says ${data.length + 1}`,
    });
    const fifo = await planted('streamed fifo', async (path) => void execFileSync('mkfifo', [path]));
    await expect(drain(streamLayoutBlob(dir, { digest: fifo, size: 0 }))).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID', message: `${dir}: blob ${fifo} is a named pipe, not a regular file` });
    await expect(drain(streamLayoutBlob(dir, { digest: 'sha256:../../../etc/passwd' as Digest, size: 1 }))).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID' });
  });
});
