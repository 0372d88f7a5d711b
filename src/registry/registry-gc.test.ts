// Garbage collection: what is marked and swept, referrer awareness, grace periods, and safety while
// pushes run; plus `kiln registry gc` over a data directory.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import type { RunningRegistry } from '../app/index.ts';
import { runCli } from '../cli/program.ts';
import { silentLogger } from '../lib/index.ts';
import type { ManifestRecord, TagRecord } from '../metadata/index.ts';
import { planGc } from './gc-plan.ts';
import type { GcSnapshot } from './gc-plan.ts';
import { makeImage, randomBytes, sha256, tempDir, TestClient } from './test-support.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('planGc', () => {
  const record = (digest: string, extra: Partial<ManifestRecord> = {}): ManifestRecord => ({
    repository: 'r',
    digest: sha256(digest),
    mediaType: OCI_MANIFEST,
    size: 1,
    blobs: [],
    children: [],
    createdAt: 0,
    ...extra,
  });
  const tag = (digest: string): TagRecord => ({ repository: 'r', tag: 't', digest: sha256(digest), updatedAt: 0 });
  const snapshot = (manifests: ManifestRecord[], tags: TagRecord[], linkSeeds: string[], extra: Partial<GcSnapshot> = {}): GcSnapshot => ({
    manifests,
    tags,
    links: linkSeeds.map((seed) => ({ repository: 'r', digest: sha256(seed), size: 1, linkedAt: 0 })),
    blobs: [],
    sessions: [],
    staged: [],
    ...extra,
  });
  const options = { deleteUntagged: true, cutoff: 100, uploadCutoff: 100 };

  it('keeps tagged manifests, index children and referrers of live subjects; sweeps the rest, referrers last', () => {
    const manifests = [
      record('child', { blobs: [sha256('layer')] }),
      record('index', { children: [sha256('child')] }),
      record('sig', { subject: sha256('index') }),
      record('sig-of-sig', { subject: sha256('sig') }),
      record('orphan-sig', { subject: sha256('gone') }),
      record('untagged', { blobs: [sha256('old-layer')] }),
    ];
    const plan = planGc(snapshot(manifests, [tag('index')], ['layer', 'old-layer', 'loose']), options);
    expect(plan.manifests.map((item) => item.digest)).toEqual([sha256('orphan-sig'), sha256('untagged')]);
    expect(plan.blobLinks.map((item) => item.digest)).toEqual([sha256('old-layer'), sha256('loose')]);
    expect(plan.liveManifests).toBe(4);
    const keepUntagged = planGc(snapshot(manifests, [tag('index')], ['layer', 'old-layer', 'loose']), { ...options, deleteUntagged: false });
    expect(keepUntagged.manifests).toEqual([]);
    expect(keepUntagged.blobLinks.map((item) => item.digest)).toEqual([sha256('loose')]);
  });

  it('removes a dead index before its children and a dead subject before its referrers, in one pass', () => {
    const manifests = [
      record('child', { blobs: [sha256('layer')] }),
      record('sig', { subject: sha256('index') }),
      record('index', { children: [sha256('child')] }),
    ];
    const plan = planGc(snapshot(manifests, [], ['layer']), options);
    expect(plan.manifests.map((item) => item.digest)).toEqual([sha256('index'), sha256('child'), sha256('sig')]);
    expect(plan.blobLinks.map((item) => item.digest)).toEqual([sha256('layer')]);
    expect(plan.liveManifests).toBe(0);
  });

  it('spares what is newer than the cutoff, and what such a manifest holds', () => {
    const manifests = [record('child', { blobs: [sha256('layer')] }), record('index', { children: [sha256('child')], createdAt: 100 })];
    const blobs = [
      { digest: sha256('layer'), size: 5, modifiedAt: 0 },
      { digest: sha256('loose'), size: 7, modifiedAt: 0 },
      { digest: sha256('fresh'), size: 9, modifiedAt: 100 },
    ];
    const plan = planGc(snapshot(manifests, [], ['layer'], { blobs }), options);
    // The index is within the grace period, so it stays and keeps its child (and the child's layer).
    expect(plan.manifests).toEqual([]);
    expect(plan.blobLinks).toEqual([]);
    expect(plan.blobs).toEqual([{ digest: sha256('loose'), size: 7 }]);
  });

  it('counts blob files freed by the manifests and links it removes, but not a manifest still stored', () => {
    const manifests = [record('old', { blobs: [sha256('layer')] }), record('kept', { blobs: [sha256('shared')] })];
    const blobs = ['old', 'kept', 'layer', 'shared'].map((seed) => ({ digest: sha256(seed), size: seed.length, modifiedAt: 0 }));
    const plan = planGc(snapshot(manifests, [{ repository: 'r', tag: 'v1', digest: sha256('kept'), updatedAt: 0 }], ['layer', 'shared'], { blobs }), options);
    expect(plan.blobs.map((blob) => blob.digest).sort()).toEqual([sha256('old'), sha256('layer')].sort());
  });

  it('expires idle sessions and staged bytes without a session, and only those', () => {
    const plan = planGc(
      snapshot([], [], [], {
        sessions: [
          { id: 'idle-session', repository: 'r', offset: 0, createdAt: 0, updatedAt: 10 },
          { id: 'busy-session', repository: 'r', offset: 0, createdAt: 0, updatedAt: 100 },
        ],
        staged: [
          { id: 'idle-session', size: 1, modifiedAt: 10 },
          { id: 'busy-session', size: 1, modifiedAt: 10 },
          { id: 'orphan-bytes', size: 1, modifiedAt: 10 },
          { id: 'fresh-orphan', size: 1, modifiedAt: 100 },
        ],
      }),
      { ...options, uploadsOnly: true },
    );
    expect(plan.uploads).toEqual([
      { id: 'idle-session', hasSession: true },
      { id: 'orphan-bytes', hasSession: false },
    ]);
  });
});

describe('garbage collection on a running registry', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let running: RunningRegistry;
  let client: TestClient;

  beforeAll(async () => {
    dir = await tempDir('kiln-registry-gc-');
    await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\nstorage:\n  delete:\n    enabled: true\ngc:\n  gracePeriod: 0\n');
    running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
    client = new TestClient(running.url);
  });

  afterAll(async () => {
    await running.close();
    await dir[Symbol.asyncDispose]();
  });

  it('sweeps untagged manifests and unreferenced blobs, keeps tagged images, indexes and referrers', async () => {
    const kept = makeImage();
    const dropped = makeImage();
    const child = makeImage();
    await client.pushImage('gc/app', kept, 'keep');
    await client.pushImage('gc/app', dropped, 'drop');
    await client.pushImage('gc/app', child, child.digest);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length }] }));
    expect((await client.request('PUT', '/v2/gc/app/manifests/multi', { body: index, headers: { 'content-type': OCI_INDEX } })).status).toBe(201);
    const signature = makeImage({ subject: { mediaType: OCI_MANIFEST, digest: kept.digest, size: kept.manifest.length }, artifactType: 'application/x-sig' });
    await client.pushImage('gc/app', signature, signature.digest);
    const loose = randomBytes(300);
    await client.pushBlob('gc/app', loose);
    await client.request('DELETE', '/v2/gc/app/manifests/drop');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const report = await running.collectGarbage();
    expect(report.manifestsDeleted.map((item) => item.digest)).toEqual([dropped.digest]);
    expect(report.blobsDeleted.sort()).toEqual([sha256(loose), ...dropped.blobs.map((blob) => sha256(blob)), dropped.digest].sort());
    for (const image of [kept, child, signature]) {
      expect((await client.request('GET', `/v2/gc/app/manifests/${image.digest}`)).status).toBe(200);
      for (const blob of image.blobs) expect((await client.request('HEAD', `/v2/gc/app/blobs/${sha256(blob)}`)).status).toBe(200);
    }
    expect((await client.request('GET', `/v2/gc/app/manifests/${dropped.digest}`)).status).toBe(404);
    expect((await client.request('HEAD', `/v2/gc/app/blobs/${sha256(dropped.layer)}`)).status).toBe(404);
    const referrers = (await (await client.request('GET', `/v2/gc/app/referrers/${kept.digest}`)).json()) as { manifests: unknown[] };
    expect(referrers.manifests).toHaveLength(1);
  });

  it('spares everything within the grace period', async () => {
    const image = makeImage();
    await client.pushImage('gc/grace', image, image.digest);
    const report = await running.collectGarbage({ gracePeriodMs: 60_000 });
    expect(report.manifestsDeleted).toEqual([]);
    expect(report.blobsDeleted).toEqual([]);
    expect((await client.request('GET', `/v2/gc/grace/manifests/${image.digest}`)).status).toBe(200);
  });

  it('never breaks an image re-pushed while a collection sweeps its old blobs', async () => {
    const images = Array.from({ length: 12 }, () => makeImage({ layerSize: 50_000 }));
    // First make every blob garbage: pushed, then untagged, older than the grace period.
    for (const [i, image] of images.entries()) await client.pushImage('gc/busy', image, `t${i}`);
    for (const [i] of images.entries()) await client.request('DELETE', `/v2/gc/busy/manifests/t${i}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    let collecting = true;
    const collector = (async () => {
      let passes = 0;
      while (collecting) {
        await running.collectGarbage({ gracePeriodMs: 200 });
        passes++;
      }
      return passes;
    })();
    const statuses = await Promise.all(images.map(async (image, i) => (await client.pushImage('gc/busy', image, `t${i}`)).status));
    collecting = false;
    expect(await collector).toBeGreaterThan(0);
    // A push may lose a race with GC only by being refused (the client retries); an accepted one is whole.
    for (const [i, image] of images.entries()) {
      if (statuses[i] !== 201) continue;
      expect(Buffer.from(await (await client.request('GET', `/v2/gc/busy/manifests/t${i}`)).arrayBuffer()).equals(image.manifest)).toBe(true);
      for (const blob of image.blobs) {
        const response = await client.request('GET', `/v2/gc/busy/blobs/${sha256(blob)}`);
        expect(Buffer.from(await response.arrayBuffer()).equals(blob)).toBe(true);
      }
    }
    expect(statuses.filter((status) => status === 201).length).toBeGreaterThan(0);
    const after = await running.collectGarbage({ gracePeriodMs: 0, deleteUntagged: true });
    expect(after.manifestsDeleted.filter((item) => item.repository === 'gc/busy')).toEqual([]);
  });
});

describe('kiln registry gc', () => {
  it('reports in JSON and removes unreferenced data from a data directory', async () => {
    await using dir = await tempDir('kiln-registry-gc-cli-');
    const config = await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    const running = await startRegistry(config, silentLogger);
    const client = new TestClient(running.url);
    const image = makeImage();
    await client.pushImage('cli/app', image, image.digest);
    await running.close();
    const out: string[] = [];
    const context = { stdout: (text: string) => out.push(text), stderr: () => {}, env: {}, cwd: dir.path, isTTY: false };
    expect(await runCli(['registry', 'gc', '--data-dir', dir.path, '--grace-period', '0', '--dry-run', '--json'], context)).toBe(0);
    const dry = JSON.parse(out.pop()!) as { dryRun: boolean; manifestsDeleted: { digest: string }[]; blobsDeleted: string[] };
    expect(dry.dryRun).toBe(true);
    expect(dry.manifestsDeleted.map((item) => item.digest)).toEqual([image.digest]);
    expect(await runCli(['registry', 'gc', '--data-dir', dir.path, '--grace-period', '0', '--json'], context)).toBe(0);
    const real = JSON.parse(out.pop()!) as { blobsDeleted: string[] };
    expect(real.blobsDeleted.sort()).toEqual([image.digest, ...image.blobs.map((blob) => sha256(blob))].sort());
    expect(await runCli(['registry', 'gc', '--data-dir', dir.path, '--grace-period', 'soon'], context)).toBe(2);
  });

  it('predicts in a dry run exactly what the real run then removes, with and without a grace period', async () => {
    await using dir = await tempDir('kiln-registry-gc-dry-');
    await writeFile(join(dir.path, 'config.yaml'), 'storage:\n  delete:\n    enabled: true\n');
    const config = await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    const running = await startRegistry(config, silentLogger);
    const client = new TestClient(running.url);
    const kept = makeImage();
    const untagged = makeImage();
    const child = makeImage();
    await client.pushImage('dry/app', kept, 'v1');
    await client.pushImage('dry/app', untagged, untagged.digest);
    await client.pushImage('dry/app', child, child.digest);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length }] }));
    expect((await client.request('PUT', '/v2/dry/app/manifests/multi', { body: index, headers: { 'content-type': OCI_INDEX } })).status).toBe(201);
    const signature = makeImage({ subject: { mediaType: OCI_INDEX, digest: sha256(index), size: index.length }, artifactType: 'application/x-sig' });
    await client.pushImage('dry/app', signature, signature.digest);
    expect((await client.request('DELETE', '/v2/dry/app/manifests/multi')).status).toBe(202);
    await client.pushBlob('dry/app', randomBytes(300));
    await running.close();
    const out: string[] = [];
    const context = { stdout: (text: string) => out.push(text), stderr: () => {}, env: {}, cwd: dir.path, isTTY: false };
    const gc = async (...flags: string[]) => {
      expect(await runCli(['registry', 'gc', '--data-dir', dir.path, '--json', ...flags], context)).toBe(0);
      const { dryRun, ...report } = JSON.parse(out.pop()!) as { dryRun: boolean; blobsDeleted: string[] };
      return { dryRun, report: { ...report, blobsDeleted: [...report.blobsDeleted].sort() } };
    };
    // The default grace period (one hour) spares everything just pushed: both runs say so.
    const dryDefault = await gc('--dry-run');
    expect(dryDefault.dryRun).toBe(true);
    expect(dryDefault.report).toMatchObject({ manifestsDeleted: [], blobLinksRemoved: 0, blobsDeleted: [] });
    expect((await gc()).report).toEqual(dryDefault.report);
    // Without a grace period: the untagged image, the untagged index, its child and its referrer go in
    // one pass, with every blob only they held.
    const dryNow = await gc('--dry-run', '--grace-period', '0');
    expect(dryNow.report.blobsDeleted.length).toBeGreaterThan(0);
    expect(new Set((dryNow.report as unknown as { manifestsDeleted: { digest: string }[] }).manifestsDeleted.map((item) => item.digest))).toEqual(new Set([untagged.digest, sha256(index), child.digest, signature.digest]));
    const realNow = await gc('--grace-period', '0');
    expect(realNow.dryRun).toBe(false);
    expect(realNow.report).toEqual(dryNow.report);
    // And a second pass finds nothing left.
    expect((await gc('--dry-run', '--grace-period', '0s')).report).toMatchObject({ manifestsDeleted: [], blobLinksRemoved: 0, blobsDeleted: [], bytesFreed: 0 });
  });

  it('refuses a data directory with no registry data instead of creating one', async () => {
    await using dir = await tempDir('kiln-registry-gc-empty-');
    const errors: string[] = [];
    const context = { stdout: () => {}, stderr: (text: string) => errors.push(text), env: {}, cwd: dir.path, isTTY: false };
    const missing = join(dir.path, 'nothing-here');
    expect(await runCli(['registry', 'gc', '--data-dir', missing, '--json'], context)).toBe(1);
    expect(errors.join('')).toContain(`no registry data at ${missing}`);
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('refuses to sweep a data directory a live server is using', async () => {
    await using dir = await tempDir('kiln-registry-gc-live-');
    const previous = await startRegistry(await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} }), silentLogger);
    await previous.close();
    // A live server's pid (the test runner's parent stands in for one).
    await writeFile(join(dir.path, 'serve.pid'), `${process.ppid}\n`);
    const errors: string[] = [];
    const context = { stdout: () => {}, stderr: (text: string) => errors.push(text), env: {}, cwd: dir.path, isTTY: false };
    expect(await runCli(['registry', 'gc', '--data-dir', dir.path, '--json'], context)).toBe(1);
    expect(errors.join('')).toContain(`a registry server (pid ${process.ppid}) is using this data directory`);
    expect(await runCli(['registry', 'gc', '--data-dir', dir.path, '--dry-run', '--json'], context)).toBe(0);
  });
});

describe('online garbage collection', () => {
  it('runs on its interval inside the server', async () => {
    await using dir = await tempDir('kiln-registry-gc-online-');
    await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\ngc:\n  online: true\n  interval: 1\n  gracePeriod: 0\n');
    const running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
    try {
      const client = new TestClient(running.url);
      const loose = randomBytes(100);
      await client.pushBlob('online/app', loose);
      let metrics = '';
      for (let i = 0; i < 50 && !/kiln_registry_gc_runs_total [1-9]/.test(metrics); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        metrics = await (await fetch(`${running.url}/metrics`)).text();
      }
      expect(metrics).toMatch(/kiln_registry_gc_runs_total [1-9]/);
      expect((await client.request('HEAD', `/v2/online/app/blobs/${sha256(loose)}`)).status).toBe(404);
    } finally {
      await running.close();
    }
  });
});

describe('upload expiry', () => {
  it('expires idle sessions without touching content when run uploads-only', async () => {
    await using dir = await tempDir('kiln-registry-gc-uploads-');
    const running = await startRegistry(await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} }), silentLogger);
    try {
      const client = new TestClient(running.url);
      const loose = randomBytes(100);
      await client.pushBlob('uploads/app', loose);
      const start = await client.request('POST', '/v2/uploads/app/blobs/uploads/');
      const location = start.headers.get('location')!;
      const report = await running.collectGarbage({ uploadsOnly: true, uploadExpiryMs: 0, gracePeriodMs: 0 });
      expect(report.uploadsExpired).toEqual([location.split('/').pop()]);
      expect((await client.request('GET', location)).status).toBe(404);
      expect((await client.request('HEAD', `/v2/uploads/app/blobs/${sha256(loose)}`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
