// Tag policies: immutable tags by repository/tag pattern (409 TAG_IMMUTABLE naming the rule) and
// retention (keep the last N tags, keep tags matching a pattern, delete untagged manifests after an
// age) applied by garbage collection, whose dry run reports exactly what the real run removes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import type { RunningRegistry } from '../app/index.ts';
import { runCli } from '../cli/program.ts';
import { silentLogger } from '../lib/index.ts';
import type { ManifestRecord, TagRecord } from '../metadata/index.ts';
import { planGc } from './gc-plan.ts';
import type { GcSnapshot } from './gc-plan.ts';
import { ImmutableTags } from './tag-policy.ts';
import { makeImage, sha256, tempDir, TestClient } from './test-support.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function errorOf(response: Response): Promise<{ code: string; message: string; detail?: Record<string, unknown> }> {
  return ((await response.json()) as { errors: { code: string; message: string; detail?: Record<string, unknown> }[] }).errors[0]!;
}

describe('ImmutableTags', () => {
  it('matches repository and tag globs, first rule wins, and names rules', () => {
    const rules = new ImmutableTags([
      { name: 'releases', repository: 'prod/**', tags: ['v*', 'stable'] },
      { repository: 'team/*', tags: ['v?.?'] },
    ]);
    expect(rules.ruleFor('prod/a/b', 'v1.2.3')?.name).toBe('releases');
    expect(rules.ruleFor('prod/a', 'stable')?.name).toBe('releases');
    expect(rules.ruleFor('prod/a', 'stable-2')).toBeUndefined();
    expect(rules.ruleFor('production/a', 'v1')).toBeUndefined();
    expect(rules.ruleFor('team/app', 'v1.2')?.name).toBe('team/*:v?.?');
    expect(rules.ruleFor('team/app', 'v1.23')).toBeUndefined();
    expect(rules.ruleFor('team/app/sub', 'v1.2')).toBeUndefined();
    // Glob characters only: a dot in a pattern is a dot.
    expect(rules.ruleFor('team/app', 'v1x2')).toBeUndefined();
    expect(new ImmutableTags([]).isEmpty).toBe(true);
  });
});

describe('immutable tags on a running registry', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let running: RunningRegistry;
  let client: TestClient;

  beforeAll(async () => {
    dir = await tempDir('kiln-registry-immutable-');
    await writeFile(
      join(dir.path, 'config.yaml'),
      ['addr: 127.0.0.1:0', 'storage:', '  delete:', '    enabled: true', 'tags:', '  immutable:', '    - name: releases', '      repository: "prod/**"', '      tags: ["v*"]', ''].join('\n'),
    );
    running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
    client = new TestClient(running.url);
  });

  afterAll(async () => {
    await running.close();
    await dir[Symbol.asyncDispose]();
  });

  it('creates an immutable tag once, accepts the same manifest again, refuses to move it with 409 naming the rule', async () => {
    const first = makeImage();
    const second = makeImage();
    expect((await client.pushImage('prod/app', first, 'v1')).status).toBe(201);
    expect((await client.pushImage('prod/app', first, 'v1')).status).toBe(201);
    const moved = await client.pushImage('prod/app', second, 'v1');
    expect(moved.status).toBe(409);
    const error = await errorOf(moved);
    expect(error.code).toBe('TAG_IMMUTABLE');
    expect(error.message).toContain('"releases"');
    expect(error.detail).toEqual({ repository: 'prod/app', tag: 'v1', rule: 'releases' });
    expect((await client.request('HEAD', '/v2/prod/app/manifests/v1')).headers.get('docker-content-digest')).toBe(first.digest);
    // ?tag= on a push by digest is held to the same rule, and nothing of that push is stored.
    const byDigest = await client.request('PUT', `/v2/prod/app/manifests/${second.digest}?tag=latest&tag=v1`, { body: second.manifest, headers: { 'content-type': OCI_MANIFEST } });
    expect(byDigest.status).toBe(409);
    expect((await client.request('HEAD', '/v2/prod/app/manifests/latest')).status).toBe(404);
    expect((await client.request('HEAD', `/v2/prod/app/manifests/${second.digest}`)).status).toBe(404);
    // Tags outside the patterns move freely, in the same repository and elsewhere.
    expect((await client.pushImage('prod/app', first, 'latest')).status).toBe(201);
    expect((await client.pushImage('prod/app', second, 'latest')).status).toBe(201);
    expect((await client.pushImage('dev/app', first, 'v1')).status).toBe(201);
    expect((await client.pushImage('dev/app', second, 'v1')).status).toBe(201);
  });

  it('refuses to delete an immutable tag or the manifest it points at; mutable ones go', async () => {
    const image = makeImage();
    expect((await client.pushImage('prod/keep', image, 'v2')).status).toBe(201);
    const tagDelete = await client.request('DELETE', '/v2/prod/keep/manifests/v2');
    expect(tagDelete.status).toBe(409);
    expect((await errorOf(tagDelete)).code).toBe('TAG_IMMUTABLE');
    const manifestDelete = await client.request('DELETE', `/v2/prod/keep/manifests/${image.digest}`);
    expect(manifestDelete.status).toBe(409);
    expect((await errorOf(manifestDelete)).detail).toEqual({ repository: 'prod/keep', tag: 'v2', rule: 'releases' });
    expect((await client.request('HEAD', '/v2/prod/keep/manifests/v2')).status).toBe(200);
    const other = makeImage();
    expect((await client.pushImage('prod/keep', other, 'nightly')).status).toBe(201);
    expect((await client.request('DELETE', '/v2/prod/keep/manifests/nightly')).status).toBe(202);
    expect((await client.request('DELETE', `/v2/prod/keep/manifests/${other.digest}`)).status).toBe(202);
    // An immutable pattern naming a tag that does not exist: 404 as usual, not 409.
    expect((await client.request('DELETE', '/v2/prod/keep/manifests/v9')).status).toBe(404);
  });
});

describe('planGc with retention', () => {
  const record = (repository: string, seed: string, createdAt = 0): ManifestRecord => ({ repository, digest: sha256(seed), mediaType: OCI_MANIFEST, size: 1, blobs: [], children: [], createdAt });
  const tag = (repository: string, name: string, seed: string, updatedAt: number): TagRecord => ({ repository, tag: name, digest: sha256(seed), updatedAt });
  const snapshot = (manifests: ManifestRecord[], tags: TagRecord[]): GcSnapshot => ({ manifests, tags, links: [], blobs: [], sessions: [], staged: [] });
  const base = { deleteUntagged: true, cutoff: 1000, uploadCutoff: 0 };

  it('keeps the N newest tags and those matching keepTags, deletes the rest with the manifests only they held', () => {
    const manifests = ['a', 'b', 'c', 'd', 'e'].map((seed) => record('ci/app', seed));
    const tags = [tag('ci/app', 'build-1', 'a', 10), tag('ci/app', 'build-2', 'b', 20), tag('ci/app', 'build-3', 'c', 30), tag('ci/app', 'v1.0', 'd', 5), tag('ci/app', 'build-4', 'e', 40), tag('ci/app', 'also-e', 'e', 1)];
    const plan = planGc(snapshot(manifests, tags), { ...base, retention: [{ repository: 'ci/**', keepLast: 2, keepTags: ['v*'] }] });
    expect(plan.tags).toEqual([
      { repository: 'ci/app', tag: 'also-e', digest: sha256('e') },
      { repository: 'ci/app', tag: 'build-1', digest: sha256('a') },
      { repository: 'ci/app', tag: 'build-2', digest: sha256('b') },
    ]);
    expect(plan.manifests.map((item) => item.digest).sort()).toEqual([sha256('a'), sha256('b')].sort());
  });

  it('never deletes immutable tags or tags set within the grace period, and leaves repositories without a policy alone', () => {
    const manifests = ['a', 'b', 'c'].map((seed) => record('ci/app', seed)).concat([record('other', 'x')]);
    const tags = [tag('ci/app', 'v1', 'a', 10), tag('ci/app', 'old', 'b', 20), tag('ci/app', 'fresh', 'c', 1000), tag('other', 'old', 'x', 1)];
    const plan = planGc(snapshot(manifests, tags), { ...base, retention: [{ repository: 'ci/*', keepLast: 0 }], immutableTags: [{ repository: '**', tags: ['v*'] }] });
    expect(plan.tags.map((item) => item.tag)).toEqual(['old']);
    expect(plan.tags[0]!.repository).toBe('ci/app');
  });

  it('keeps a digest-named tag (cosign .sig, referrers fallback) while the manifest it names stays, and drops it with that manifest', () => {
    const kept = record('ci/app', 'kept');
    const dropped = record('ci/app', 'dropped');
    const sigKept = record('ci/app', 'sig-kept');
    const sigDropped = record('ci/app', 'sig-dropped');
    const digestTag = (target: ManifestRecord, suffix: string) => `${target.digest.replace(':', '-')}${suffix}`;
    const tags = [
      tag('ci/app', 'new', 'kept', 50),
      tag('ci/app', 'old', 'dropped', 10),
      tag('ci/app', digestTag(kept, '.sig'), 'sig-kept', 1),
      tag('ci/app', digestTag(dropped, '.sig'), 'sig-dropped', 1),
      tag('ci/app', digestTag(record('ci/app', 'never-pushed'), ''), 'sig-kept', 1),
    ];
    const plan = planGc(snapshot([kept, dropped, sigKept, sigDropped], tags), { ...base, retention: [{ repository: '**', keepLast: 1 }] });
    expect(plan.tags.map((item) => item.tag).sort()).toEqual([digestTag(dropped, '.sig'), 'old'].sort());
    expect(plan.manifests.map((item) => item.digest).sort()).toEqual([dropped.digest, sigDropped.digest].sort());
  });

  it('deletes untagged manifests only once older than the policy age, even with deleteUntagged off', () => {
    const manifests = [record('ci/app', 'old', 100), record('ci/app', 'young', 600), record('other', 'old-elsewhere', 100)];
    const plan = planGc(snapshot(manifests, []), { ...base, deleteUntagged: false, retention: [{ repository: 'ci/**', untaggedCutoff: 500 }] });
    expect(plan.manifests).toEqual([{ repository: 'ci/app', digest: sha256('old'), olderThan: 500 }]);
    // A policy age shorter than the grace period does not shorten the grace period.
    const short = planGc(snapshot(manifests, []), { ...base, cutoff: 50, retention: [{ repository: 'ci/**', untaggedCutoff: 500 }] });
    expect(short.manifests).toEqual([]);
  });
});

describe('kiln registry gc with retention', () => {
  it('reports in a dry run exactly the tags, manifests and blobs the real run then removes', async () => {
    await using dir = await tempDir('kiln-registry-retention-');
    await writeFile(
      join(dir.path, 'config.yaml'),
      [
        'tags:',
        '  immutable:',
        '    - repository: "ci/**"',
        '      tags: ["release-*"]',
        'gc:',
        '  retention:',
        '    - repository: "ci/**"',
        '      keepLast: 2',
        '      keepTags: ["stable"]',
        '    - repository: "aged/**"',
        '      untaggedAfter: 1h',
        '  deleteUntagged: false',
        '',
      ].join('\n'),
    );
    const config = await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    const running = await startRegistry(config, silentLogger);
    const client = new TestClient(running.url);
    const images = Array.from({ length: 6 }, () => makeImage());
    const names = ['build-1', 'stable', 'release-1', 'build-2', 'build-3', 'build-4'];
    for (const [i, name] of names.entries()) {
      expect((await client.pushImage('ci/app', images[i]!, name)).status).toBe(201);
      await pause(5);
    }
    const untagged = makeImage();
    expect((await client.pushImage('aged/app', untagged, untagged.digest)).status).toBe(201);
    await running.close();
    const out: string[] = [];
    const context = { stdout: (text: string) => out.push(text), stderr: () => {}, env: {}, cwd: dir.path, isTTY: false };
    const gc = async (...flags: string[]) => {
      expect(await runCli(['registry', 'gc', '--config', join(dir.path, 'config.yaml'), '--data-dir', dir.path, '--json', '--grace-period', '0', ...flags], context)).toBe(0);
      const { dryRun, ...report } = JSON.parse(out.pop()!) as { dryRun: boolean; tagsDeleted: { tag: string }[]; manifestsDeleted: { digest: string }[]; blobsDeleted: string[] };
      return { dryRun, report: { ...report, blobsDeleted: [...report.blobsDeleted].sort() } };
    };
    const dry = await gc('--dry-run');
    expect(dry.dryRun).toBe(true);
    // Kept: the two newest (build-3, build-4), the pattern (stable) and the immutable release-1.
    expect(dry.report.tagsDeleted).toEqual([
      { repository: 'ci/app', tag: 'build-1' },
      { repository: 'ci/app', tag: 'build-2' },
    ]);
    expect(new Set(dry.report.manifestsDeleted.map((item) => item.digest))).toEqual(new Set([images[0]!.digest, images[3]!.digest]));
    // The untagged manifest of aged/app is younger than its policy's hour: kept.
    expect(dry.report.manifestsDeleted.map((item) => item.digest)).not.toContain(untagged.digest);
    expect(dry.report.blobsDeleted).toEqual([images[0]!.digest, images[3]!.digest, ...[images[0]!, images[3]!].flatMap((image) => image.blobs.map((blob) => sha256(blob)))].sort());
    const real = await gc();
    expect(real.dryRun).toBe(false);
    expect(real.report).toEqual(dry.report);
    const again = await runCli(['registry', 'gc', '--config', join(dir.path, 'config.yaml'), '--data-dir', dir.path, '--grace-period', '0'], context);
    expect(again).toBe(0);
    expect(out.pop()).toMatch(/^removed 0 tags \(retention\), 0 manifests, 0 blob links, 0 blobs \(0 bytes\), 0 uploads; 5 manifests live\n$/);
    // The registry serves what retention kept and forgets what it removed.
    const after = await startRegistry(config, silentLogger);
    try {
      const check = new TestClient(after.url);
      const tags = (await (await check.request('GET', '/v2/ci/app/tags/list')).json()) as { tags: string[] };
      expect(tags.tags).toEqual(['build-3', 'build-4', 'release-1', 'stable']);
      expect((await check.request('HEAD', `/v2/ci/app/manifests/${images[0]!.digest}`)).status).toBe(404);
    } finally {
      await after.close();
    }
  });
});
