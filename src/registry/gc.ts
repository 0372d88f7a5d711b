import type { Digest, Logger } from '../lib/index.ts';
import type { MetadataStore } from '../metadata/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { planGc } from './gc-plan.ts';
import type { GcPlan, GcSnapshot } from './gc-plan.ts';
import type { KeyedLock } from './keyed-mutex.ts';
import type { ImmutableTagRule } from './tag-policy.ts';

/** A retention policy from the config file (`gc.retention`); the first one matching a repository applies. */
export interface RetentionPolicy {
  /** Repository glob (`*` within a component, `**` across components). */
  repository: string;
  /** Keep the N most recently pushed tags. */
  keepLast?: number;
  /** Keep tags matching these globs. */
  keepTags?: string[];
  /** Delete untagged manifests of these repositories once older than this (ms). */
  untaggedAfterMs?: number;
}

/** Garbage-collection policy (config file `gc:`). */
export interface GcOptions {
  /** Remove manifests no tag, index or live subject reaches. */
  deleteUntagged: boolean;
  /** Nothing written, linked or touched within this many milliseconds is removed (in-flight pushes). */
  gracePeriodMs: number;
  /** Upload sessions idle this long are cancelled. */
  uploadExpiryMs: number;
  /** Report only. */
  dryRun: boolean;
  /** Only expire upload sessions (the server does this hourly even when online GC is off). */
  uploadsOnly?: boolean;
  /** Tag retention per repository pattern. */
  retention?: readonly RetentionPolicy[];
  /** Immutable tags, which retention never deletes. */
  immutableTags?: readonly ImmutableTagRule[];
}

/** What a pass removed (or, in a dry run, would remove). */
export interface GcReport {
  dryRun: boolean;
  /** Tags retention removed. */
  tagsDeleted: { repository: string; tag: string }[];
  manifestsDeleted: { repository: string; digest: Digest }[];
  blobLinksRemoved: number;
  blobsDeleted: Digest[];
  bytesFreed: number;
  uploadsExpired: string[];
  liveManifests: number;
}

/** One mark-and-sweep pass, safe while pushes run: the pass is planned from one snapshot (planGc),
 *  and a dry run reports that plan, which is exactly what the real pass removes when nothing changes
 *  meanwhile. The real pass applies it step by step, each removal re-checked in a metadata
 *  transaction or under the digest lock shared with the push path, so a concurrent push only ever
 *  makes it remove less. */
export async function collectGarbage(
  deps: { blobs: BlobStore; metadata: MetadataStore; logger: Logger; digestLocks: KeyedLock },
  options: GcOptions,
  now: number,
): Promise<GcReport> {
  const { logger } = deps;
  const cutoff = now - options.gracePeriodMs;
  const plan = planGc(await takeSnapshot(deps, Boolean(options.uploadsOnly)), {
    deleteUntagged: options.deleteUntagged,
    cutoff,
    uploadCutoff: now - options.uploadExpiryMs,
    ...(options.uploadsOnly ? { uploadsOnly: true } : {}),
    ...(options.retention?.length
      ? {
          retention: options.retention.map((policy) => ({
            repository: policy.repository,
            ...(policy.keepLast !== undefined ? { keepLast: policy.keepLast } : {}),
            ...(policy.keepTags !== undefined ? { keepTags: policy.keepTags } : {}),
            ...(policy.untaggedAfterMs !== undefined ? { untaggedCutoff: now - policy.untaggedAfterMs } : {}),
          })),
        }
      : {}),
    ...(options.immutableTags?.length ? { immutableTags: options.immutableTags } : {}),
  });
  const report = options.dryRun ? reportOf(plan, true) : await applyGcPlan(deps, plan, cutoff);
  logger.info(
    { dryRun: options.dryRun, tags: report.tagsDeleted.length, manifests: report.manifestsDeleted.length, blobLinks: report.blobLinksRemoved, blobs: report.blobsDeleted.length, bytes: report.bytesFreed, uploads: report.uploadsExpired.length },
    'garbage collection finished',
  );
  return report;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function takeSnapshot(deps: { blobs: BlobStore; metadata: MetadataStore }, uploadsOnly: boolean): Promise<GcSnapshot> {
  const { blobs, metadata } = deps;
  // Upload state first, content second: a session created after its staged bytes were listed is
  // then never mistaken for staged bytes without a session.
  const staged = await collect(blobs.listUploads());
  const sessions = await metadata.listUploads();
  if (uploadsOnly) return { manifests: [], tags: [], links: [], blobs: [], sessions, staged };
  // Blob files before metadata: a blob written after this listing is not in it, so it cannot be
  // planned for removal whatever the metadata read later says about it.
  const blobFiles = await collect(blobs.list());
  return { manifests: await metadata.listAllManifests(), tags: await metadata.listAllTags(), links: await metadata.listAllBlobLinks(), blobs: blobFiles, sessions, staged };
}

function reportOf(plan: GcPlan, dryRun: boolean): GcReport {
  return {
    dryRun,
    tagsDeleted: plan.tags.map((tag) => ({ repository: tag.repository, tag: tag.tag })),
    manifestsDeleted: plan.manifests.map((item) => ({ repository: item.repository, digest: item.digest })),
    blobLinksRemoved: plan.blobLinks.length,
    blobsDeleted: plan.blobs.map((blob) => blob.digest),
    bytesFreed: plan.blobs.reduce((total, blob) => total + blob.size, 0),
    uploadsExpired: plan.uploads.map((upload) => upload.id),
    liveManifests: plan.liveManifests,
  };
}

/** Applies a plan; each step re-checks its condition, and the report lists what was really removed. */
async function applyGcPlan(deps: { blobs: BlobStore; metadata: MetadataStore; digestLocks: KeyedLock }, plan: GcPlan, cutoff: number): Promise<GcReport> {
  const { blobs, metadata, digestLocks } = deps;
  const done: GcPlan = { tags: [], manifests: [], blobLinks: [], blobs: [], uploads: [], liveManifests: plan.liveManifests };
  for (const tag of plan.tags) if (await metadata.deleteTagIfUnchanged(tag.repository, tag.tag, tag.digest, cutoff)) done.tags.push(tag);
  for (const item of plan.manifests) {
    if (await metadata.deleteManifestIfUnused(item.repository, item.digest, item.olderThan)) done.manifests.push(item);
  }
  done.liveManifests += plan.manifests.length - done.manifests.length;
  for (const link of plan.blobLinks) if (await metadata.unlinkBlobIfUnused(link.repository, link.digest, cutoff)) done.blobLinks.push(link);
  for (const blob of plan.blobs) {
    await digestLocks.run(blob.digest, async () => {
      if (await metadata.isBlobReferenced(blob.digest)) return;
      const current = await blobs.stat(blob.digest);
      if (!current || current.modifiedAt >= cutoff) return;
      if (await blobs.delete(blob.digest)) done.blobs.push({ digest: blob.digest, size: current.size });
    });
  }
  for (const upload of plan.uploads) {
    if (upload.hasSession) await metadata.deleteUpload(upload.id);
    await blobs.deleteUpload(upload.id);
    done.uploads.push(upload);
  }
  return reportOf(done, false);
}
