import { createHash, randomBytes } from 'node:crypto';
import { constants, crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compressLayer, LAYER_GZIP_BLOCK, LAYER_GZIP_OPTIONS, parallelGzip, ParallelGzipWriter } from './layer.ts';

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

describe('ParallelGzipWriter', () => {
  it('gives the same bytes however the input is split into writes (property)', async () => {
    const data = Buffer.concat([Buffer.from('kiln layer '.repeat(200_000)), randomBytes(LAYER_GZIP_BLOCK / 2)]);
    const whole = await parallelGzip(data);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 40 }), async (cuts) => {
        const writer = new ParallelGzipWriter();
        let previous = 0;
        for (const cut of [...cuts.sort((a, b) => a - b), data.length]) {
          writer.write(data.subarray(previous, cut));
          previous = cut;
        }
        const done = await writer.end();
        expect(Buffer.compare(done.gzip, whole)).toBe(0);
        expect(done.sha256).toBe(createHash('sha256').update(data).digest('hex'));
        expect(done.length).toBe(data.length);
      }),
      { numRuns: 10 },
    );
  });

  it('ends a stream of exactly whole blocks with the last full block, as the one-shot form does', async () => {
    const data = Buffer.alloc(2 * LAYER_GZIP_BLOCK, 'xy');
    const writer = new ParallelGzipWriter();
    writer.write(data.subarray(0, LAYER_GZIP_BLOCK));
    writer.write(data.subarray(LAYER_GZIP_BLOCK));
    const { gzip } = await writer.end();
    expect(Buffer.compare(gzip, await parallelGzip(data))).toBe(0);
    expect(Buffer.compare(gunzipSync(gzip), data)).toBe(0);
  });

  it('gives the bytes of the pgzip scheme computed independently with zlib defaults (output buffer size does not matter)', async () => {
    const data = Buffer.concat([randomBytes(LAYER_GZIP_BLOCK), Buffer.from('kiln '.repeat(400_000)), randomBytes(300_000)]);
    const pieces: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])];
    for (let start = 0; start < data.length; start += LAYER_GZIP_BLOCK) {
      const end = Math.min(start + LAYER_GZIP_BLOCK, data.length);
      pieces.push(
        deflateRawSync(data.subarray(start, end), {
          ...LAYER_GZIP_OPTIONS,
          ...(start > 0 ? { dictionary: data.subarray(start - 32 * 1024, start) } : {}),
          finishFlush: end === data.length ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        }),
      );
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(data) >>> 0, 0);
    trailer.writeUInt32LE(data.length, 4);
    expect(Buffer.compare(await parallelGzip(data), Buffer.concat([...pieces, trailer]))).toBe(0);
  });

  it('refuses writes after the end', async () => {
    const writer = new ParallelGzipWriter();
    writer.write(Buffer.from('a'));
    await writer.end();
    expect(() => writer.write(Buffer.from('b'))).toThrow(/after end/);
  });
});

describe('compressLayer', () => {
  it('reports the diff_id of the uncompressed tar and the digest of the gzip bytes', async () => {
    const tar = randomBytes(3 * LAYER_GZIP_BLOCK + 5);
    const layer = await compressLayer(tar);
    expect(layer.diffId).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    expect(layer.digest).toBe(`sha256:${createHash('sha256').update(layer.data).digest('hex')}`);
    expect(layer.uncompressedSize).toBe(tar.length);
    expect(Buffer.compare(gunzipSync(layer.data), tar)).toBe(0);
  });
});
