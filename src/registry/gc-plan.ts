import { isDigest } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import type { BlobLink, ManifestRecord, TagRecord, UploadSession } from '../metadata/index.ts';
import type { BlobInfo, StagedUpload } from '../storage/index.ts';
import { repositoryGlob, tagGlob } from './format/patterns.ts';
import { ImmutableTags } from './tag-policy.ts';
import type { ImmutableTagRule } from './tag-policy.ts';

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

/** A retention policy for the repositories matching `repository` (the first matching policy wins),
 *  with its clock already applied. */
export interface RetentionRule {
  /** Repository glob (`*` within a component, `**` across components). */
  repository: string;
  /** Keep the N most recently pushed tags of each repository. */
  keepLast?: number;
  /** Keep tags matching any of these globs (`*`, `?`). Tags neither kept by `keepLast` nor by
   *  `keepTags` are deleted; a policy with neither keeps every tag. */
  keepTags?: string[];
  /** Delete untagged manifests created before this time (ms) (default: the grace period's cutoff).
   *  A repository under a policy has its untagged manifests deleted even when `deleteUntagged` is off. */
  untaggedCutoff?: number;
}

/** The policy of one pass, with its clock already applied. */
export interface GcPlanOptions {
  deleteUntagged: boolean;
  /** Tag retention per repository pattern; immutable tags and tags set at or after `cutoff` are
   *  always kept. */
  retention?: readonly RetentionRule[];
  /** Immutable-tag rules (`tags.immutable`): retention never deletes these tags. */
  immutableTags?: readonly ImmutableTagRule[];
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
  /** Tags retention deletes, each only if it still points at `digest` and was set before the cutoff. */
  tags: { repository: string; tag: string; digest: Digest }[];
  /** Manifests to delete, parents before the children and subjects before the referrers they free. */
  manifests: { repository: string; digest: Digest; olderThan: number }[];
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
function markLive(manifests: readonly ManifestRecord[], tags: readonly TagRecord[], deletesUntagged: (repository: string) => boolean): Set<string> {
  const live = new Set<string>();
  for (const tag of tags) live.add(key(tag.repository, tag.digest));
  for (const record of manifests) if (!deletesUntagged(record.repository)) live.add(key(record.repository, record.digest));
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
  const plan: GcPlan = { tags: [], manifests: [], blobLinks: [], blobs: [], uploads: [], liveManifests: 0 };
  if (!options.uploadsOnly) planContent(snapshot, options, plan);
  else plan.liveManifests = snapshot.manifests.length;
  const sessionIds = new Set(snapshot.sessions.map((session) => session.id));
  for (const session of snapshot.sessions) if (session.updatedAt < options.uploadCutoff) plan.uploads.push({ id: session.id, hasSession: true });
  // Staged bytes without a session: a crash between creating the two, or a finished commit.
  for (const staged of snapshot.staged) if (!sessionIds.has(staged.id) && staged.modifiedAt < options.cutoff) plan.uploads.push({ id: staged.id, hasSession: false });
  return plan;
}

/** The digest a tag names (`sha256-<hex>` referrers fallback tags, cosign's `sha256-<hex>.sig`), if
 *  any: retention neither counts nor keeps such tags for themselves; they stay while that manifest does. */
function namedDigest(tag: string): Digest | undefined {
  const candidate = tag.split('.')[0]!.replace('-', ':');
  return isDigest(candidate) ? candidate : undefined;
}

/** Applies retention: which tags go. A tag stays when no policy matches its repository, when it is
 *  immutable, set at or after the cutoff, among the policy's `keepLast` newest, or matching `keepTags`;
 *  a digest-named tag stays while the manifest it names is live (or unknown). */
function planTagRetention(snapshot: GcSnapshot, options: GcPlanOptions, policyOf: (repository: string) => RetentionRule | undefined): TagRecord[] {
  const immutable = new ImmutableTags(options.immutableTags ?? []);
  const byRepository = new Map<string, TagRecord[]>();
  for (const tag of snapshot.tags) byRepository.set(tag.repository, [...(byRepository.get(tag.repository) ?? []), tag]);
  const removed: TagRecord[] = [];
  const digestTags: TagRecord[] = [];
  for (const [repository, tags] of byRepository) {
    const policy = policyOf(repository);
    if (!policy || (policy.keepLast === undefined && policy.keepTags === undefined)) continue;
    const patterns = (policy.keepTags ?? []).map(tagGlob);
    const ordinary = tags.filter((tag) => namedDigest(tag.tag) === undefined);
    // Newest first; ties broken by name so the plan is deterministic.
    const newest = new Set(
      [...ordinary]
        .sort((a, b) => b.updatedAt - a.updatedAt || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
        .slice(0, policy.keepLast ?? 0)
        .map((tag) => tag.tag),
    );
    for (const tag of tags) {
      const kept = newest.has(tag.tag) || patterns.some((pattern) => pattern.test(tag.tag)) || immutable.ruleFor(repository, tag.tag) !== undefined || tag.updatedAt >= options.cutoff;
      if (kept) continue;
      if (namedDigest(tag.tag) !== undefined) digestTags.push(tag);
      else removed.push(tag);
    }
  }
  if (digestTags.length) {
    const gone = new Set(removed.map((tag) => key(tag.repository, tag.tag)));
    const keptTags = snapshot.tags.filter((tag) => !gone.has(key(tag.repository, tag.tag)) && !digestTags.includes(tag));
    const live = markLive(snapshot.manifests, keptTags, () => true);
    const stored = new Set(snapshot.manifests.map((record) => key(record.repository, record.digest)));
    for (const tag of digestTags) {
      const named = namedDigest(tag.tag)!;
      if (stored.has(key(tag.repository, named)) && !live.has(key(tag.repository, named))) removed.push(tag);
    }
  }
  return removed.sort((a, b) => (key(a.repository, a.tag) < key(b.repository, b.tag) ? -1 : 1));
}

function planContent(snapshot: GcSnapshot, options: GcPlanOptions, plan: GcPlan): void {
  const policies = (options.retention ?? []).map((rule) => ({ rule, pattern: repositoryGlob(rule.repository) }));
  const policyOf = (repository: string) => policies.find((entry) => entry.pattern.test(repository))?.rule;
  const removedTags = planTagRetention(snapshot, options, policyOf);
  plan.tags = removedTags.map((tag) => ({ repository: tag.repository, tag: tag.tag, digest: tag.digest }));
  const removedSet = new Set(removedTags);
  const tags = snapshot.tags.filter((tag) => !removedSet.has(tag));
  // A repository under a retention policy has its untagged manifests collected (what its removed tags
  // held, and what was never tagged) even when deleteUntagged is off elsewhere.
  const deletesUntagged = (repository: string) => options.deleteUntagged || policyOf(repository) !== undefined;
  // Untagged manifests go once older than the grace period, or than the policy's age when that is longer.
  const cutoffOf = (repository: string) => Math.min(options.cutoff, policyOf(repository)?.untaggedCutoff ?? options.cutoff);
  const live = markLive(snapshot.manifests, tags, deletesUntagged);
  const remaining = new Map(snapshot.manifests.map((record) => [key(record.repository, record.digest), record]));
  const tagged = new Set(tags.map((tag) => key(tag.repository, tag.digest)));
  // How many stored manifests list each (repository, child): a child stays while a parent does.
  const parents = new Map<string, number>();
  for (const record of snapshot.manifests) for (const child of new Set(record.children)) parents.set(key(record.repository, child), (parents.get(key(record.repository, child)) ?? 0) + 1);

  let candidates = snapshot.manifests.filter((record) => !live.has(key(record.repository, record.digest)) && record.createdAt < cutoffOf(record.repository));
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
      plan.manifests.push({ repository: record.repository, digest: record.digest, olderThan: cutoffOf(record.repository) });
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
