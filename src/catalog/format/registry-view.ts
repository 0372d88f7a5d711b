import { isImageConfigMediaType } from '../../oci/index.ts';
import type { ManifestRecord, TagRecord } from '../../metadata/index.ts';
import type { ImageSummary, ImagesQuery, TagView } from './model.ts';
import { SEVERITY_ORDER } from './model.ts';

// Pure: what the registry's metadata says about its images, grouped per repository from the two
// bulk listings the catalog reads per request (every manifest, every tag: two queries, whatever the
// number of images), and the list page's search and filters.

/** cosign's attachment tags (`sha256-<hex>.sig`, `.att`, `.sbom`, and referrers fallback tags). */
const COSIGN_TAG = /^sha256-[0-9a-f]{64}(\.[a-z]+)?$/;

/** True for tags that hold signatures, attestations or referrers rather than an image. */
export function isAttachmentTag(tag: string): boolean {
  return COSIGN_TAG.test(tag);
}

/** One repository as the catalog sees it. */
export interface RepositoryGroup {
  name: string;
  /** Image tags (no attachment tags), most recently moved first. */
  tags: TagRecord[];
  /** Attachment tags by name (`sha256-….sig` → digest). */
  attachmentTags: Map<string, string>;
  manifests: Map<string, ManifestRecord>;
  /** Manifests that refer to another one (referrers API), by subject digest. */
  referrers: Map<string, ManifestRecord[]>;
}

/** Groups every manifest and tag by repository; repositories with no image tag are left out. */
export function groupRepositories(manifests: readonly ManifestRecord[], tags: readonly TagRecord[]): RepositoryGroup[] {
  const groups = new Map<string, RepositoryGroup>();
  const groupOf = (name: string): RepositoryGroup => {
    let group = groups.get(name);
    if (!group) {
      group = { name, tags: [], attachmentTags: new Map(), manifests: new Map(), referrers: new Map() };
      groups.set(name, group);
    }
    return group;
  };
  for (const manifest of manifests) {
    const group = groupOf(manifest.repository);
    group.manifests.set(manifest.digest, manifest);
    if (manifest.subject) group.referrers.set(manifest.subject, [...(group.referrers.get(manifest.subject) ?? []), manifest]);
  }
  for (const tag of tags) {
    const group = groupOf(tag.repository);
    if (isAttachmentTag(tag.tag)) group.attachmentTags.set(tag.tag, tag.digest);
    else group.tags.push(tag);
  }
  const result = [...groups.values()].filter((group) => group.tags.length > 0);
  for (const group of result) group.tags.sort((a, b) => b.updatedAt - a.updatedAt || (a.tag < b.tag ? -1 : 1));
  return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The tag shown as the image's current one: `latest` when present, else the most recently moved. */
export function currentTag(group: RepositoryGroup): TagRecord {
  return group.tags.find((tag) => tag.tag === 'latest') ?? group.tags[0]!;
}

/** Tags as shown, most recent first. */
export function tagViews(group: RepositoryGroup, limit = Number.POSITIVE_INFINITY): TagView[] {
  return group.tags.slice(0, limit).map((tag) => ({ tag: tag.tag, digest: tag.digest }));
}

/** What the signatures and attestations of `digest` are made of: the attachment tags' digests and
 *  its referrers. A verification result stays valid while this string is unchanged (the subject is
 *  content-addressed), so results are cached under it. */
export function attachmentFingerprint(group: RepositoryGroup, digest: string): string {
  const hex = digest.replace(':', '-');
  const tags = [...group.attachmentTags].filter(([tag]) => tag.startsWith(hex)).map(([tag, target]) => `${tag}=${target}`).sort();
  const referrers = (group.referrers.get(digest) ?? []).map((record) => record.digest).sort();
  return `${digest}|${tags.join(',')}|${referrers.join(',')}`;
}

/** True when anything at all is attached to `digest` (signature tags or referrers). */
export function hasAttachments(group: RepositoryGroup, digest: string): boolean {
  const hex = digest.replace(':', '-');
  return [...group.attachmentTags.keys()].some((tag) => tag.startsWith(hex)) || (group.referrers.get(digest)?.length ?? 0) > 0;
}

/** Image manifests (or indexes) of a repository that are images, not attachments, oldest first:
 *  the registry's own record of the digests an image has had. */
export function imageDigests(group: RepositoryGroup): ManifestRecord[] {
  const children = new Set([...group.manifests.values()].flatMap((record) => record.children));
  const attached = new Set(group.attachmentTags.values());
  return [...group.manifests.values()]
    .filter((record) => record.subject === undefined && !children.has(record.digest) && !attached.has(record.digest) && !isAttachmentType(record.artifactType))
    .sort((a, b) => a.createdAt - b.createdAt || (a.digest < b.digest ? -1 : 1));
}

function isAttachmentType(artifactType: string | undefined): boolean {
  return artifactType !== undefined && !isImageConfigMediaType(artifactType);
}

/** Reads the list page's query string; unknown values fall back to the defaults. */
export function parseImagesQuery(params: URLSearchParams): ImagesQuery {
  return {
    q: (params.get('q') ?? '').trim().slice(0, 200),
    signed: params.get('signed') === '1' || params.get('signed') === 'true',
    cve: params.get('cve') === 'clean' ? 'clean' : 'any',
  };
}

/** The images matching a query, in catalog order: `q` matches name, title and description
 *  (case-insensitive, every word); `signed` keeps verified signatures; `cve=clean` keeps scanned
 *  images with no open critical or high vulnerability. */
export function filterImages(images: readonly ImageSummary[], query: ImagesQuery): ImageSummary[] {
  const words = query.q.toLowerCase().split(/\s+/).filter(Boolean);
  return images.filter((image) => {
    const text = `${image.name} ${image.title ?? ''} ${image.description ?? ''}`.toLowerCase();
    if (!words.every((word) => text.includes(word))) return false;
    if (query.signed && image.signature.state !== 'verified') return false;
    if (query.cve === 'clean' && (!image.cves || image.cves.critical + image.cves.high > 0)) return false;
    return true;
  });
}

/** `1.2 MB` style sizes (decimal units, as registries and docker show). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
}

/** The severity buckets as `critical 1 · high 2` (zero buckets left out), or `none`. */
export function tallyText(tally: Record<(typeof SEVERITY_ORDER)[number], number>): string {
  const parts = SEVERITY_ORDER.filter((key) => tally[key] > 0).map((key) => `${key} ${tally[key]}`);
  return parts.length ? parts.join(' · ') : 'none';
}
