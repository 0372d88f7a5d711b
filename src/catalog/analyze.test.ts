import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { createImageAnalyzer } from './analyze.ts';

describe('createImageAnalyzer', () => {
  it('does not start an analysis that just failed again on every page view, only after a minute', async () => {
    let reads = 0;
    const blobs = { read: () => ((reads += 1), Promise.reject(new Error('storage unreachable'))) } as unknown as BlobStore;
    let clock = 1_000_000;
    const analyzer = createImageAnalyzer({ blobs, client: {} as RegistryClient, registryHost: 'registry.test', logger: silentLogger, now: () => clock });
    const digest = `sha256:${'a'.repeat(64)}`;
    const settle = () => new Promise((done) => setTimeout(done, 20));
    expect(analyzer.peek('team/app', digest)).toBeUndefined();
    await settle();
    expect(reads).toBe(1);
    for (let view = 0; view < 5; view++) analyzer.peek('team/app', digest);
    await settle();
    expect(reads).toBe(1);
    clock += 60_000;
    analyzer.peek('team/app', digest);
    await settle();
    expect(reads).toBe(2);
  });
});
