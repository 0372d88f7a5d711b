// The pull-through cache against an in-process upstream: what it stores, that it trusts no byte the
// upstream sends without checking it, and when it asks the upstream again.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '../lib/index.ts';
import { silentLogger } from '../lib/index.ts';
import { SqliteMetadataStore } from '../metadata/index.ts';
import { FsBlobStore } from '../storage/index.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { PullThroughCache } from './pull-through.ts';
import type { PullThroughRule, Upstream } from './pull-through.ts';
import { makeImage, sha256, tempDir } from './test-support.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
let dir: Awaited<ReturnType<typeof tempDir>>;
let metadata: SqliteMetadataStore;
let blobs: FsBlobStore;
let clock: number;

beforeEach(async () => {
  dir = await tempDir('kiln-pull-through-');
  metadata = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
  blobs = new FsBlobStore(join(dir.path, 'storage'));
  await blobs.init();
  clock = 1_000_000;
});

afterEach(async () => {
  await metadata.close();
  await dir[Symbol.asyncDispose]();
});

/** An upstream holding `images` under `library/app` by tag, counting manifest requests. */
function fakeUpstream(tags: Map<string, ReturnType<typeof makeImage>>, options: { corrupt?: Digest; down?: () => boolean } = {}): Upstream & { asked: string[] } {
  const asked: string[] = [];
  const byDigest = () => new Map([...tags.values()].map((image) => [image.digest, image]));
  return {
    name: 'fake-upstream',
    asked,
    manifest: async (repository, reference) => {
      asked.push(`${repository}:${reference}`);
      if (options.down?.()) throw new Error('connection refused');
      const image = reference.includes(':') ? byDigest().get(reference as Digest) : tags.get(reference);
      return image && { bytes: image.manifest, digest: image.digest, mediaType: OCI_MANIFEST };
    },
    blob: (repository, digest) => {
      const blob = [...tags.values()].flatMap((image) => image.blobs).find((candidate) => sha256(candidate) === digest)!;
      return (async function* () {
        yield digest === options.corrupt ? Buffer.from('not what was asked for') : blob;
      })();
    },
  };
}

function cache(upstream: Upstream): { cache: PullThroughCache; rule: PullThroughRule } {
  const rule: PullThroughRule = { repository: 'mirror/**', upstream, stripPrefix: 'mirror/', addPrefix: 'library/', revalidateAfterMs: 60_000 };
  return { rule, cache: new PullThroughCache([rule], { blobs, metadata, digestLocks: new KeyedMutex(), logger: silentLogger, now: () => clock }) };
}

describe('PullThroughCache', () => {
  it('stores manifest, tag and blobs under the local name, asking the upstream under its own name', async () => {
    const image = makeImage();
    const upstream = fakeUpstream(new Map([['v1', image]]));
    const { cache: mirror, rule } = cache(upstream);
    expect(mirror.ruleFor('mirror/app')).toBe(rule);
    expect(mirror.ruleFor('other/app')).toBeUndefined();
    await mirror.refresh(rule, 'mirror/app', 'v1');
    expect(upstream.asked).toEqual(['library/app:v1']);
    expect(await metadata.resolveTag('mirror/app', 'v1')).toBe(image.digest);
    for (const blob of image.blobs) expect((await blobs.read(sha256(blob))).equals(blob)).toBe(true);
    // Within the revalidation age: not asked again. After it: asked, and nothing changes if the tag did not move.
    await mirror.refresh(rule, 'mirror/app', 'v1');
    expect(upstream.asked).toHaveLength(1);
    clock += 60_000;
    await mirror.refresh(rule, 'mirror/app', 'v1');
    expect(upstream.asked).toHaveLength(2);
    // By digest, once stored, never asked.
    await mirror.refresh(rule, 'mirror/app', image.digest);
    expect(upstream.asked).toHaveLength(2);
  });

  it('remembers upstream checks only for tags that exist, so made-up tag names do not grow its memory', async () => {
    const image = makeImage();
    const { cache: mirror, rule } = cache(fakeUpstream(new Map([['v1', image]])));
    await mirror.refresh(rule, 'mirror/app', 'v1');
    for (let i = 0; i < 50; i++) await mirror.refresh(rule, 'mirror/app', `made-up-${i}`);
    expect(mirror.rememberedTags).toBe(1);
  });

  it('refuses a blob the upstream sends with the wrong bytes, and stores no manifest or tag', async () => {
    const image = makeImage();
    const { cache: mirror, rule } = cache(fakeUpstream(new Map([['v1', image]]), { corrupt: sha256(image.layer) }));
    await expect(mirror.refresh(rule, 'mirror/app', 'v1')).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await metadata.resolveTag('mirror/app', 'v1')).toBeUndefined();
    expect(await metadata.getManifest('mirror/app', image.digest)).toBeUndefined();
    expect(await metadata.blobLink('mirror/app', sha256(image.layer))).toBeUndefined();
  });

  it('keeps serving the cached tag while the upstream is down, and answers 503 for what it never cached', async () => {
    const image = makeImage();
    let down = false;
    const { cache: mirror, rule } = cache(fakeUpstream(new Map([['v1', image]]), { down: () => down }));
    await mirror.refresh(rule, 'mirror/app', 'v1');
    down = true;
    clock += 120_000;
    await mirror.refresh(rule, 'mirror/app', 'v1');
    expect(await metadata.resolveTag('mirror/app', 'v1')).toBe(image.digest);
    await expect(mirror.refresh(rule, 'mirror/app', 'v2')).rejects.toMatchObject({ code: 'UNAVAILABLE', httpStatus: 503 });
  });
});
