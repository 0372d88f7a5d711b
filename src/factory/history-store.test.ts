import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageHistoryEntry } from './format/history.ts';
import { openImageHistory } from './history-store.ts';

const entry = (image: string, digest: string, runId: string, previousDigest?: string): ImageHistoryEntry => ({
  image,
  digest,
  ...(previousDigest ? { previousDigest } : {}),
  tags: ['latest', '1.0'],
  publishedAt: '2026-12-04T00:00:00Z',
  runId,
  reasons: previousDigest ? [{ kind: 'package-version', package: 'zlib', from: '1.2.13-r0', to: '1.2.13-r1' }] : [{ kind: 'first-build' }],
  packages: { added: [], removed: [], upgraded: [] },
  cves: { fixed: [], introduced: [], open: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 } },
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-history-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openImageHistory', () => {
  it('appends entries and reads them back oldest first, per image, with images sorted', async () => {
    const store = openImageHistory(join(dir, 'history.db'));
    expect(await store.append(entry('kiln/curl', 'sha256:a', 'r1'))).toBe(true);
    expect(await store.append(entry('kiln/busybox', 'sha256:b', 'r1'))).toBe(true);
    expect(await store.append(entry('kiln/curl', 'sha256:c', 'r2', 'sha256:a'))).toBe(true);
    expect(await store.listImages()).toEqual(['kiln/busybox', 'kiln/curl']);
    expect((await store.history('kiln/curl')).map((e) => e.digest)).toEqual(['sha256:a', 'sha256:c']);
    expect(await store.history('kiln/none')).toEqual([]);
    expect((await store.latest('kiln/curl'))?.previousDigest).toBe('sha256:a');
    expect(await store.history('kiln/curl')).toEqual([entry('kiln/curl', 'sha256:a', 'r1'), entry('kiln/curl', 'sha256:c', 'r2', 'sha256:a')]);
    store.close();
  });

  it('records a retried append of the same run once', async () => {
    const store = openImageHistory(join(dir, 'history.db'));
    expect(await store.append(entry('kiln/curl', 'sha256:a', 'r1'))).toBe(true);
    expect(await store.append(entry('kiln/curl', 'sha256:a', 'r1'))).toBe(false);
    expect(await store.history('kiln/curl')).toHaveLength(1);
    store.close();
  });

  it('reads read-only while a writer holds it open, and a missing file as empty', async () => {
    const writer = openImageHistory(join(dir, 'history.db'));
    await writer.append(entry('kiln/jq', 'sha256:a', 'r1'));
    const reader = openImageHistory(join(dir, 'history.db'), { readonly: true });
    expect(await reader.listImages()).toEqual(['kiln/jq']);
    await writer.append(entry('kiln/jq', 'sha256:b', 'r2', 'sha256:a'));
    expect((await reader.history('kiln/jq')).map((e) => e.digest)).toEqual(['sha256:a', 'sha256:b']);
    await expect(reader.append(entry('kiln/jq', 'sha256:c', 'r3'))).rejects.toThrow(/read-only/);
    reader.close();
    writer.close();
    const missing = openImageHistory(join(dir, 'none.db'), { readonly: true });
    expect(await missing.listImages()).toEqual([]);
    expect(await missing.history('kiln/jq')).toEqual([]);
    missing.close();
  });

  it('a reader opened before the factory created the file sees the history once it exists', async () => {
    const reader = openImageHistory(join(dir, 'later.db'), { readonly: true });
    expect(await reader.listImages()).toEqual([]);
    const writer = openImageHistory(join(dir, 'later.db'));
    await writer.append(entry('kiln/curl', 'sha256:a', 'r1'));
    expect(await reader.listImages()).toEqual(['kiln/curl']);
    expect((await reader.latest('kiln/curl'))?.digest).toBe('sha256:a');
    await expect(reader.append(entry('kiln/curl', 'sha256:b', 'r2'))).rejects.toThrow(/read-only/);
    reader.close();
    writer.close();
  });
});
