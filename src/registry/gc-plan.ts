import type { Digest } from '../lib/index.ts';
import type { BlobLink, ManifestRecord, TagRecord } from '../metadata/index.ts';

/** What one garbage-collection pass may remove (before grace-period and in-transaction re-checks). */
export interface GcPlan {
  /** Manifests reachable from no tag, index or live subject; referrers last. */
  manifests: { repository: string; digest: Digest }[];
  /** Blob links no surviving manifest of the repository needs. */
  blobLinks: { repository: string; digest: Digest }[];
  /** Manifests kept (for reports). */
  liveManifests: number;
}

/** Marks from tags (and, unless `deleteUntagged`, from every manifest), following index children and
 *  referrers whose subject is live; everything else is a sweep candidate. Pure: metadata in, plan out. */
export function planGc(manifests: readonly ManifestRecord[], tags: readonly TagRecord[], links: readonly BlobLink[], options: { deleteUntagged: boolean }): GcPlan {
  const byRepo = new Map<string, ManifestRecord[]>();
  for (const record of manifests) {
    const list = byRepo.get(record.repository) ?? [];
    list.push(record);
    byRepo.set(record.repository, list);
  }
  const live = new Set<string>();
  const key = (repository: string, digest: string) => `${repository}@${digest}`;
  for (const tag of tags) live.add(key(tag.repository, tag.digest));
  if (!options.deleteUntagged) for (const record of manifests) live.add(key(record.repository, record.digest));
  const index = new Map(manifests.map((record) => [key(record.repository, record.digest), record]));
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
        if (!live.has(childId) && index.has(childId)) {
          live.add(childId);
          changed = true;
        }
      }
    }
  }
  const dead = manifests.filter((record) => !live.has(key(record.repository, record.digest)));
  dead.sort((a, b) => Number(Boolean(a.subject)) - Number(Boolean(b.subject)));
  const neededBlobs = new Set<string>();
  for (const record of manifests) {
    if (!live.has(key(record.repository, record.digest))) continue;
    for (const blob of record.blobs) neededBlobs.add(key(record.repository, blob));
  }
  return {
    manifests: dead.map((record) => ({ repository: record.repository, digest: record.digest })),
    blobLinks: links.filter((link) => !neededBlobs.has(key(link.repository, link.digest))).map((link) => ({ repository: link.repository, digest: link.digest })),
    liveManifests: manifests.length - dead.length,
  };
}
