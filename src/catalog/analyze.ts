import { checkImage } from '../compliance/index.ts';
import type { ImageCheckReport } from '../compliance/index.ts';
import { readImageSnapshots } from '../factory/index.ts';
import type { ImageBlobSource, ReadSnapshot } from '../factory/index.ts';
import { BoundedMap, sha256Hex, verifyChunks } from '../lib/index.ts';
import type { Digest, Logger } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import type { TrustPolicy } from '../sign/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { ecosystemFromOsRelease, scanContents } from '../vuln/index.ts';
import type { VulnIndex } from '../vuln/index.ts';
import { CatalogError } from './errors.ts';
import type { FindingInput } from './format/image-view.ts';

/** One architecture of an analysed image. */
export interface PlatformAnalysis {
  platform: string;
  manifestDigest?: string;
  layers: Array<{ digest: string; compressedSize: number; uncompressedSize: number }>;
  paths: string[];
  packages: Array<{ name: string; version: string; origin?: string }>;
}

/** What the catalog learnt by reading an image's layers: files and packages per architecture, a
 *  vulnerability scan of the first architecture, and the hardening checks. */
export interface ImageAnalysis {
  platforms: PlatformAnalysis[];
  scan: { scanned: boolean; note?: string; findings: FindingInput[]; suppressed: FindingInput[] };
  compliance?: ImageCheckReport[];
}

/** Reads images for the catalog. Results are cached per digest (content-addressed, so a cached
 *  analysis cannot go stale — except the scan, which follows the index; see `indexVersion`). */
export interface ImageAnalyzer {
  /** The analysis of `repository@digest` if already done; otherwise undefined, and it is started in
   *  the background (one at a time) so a later page has it. */
  peek(repository: string, digest: string): ImageAnalysis | undefined;
  /** Analyses `repository@digest` (or returns the cached result). */
  analyze(repository: string, digest: string): Promise<ImageAnalysis>;
  /** Analyses another image given as a source (comparison images), cached under `key`. */
  analyzeSource(key: string, source: ImageBlobSource): Promise<ImageAnalysis>;
}

/** Options of {@link createImageAnalyzer}. */
export interface AnalyzerOptions {
  blobs: BlobStore;
  /** Reads the registry over its API for the hardening checks (which also look at attachments). */
  client: RegistryClient;
  registryHost: string;
  vulnIndex?: VulnIndex;
  /** The keys the catalog trusts: the hardening checks verify signatures and SBOM and provenance
   *  attestations against them (without, those checks do not run). */
  trust?: TrustPolicy;
  logger: Logger;
  /** Clock for the retry delay after a failed analysis (tests). */
  now?: () => number;
}

function snapshotOf(snapshot: ReadSnapshot): PlatformAnalysis {
  return {
    platform: snapshot.platform,
    ...(snapshot.manifestDigest ? { manifestDigest: snapshot.manifestDigest } : {}),
    layers: snapshot.layers.map((layer) => ({ digest: layer.digest, compressedSize: layer.compressedSize, uncompressedSize: layer.uncompressedSize })),
    paths: [...snapshot.files.keys()],
    packages: snapshot.installed.map((pkg) => ({ name: pkg.name, version: pkg.version, ...(pkg.origin ? { origin: pkg.origin } : {}) })),
  };
}

function finding(value: { id: string; aliases: string[]; package: string; version: string; severity: string; fixedVersion?: string; suppressed?: string; summary?: string }): FindingInput {
  return {
    id: value.id,
    aliases: value.aliases,
    package: value.package,
    version: value.version,
    severity: value.severity,
    ...(value.fixedVersion ? { fixedVersion: value.fixedVersion } : {}),
    ...(value.suppressed ? { suppressed: value.suppressed } : {}),
    ...(value.summary ? { summary: value.summary } : {}),
  };
}

/** Analyses kept in memory at most (each holds an image's package list and findings). */
const ANALYSES_KEPT = 2000;
/** A failed analysis is started again from a page view only after this long. */
const FAILED_RETRY_MS = 60_000;

/** The analyzer over the registry's blob store (every blob re-hashed on read) and, for the hardening
 *  checks, the registry's API. */
export function createImageAnalyzer(options: AnalyzerOptions): ImageAnalyzer {
  // Bounded: a registry may hold more images than a process should keep analyses of.
  const cache = new BoundedMap<string, Promise<ImageAnalysis>>(ANALYSES_KEPT);
  const done = new BoundedMap<string, ImageAnalysis>(ANALYSES_KEPT);
  // When an analysis last failed: a page viewed again does not start the same failing work again
  // until FAILED_RETRY_MS have passed.
  const failed = new BoundedMap<string, number>(ANALYSES_KEPT);
  const now = options.now ?? Date.now;
  const queue: Array<() => Promise<unknown>> = [];
  let running = false;
  const read = async (digest: string): Promise<Uint8Array> => {
    const bytes = await options.blobs.read(digest as never);
    if (`sha256:${sha256Hex(bytes)}` !== digest) throw new CatalogError('CATALOG_REQUEST_INVALID', `blob ${digest} does not match its digest in the blob store`, { detail: { digest } });
    return bytes;
  };
  // Layers stream from the blob store (an analysis never holds an image in the registry's memory),
  // re-hashed as they pass and refused at their end when the bytes are not the blob.
  async function* stream(digest: string): AsyncGenerator<Uint8Array> {
    const chunks = (await options.blobs.get(digest as Digest)) as AsyncIterable<Buffer>;
    yield* verifyChunks(chunks, digest as Digest, () => new CatalogError('CATALOG_REQUEST_INVALID', `blob ${digest} does not match its digest in the blob store`, { detail: { digest } }));
  }
  const scan = (snapshot: ReadSnapshot | undefined, name: string): ImageAnalysis['scan'] => {
    if (!options.vulnIndex) return { scanned: false, note: 'no vulnerability index (kiln catalog serve --vuln-db)', findings: [], suppressed: [] };
    if (!snapshot || snapshot.installed.length === 0) return { scanned: false, note: 'the image has no apk database to scan', findings: [], suppressed: [] };
    const ecosystem = snapshot.os ? ecosystemFromOsRelease(snapshot.os) : undefined;
    const report = scanContents(
      { target: name, kind: 'oci-layout', platform: snapshot.platform, ...(snapshot.os ? { os: snapshot.os } : {}), ...(ecosystem ? { ecosystem } : {}), packages: snapshot.installed, warnings: [] },
      options.vulnIndex,
    );
    return { scanned: true, ...(report.warnings.length ? { note: report.warnings.join('; ') } : {}), findings: report.findings.map(finding), suppressed: report.suppressed.map(finding) };
  };
  const run = async (key: string, source: ImageBlobSource, reference?: string): Promise<ImageAnalysis> => {
    const snapshots = await readImageSnapshots(source);
    const first = snapshots.find((snapshot) => snapshot.platform === 'linux/amd64') ?? snapshots[0];
    let compliance: ImageCheckReport[] | undefined;
    if (reference) {
      try {
        compliance = await checkImage({ image: reference, registry: options.client, ...(options.trust ? { signaturePolicy: options.trust } : {}) });
      } catch (error) {
        options.logger.warn({ err: error, image: reference }, 'hardening checks failed');
      }
    }
    return { platforms: snapshots.map(snapshotOf), scan: scan(first, key), ...(compliance ? { compliance } : {}) };
  };
  const memo = (key: string, work: () => Promise<ImageAnalysis>): Promise<ImageAnalysis> => {
    let pending = cache.get(key);
    if (!pending) {
      pending = work().then((analysis) => {
        done.set(key, analysis);
        return analysis;
      });
      cache.set(key, pending);
      pending.catch(() => {
        cache.delete(key);
        failed.set(key, now());
      });
    }
    return pending;
  };
  const analyze = (repository: string, digest: string) => {
    const key = `${repository}@${digest}`;
    return memo(key, () => run(key, { name: key, roots: async () => [{ digest }], manifest: read, blob: read, layer: stream }, `${options.registryHost}/${key}`));
  };
  const drain = async () => {
    if (running) return;
    running = true;
    try {
      for (let next = queue.shift(); next; next = queue.shift()) await next().catch(() => undefined);
    } finally {
      running = false;
    }
  };
  return {
    analyze,
    analyzeSource: (key, source) => memo(`source:${key}`, () => run(key, source)),
    peek: (repository, digest) => {
      const key = `${repository}@${digest}`;
      const found = done.get(key);
      const failedAt = failed.get(key);
      const mayRetry = failedAt === undefined || now() - failedAt >= FAILED_RETRY_MS;
      if (!found && mayRetry && !cache.has(key) && !queue.some((job) => (job as { key?: string }).key === key)) {
        const job = Object.assign(() => analyze(repository, digest), { key });
        queue.push(job);
        void drain();
      }
      return found;
    },
  };
}
