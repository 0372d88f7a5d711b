import type { Digest } from '../lib/index.ts';

/** One manifest revision stored in a repository. The bytes live in the blob store under `digest`. */
export interface ManifestRecord {
  repository: string;
  digest: Digest;
  mediaType: string;
  size: number;
  /** `subject.digest` when the manifest refers to another one (referrers API). */
  subject?: Digest;
  /** Referrer artifact type: top-level `artifactType`, else the config media type of an image manifest. */
  artifactType?: string;
  /** Top-level annotations, copied into referrers descriptors. */
  annotations?: Record<string, string>;
  /** Blobs (config and layers) the manifest needs in this repository. */
  blobs: Digest[];
  /** Child manifests of an index. */
  children: Digest[];
  createdAt: number;
}

/** A resumable blob upload session; `offset` is the durable, acknowledged length. */
export interface UploadSession {
  id: string;
  repository: string;
  offset: number;
  createdAt: number;
  updatedAt: number;
}

/** A tag and the manifest it points at. */
export interface TagRecord {
  repository: string;
  tag: string;
  digest: Digest;
  updatedAt: number;
}

/** A blob linked into a repository (pushed or mounted there). */
export interface BlobLink {
  repository: string;
  digest: Digest;
  size: number;
  linkedAt: number;
}

/** Result of `putManifest`: what was missing or refused (nothing stored then). */
export interface PutManifestResult {
  missingBlobs: Digest[];
  missingManifests: Digest[];
  /** Tags of `options.immutableTags` that already point at another manifest. */
  immutableTagsMoved: string[];
}

/** Result of `unlinkBlob`: nothing changes while a manifest of the repository still needs the blob. */
export interface UnlinkBlobResult {
  /** The link existed and is gone. */
  unlinked: boolean;
  /** When the link was kept: a manifest of the repository that lists the blob (its config or a layer). */
  referencedBy?: Digest;
}

/** Options of `putManifest`. */
export interface PutManifestOptions {
  /** Tags (a subset of the tags put) that may be created but never moved: when one already points at
   *  another digest, nothing is stored. Checked in the same transaction as the write. */
  immutableTags?: readonly string[];
}

/** Pagination of sorted listings: entries strictly after `last`, at most `limit`. */
export interface Page {
  last?: string;
  limit: number;
}

/** Registry metadata: repositories, blob links, manifests, tags, referrers and upload sessions.
 *  Each method is one atomic transaction. Drivers: SQLite (metadata/sqlite), PostgreSQL (metadata/postgres). All
 *  drivers pass `runMetadataConformance`. Listings sort byte-wise. */
export interface MetadataStore {
  /** Repository names after `page.last`, sorted. */
  listRepositories(page: Page): Promise<string[]>;
  /** True when the repository has any blob, manifest or upload. */
  repositoryExists(name: string): Promise<boolean>;

  /** Links a committed blob into a repository (creating it); refreshes the link time. */
  linkBlob(repository: string, digest: Digest, size: number, now: number): Promise<void>;
  blobLink(repository: string, digest: Digest): Promise<BlobLink | undefined>;
  /** Unlinks a blob unless a manifest in the repository lists it: removing such a link would let GC
   *  delete bytes a stored (maybe tagged) manifest needs. The check and the delete are one transaction. */
  unlinkBlob(repository: string, digest: Digest): Promise<UnlinkBlobResult>;
  /** True when some repository links the blob or stores a manifest with that digest. */
  isBlobReferenced(digest: Digest): Promise<boolean>;
  /** Repositories that link the blob, sorted, after `page.last` (for mounts without `from=`). */
  blobRepositories(digest: Digest, page: Page): Promise<string[]>;

  /** Stores a manifest and points `tags` at it, atomically — but only when every blob it needs is
   *  linked in the repository and every child manifest is stored there; otherwise stores nothing
   *  and reports what is missing (or which immutable tags it would move). Re-putting the same digest
   *  updates nothing but the tags. */
  putManifest(record: ManifestRecord, tags: readonly string[], now: number, options?: PutManifestOptions): Promise<PutManifestResult>;
  getManifest(repository: string, digest: Digest): Promise<ManifestRecord | undefined>;
  /** Removes a manifest revision and every tag pointing at it. */
  deleteManifest(repository: string, digest: Digest): Promise<boolean>;
  resolveTag(repository: string, tag: string): Promise<Digest | undefined>;
  deleteTag(repository: string, tag: string): Promise<boolean>;
  /** Deletes a tag only if it still points at `digest` and was last set before `olderThan` (a tag
   *  moved or re-pushed meanwhile stays); the check and the delete are one transaction. */
  deleteTagIfUnchanged(repository: string, tag: string, digest: Digest, olderThan: number): Promise<boolean>;
  listTags(repository: string, page: Page): Promise<string[]>;
  /** Manifests in `repository` whose subject is `subject`, oldest first. */
  listReferrers(repository: string, subject: Digest): Promise<ManifestRecord[]>;

  createUpload(session: UploadSession): Promise<void>;
  getUpload(id: string): Promise<UploadSession | undefined>;
  /** Moves an upload's offset from `from` to `to`; false (nothing changed) when the stored offset is
   *  not `from` or the session is gone — a compare-and-set that keeps concurrent appends honest. */
  advanceUpload(id: string, from: number, to: number, now: number): Promise<boolean>;
  deleteUpload(id: string): Promise<boolean>;
  listUploads(): Promise<UploadSession[]>;

  /** For garbage collection: every manifest, tag and blob link. */
  listAllManifests(): Promise<ManifestRecord[]>;
  listAllTags(): Promise<TagRecord[]>;
  listAllBlobLinks(): Promise<BlobLink[]>;
  /** Deletes an untagged manifest only if it is still untagged, not a child of another manifest in
   *  its repository, and created before `olderThan`; the checks and the delete are one transaction. */
  deleteManifestIfUnused(repository: string, digest: Digest, olderThan: number): Promise<boolean>;
  /** Unlinks a blob only if no manifest in the repository needs it and it was linked before `olderThan`. */
  unlinkBlobIfUnused(repository: string, digest: Digest, olderThan: number): Promise<boolean>;

  close(): Promise<void>;
}
