import type { Digest } from '../lib/index.ts';
import type { BlobLink, ManifestRecord, TagRecord, UploadSession } from '../metadata/index.ts';
import type { BlobInfo, StagedUpload } from '../storage/index.ts';

/** Everything one garbage-collection pass decides from, read before it acts. */
export interface GcSnapshot {
  manifests: readonly ManifestRecord[];
  tags: readonly TagRecord[];
  links: readonly BlobLink[];
  /** Committed blob files (manifests are stored as blobs too). */
  blobs: readonly BlobInfo[];
  sessions: readonly UploadSession[];
  staged: readonly StagedUpload[];
}

/** The policy of one pass, with its clock already applied. */
export interface GcPlanOptions {
  deleteUntagged: boolean;
  /** Nothing created, linked or written at or after this time (ms) is removed. */
  cutoff: number;
  /** Upload sessions idle since before this time (ms) are cancelled. */
  uploadCutoff: number;
  /** Only expire uploads; leave manifests, links and blobs alone. */
  uploadsOnly?: boolean;
}

/** What one pass removes, in the order it removes it. A dry run reports exactly this; a real run
 *  applies it, each step re-checked in a transaction or under the digest lock (so a push that lands
 *  in between is never harmed: the step is skipped, never widened). */
export interface GcPlan {
  /** Manifests to delete, parents before the children and subjects before the referrers they free. */
  manifests: { repository: string; digest: Digest }[];
  /** Blob links no surviving manifest of the repository needs. */
  blobLinks: { repository: string; digest: Digest }[];
  /** Blob files nothing references any more once the above is done. */
  blobs: { digest: Digest; size: number }[];
  /** Upload sessions (with their staged bytes) idle too long, and staged bytes without a session. */
  uploads: { id: string; hasSession: boolean }[];
  /** Manifests kept (for reports). */
  liveManifests: number;
}

const key = (repository: string, digest: string): string => `${repository}@${digest}`;

/** Marks from tags (and, unless `deleteUntagged`, from every manifest), following index children
 *  and referrers whose subject is live. Pure. */
function markLive(manifests: readonly ManifestRecord[], tags: readonly TagRecord[], deleteUntagged: boolean): Set<string> {
  const live = new Set<string>();
  for (const tag of tags) live.add(key(tag.repository, tag.digest));
  if (!deleteUntagged) for (const record of manifests) live.add(key(record.repository, record.digest));
  const stored = new Set(manifests.map((record) => key(record.repository, record.digest)));
  let changed = true;
  while (changed) {
    changed = false;
    for (const record of manifests) {
      const id = key(record.repository, record.digest);
      if (!live.has(id)) {
        if (record.subject && live.has(key(record.repository, record.subject))) {
          live.add(id);
          changed = true;
        }
        continue;
      }
      for (const child of record.children) {
        const childId = key(record.repository, child);
        if (!live.has(childId) && stored.has(childId)) {
          live.add(childId);
          changed = true;
        }
      }
    }
  }
  return live;
}

/** Plans a whole pass by playing it out on the snapshot with the same rules the metadata store's
 *  re-checking deletes apply (`deleteManifestIfUnused`, `unlinkBlobIfUnused`, `isBlobReferenced`),
 *  so what it lists is what a real pass removes when nothing changes meanwhile. Pure. */
export function planGc(snapshot: GcSnapshot, options: GcPlanOptions): GcPlan {
  const plan: GcPlan = { manifests: [], blobLinks: [], blobs: [], uploads: [], liveManifests: 0 };
  if (!options.uploadsOnly) planContent(snapshot, options, plan);
  else plan.liveManifests = snapshot.manifests.length;
  const sessionIds = new Set(snapshot.sessions.map((session) => session.id));
  for (const session of snapshot.sessions) if (session.updatedAt < options.uploadCutoff) plan.uploads.push({ id: session.id, hasSession: true });
  // Staged bytes without a session: a crash between creating the two, or a finished commit.
  for (const staged of snapshot.staged) if (!sessionIds.has(staged.id) && staged.modifiedAt < options.cutoff) plan.uploads.push({ id: staged.id, hasSession: false });
  return plan;
}

function planContent(snapshot: GcSnapshot, options: GcPlanOptions, plan: GcPlan): void {
  const live = markLive(snapshot.manifests, snapshot.tags, options.deleteUntagged);
  const remaining = new Map(snapshot.manifests.map((record) => [key(record.repository, record.digest), record]));
  const tagged = new Set(snapshot.tags.map((tag) => key(tag.repository, tag.digest)));
  // How many stored manifests list each (repository, child): a child stays while a parent does.
  const parents = new Map<string, number>();
  for (const record of snapshot.manifests) for (const child of new Set(record.children)) parents.set(key(record.repository, child), (parents.get(key(record.repository, child)) ?? 0) + 1);

  let candidates = snapshot.manifests.filter((record) => !live.has(key(record.repository, record.digest)) && record.createdAt < options.cutoff);
  // Repeat until nothing more can go: deleting a parent frees its children, a subject its referrers.
  for (let progress = true; progress && candidates.length; ) {
    progress = false;
    const next: ManifestRecord[] = [];
    for (const record of candidates) {
      const id = key(record.repository, record.digest);
      const held = tagged.has(id) || (parents.get(id) ?? 0) > 0 || (record.subject !== undefined && remaining.has(key(record.repository, record.subject)));
      if (held) {
        next.push(record);
        continue;
      }
      remaining.delete(id);
      for (const child of new Set(record.children)) parents.set(key(record.repository, child), parents.get(key(record.repository, child))! - 1);
      plan.manifests.push({ repository: record.repository, digest: record.digest });
      progress = true;
    }
    candidates = next;
  }
  plan.liveManifests = snapshot.manifests.length - plan.manifests.length;

  const needed = new Set<string>();
  for (const record of remaining.values()) for (const blob of record.blobs) needed.add(key(record.repository, blob));
  const linked = new Set<string>();
  for (const link of snapshot.links) {
    if (!needed.has(key(link.repository, link.digest)) && link.linkedAt < options.cutoff) plan.blobLinks.push({ repository: link.repository, digest: link.digest });
    else linked.add(link.digest);
  }
  const storedAsManifest = new Set([...remaining.values()].map((record) => record.digest));
  for (const blob of snapshot.blobs) {
    if (blob.modifiedAt >= options.cutoff || linked.has(blob.digest) || storedAsManifest.has(blob.digest)) continue;
    plan.blobs.push({ digest: blob.digest, size: blob.size });
  }
}
