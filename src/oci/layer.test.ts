import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LAYER_GZIP_BLOCK, parallelGzip } from './layer.ts';

describe('parallelGzip', () => {
  it('round-trips across block boundaries and is deterministic', async () => {
    const text = Buffer.from('kiln layer '.repeat(300_000));
    const data = Buffer.concat([text, randomBytes(LAYER_GZIP_BLOCK + 17), text]);
    const [a, b] = await Promise.all([parallelGzip(data), parallelGzip(data)]);
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(gunzipSync(a), data)).toBe(0);
    // the dictionary keeps repeated text compressible across blocks
    expect(a.length).toBeLessThan(data.length - text.length * 2 + 64 * 1024);
  });

  it('round-trips arbitrary sizes, including empty input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 * LAYER_GZIP_BLOCK }), async (size) => {
        const data = Buffer.alloc(size, 'ab');
        expect(Buffer.compare(gunzipSync(await parallelGzip(data)), data)).toBe(0);
      }),
      { numRuns: 12 },
    );
  });
});
