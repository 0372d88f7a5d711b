import type { Digest } from '../lib/index.ts';
import type { ImageIndex, ImageManifest, ImageReference } from '../oci/index.ts';
import type { AffectedRecord, CpeRange, EpssEntry, KevEntry, ParsedFeed, VulnerabilityInfo } from './format/model.ts';

/** What the index remembers about one feed: where it came from, when, and how much it held. */
export interface FeedState {
  name: string;
  type: string;
  location: string;
  /** When the feed's content last changed in the index (ISO 8601). */
  updatedAt: string;
  /** When the feed was last checked (fetched, or found not modified). */
  checkedAt: string;
  records: number;
  warnings: number;
  /** SHA-256 of the raw content indexed. */
  sha256: string;
  etag?: string;
  lastModified?: string;
}

/** Vulnerability index port: the local store `kiln vuln db update` fills and `kiln scan` reads.
 *  Lookups are synchronous so a scan of hundreds of packages costs a few queries, not round trips. */
export interface VulnIndex {
  /** Replaces everything a feed contributed, with its state, in one transaction. */
  replaceFeed(state: FeedState, data: ParsedFeed): void;
  /** Records a check that found the feed unchanged (new checkedAt and validators). */
  touchFeed(state: FeedState): void;
  /** Drops a feed and everything it contributed. */
  removeFeed(name: string): void;
  /** Every feed, by name. */
  feeds(): FeedState[];
  /** Affected records of these (origin) package names in one ecosystem. */
  affected(ecosystem: string, packages: readonly string[]): AffectedRecord[];
  /** Whether any feed holds records of this ecosystem (a scan warns when none does). */
  covers?(ecosystem: string): boolean;
  /** CPE ranges whose product is one of these names. */
  cpes(products: readonly string[]): CpeRange[];
  /** Vulnerability descriptions and scores with one of these ids. */
  vulnerabilities(ids: readonly string[]): VulnerabilityInfo[];
  kev(cves: readonly string[]): KevEntry[];
  epss(cves: readonly string[]): EpssEntry[];
  close(): void;
}

/** Registry reading port of `kiln scan REGISTRY/REPO:TAG`: what src/registry-client's
 *  RegistryClient offers, narrowed to the two reads a scan makes. Both verify what they return
 *  against its digest. */
export interface RegistryImageReader {
  /** The manifest or index a reference names (by tag or digest), with its digest, validated by the
   *  OCI vocabulary's one manifest validator. */
  getManifest(ref: ImageReference): Promise<{ digest: Digest; manifest: ImageManifest | ImageIndex }>;
  /** A blob's bytes, refused when larger than maxBytes. */
  getBlob(repo: { registry: string; repository: string }, digest: Digest, maxBytes?: number): Promise<Uint8Array>;
  /** A blob in chunks; the iteration throws at its end when the bytes do not match the digest. */
  openBlob(repo: { registry: string; repository: string }, digest: Digest): AsyncIterable<Uint8Array>;
}
