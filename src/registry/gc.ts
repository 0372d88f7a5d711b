import type { Digest, Logger } from '../lib/index.ts';
import type { MetadataStore } from '../metadata/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { planGc } from './gc-plan.ts';
import type { KeyedMutex } from './keyed-mutex.ts';

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
}

/** What a pass removed (or, in a dry run, would remove). */
export interface GcReport {
  dryRun: boolean;
  manifestsDeleted: { repository: string; digest: Digest }[];
  blobLinksRemoved: number;
  blobsDeleted: Digest[];
  bytesFreed: number;
  uploadsExpired: string[];
  liveManifests: number;
}

/** One mark-and-sweep pass, safe while pushes run: every removal re-checks its condition in a
 *  metadata transaction (or under the digest lock shared with the push path) and spares anything
 *  newer than the grace period. */
export async function collectGarbage(
  deps: { blobs: BlobStore; metadata: MetadataStore; logger: Logger; digestLocks: KeyedMutex },
  options: GcOptions,
  now: number,
): Promise<GcReport> {
  const { logger } = deps;
  const cutoff = now - options.gracePeriodMs;
  const report: GcReport = { dryRun: options.dryRun, manifestsDeleted: [], blobLinksRemoved: 0, blobsDeleted: [], bytesFreed: 0, uploadsExpired: [], liveManifests: 0 };
  if (!options.uploadsOnly) await sweepContent(deps, options, cutoff, report);
  await expireUploads(deps, options, now, cutoff, report);
  logger.info(
    { dryRun: options.dryRun, manifests: report.manifestsDeleted.length, blobLinks: report.blobLinksRemoved, blobs: report.blobsDeleted.length, bytes: report.bytesFreed, uploads: report.uploadsExpired.length },
    'garbage collection finished',
  );
  return report;
}

async function sweepContent(
  deps: { blobs: BlobStore; metadata: MetadataStore; digestLocks: KeyedMutex },
  options: GcOptions,
  cutoff: number,
  report: GcReport,
): Promise<void> {
  const { blobs, metadata, digestLocks } = deps;
  const plan = planGc(await metadata.listAllManifests(), await metadata.listAllTags(), await metadata.listAllBlobLinks(), options);
  report.liveManifests = plan.liveManifests;
  if (options.dryRun) {
    report.manifestsDeleted = plan.manifests;
    report.blobLinksRemoved = plan.blobLinks.length;
  } else {
    for (const item of plan.manifests) {
      if (await metadata.deleteManifestIfUnused(item.repository, item.digest, cutoff)) report.manifestsDeleted.push(item);
    }
    // Links needed by the manifests just removed are now free too, so re-plan the links.
    const links = plan.manifests.length ? planGc(await metadata.listAllManifests(), await metadata.listAllTags(), await metadata.listAllBlobLinks(), options).blobLinks : plan.blobLinks;
    for (const link of links) if (await metadata.unlinkBlobIfUnused(link.repository, link.digest, cutoff)) report.blobLinksRemoved++;
  }
  for await (const blob of blobs.list()) {
    if (blob.modifiedAt >= cutoff) continue;
    await digestLocks.run(blob.digest, async () => {
      if (await metadata.isBlobReferenced(blob.digest)) return;
      const current = await blobs.stat(blob.digest);
      if (!current || current.modifiedAt >= cutoff) return;
      if (!options.dryRun) await blobs.delete(blob.digest);
      report.blobsDeleted.push(blob.digest);
      report.bytesFreed += current.size;
    });
  }
}

async function expireUploads(deps: { blobs: BlobStore; metadata: MetadataStore }, options: GcOptions, now: number, cutoff: number, report: GcReport): Promise<void> {
  const { blobs, metadata } = deps;
  const uploadCutoff = now - options.uploadExpiryMs;
  const sessions = new Set<string>();
  for (const session of await metadata.listUploads()) {
    sessions.add(session.id);
    if (session.updatedAt >= uploadCutoff) continue;
    if (!options.dryRun) {
      await metadata.deleteUpload(session.id);
      await blobs.deleteUpload(session.id);
    }
    report.uploadsExpired.push(session.id);
  }
  for await (const staged of blobs.listUploads()) {
    // Staged bytes without a session: a crash between creating the two, or a finished commit.
    if (!sessions.has(staged.id) && staged.modifiedAt < cutoff) {
      if (!options.dryRun) await blobs.deleteUpload(staged.id);
      report.uploadsExpired.push(staged.id);
    }
  }
}
