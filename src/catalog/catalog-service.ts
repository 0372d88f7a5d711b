import type { ImageBlobSource, ImageHistoryEntry, ImageHistoryReader } from '../factory/index.ts';
import { SLSA_PROVENANCE_V1 } from '../attest/index.ts';
import { HARDENING_CHECKS_PREDICATE } from '../compliance/index.ts';
import type { CheckResult } from '../compliance/index.ts';
import { BoundedMap, isDigest, parseJsonBounded } from '../lib/index.ts';
import type { Digest, Logger } from '../lib/index.ts';
import type { MetadataStore } from '../metadata/index.ts';
import type { BlobStore } from '../storage/index.ts';
import type { ImageAnalysis, ImageAnalyzer } from './analyze.ts';
import { CatalogError } from './errors.ts';
import { compareSide, countDpkgPackages } from './format/compare-view.ts';
import { cveChart, historyViews, sbomPackageViews, tallyFindings, vulnerabilityViews } from './format/image-view.ts';
import type {
  AttestationView, CheckView, CompareSide, CompareView, ComplianceSummary, HistoryEntryView, ImagePageView, ImageSummary, ImagesListView, ImagesQuery, PlatformSize, ProvenanceView, SeverityTally, TrustBadge,
} from './format/model.ts';
import { attachmentFingerprint, currentTag, filterImages, groupRepositories, hasAttachments, imageDigests, tagViews } from './format/registry-view.ts';
import type { RepositoryGroup } from './format/registry-view.ts';
import { attestationBadge, PREDICATE_LABELS } from './trust.ts';
import type { TrustReport, TrustVerifier } from './trust.ts';
import { MediaTypes, isLayerMediaType } from '../oci/index.ts';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/index.ts';

const SPDX = 'https://spdx.dev/Document';
const CYCLONEDX = 'https://cyclonedx.org/bom';
/** Registry-derived history is read for at most this many digests per image page. */
const HISTORY_LIMIT = 30;

/** Ports and settings of the catalog service. */
export interface CatalogServiceOptions {
  metadata: MetadataStore;
  blobs: BlobStore;
  /** `host:port` users pull from (pull commands, references). */
  registryHost: string;
  trust: TrustVerifier;
  analyzer: ImageAnalyzer;
  history?: ImageHistoryReader;
  /** Images the comparison page may show beside a catalog image, by name (configured, never from a request). */
  comparisons?: ReadonlyMap<string, ImageBlobSource>;
  /** Path of the public key the catalog trusts, for the verify commands it prints. */
  keyPath?: string;
  logger: Logger;
}

interface ParsedManifest {
  mediaType: string;
  manifest?: ImageManifest;
  index?: ImageIndex;
  annotations: Record<string, string>;
}

interface ImageFacts {
  group: RepositoryGroup;
  digest: string;
  parsed: ParsedManifest;
  platforms: PlatformSize[];
  /** Digest of the first (amd64 first) platform's manifest. */
  primary: string;
}

function platformText(descriptor: Descriptor): string {
  const platform = descriptor.platform;
  return platform ? `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}` : 'unknown';
}

/** The catalog: every page's view model from the registry's metadata and blobs, Kiln's verification,
 *  the image analyses (packages, scan, hardening checks) and the factory history. */
export class CatalogService {
  private readonly options: CatalogServiceOptions;
  /** Parsed manifests by digest: a memo that cannot change a result (content-addressed). */
  private readonly manifests = new BoundedMap<string, Promise<ParsedManifest>>(10_000);

  constructor(options: CatalogServiceOptions) {
    this.options = options;
  }

  get registryHost(): string {
    return this.options.registryHost;
  }

  private manifest(digest: string): Promise<ParsedManifest> {
    let pending = this.manifests.get(digest);
    if (!pending) {
      pending = this.options.blobs.read(digest as Digest).then((bytes) => {
        const document = parseJsonBounded(bytes.toString('utf8'), digest) as ImageManifest & ImageIndex;
        const mediaType = document.mediaType ?? (Array.isArray(document.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest);
        return Array.isArray(document.manifests)
          ? { mediaType, index: document as ImageIndex, annotations: document.annotations ?? {} }
          : { mediaType, manifest: document as ImageManifest, annotations: document.annotations ?? {} };
      });
      this.manifests.set(digest, pending);
      pending.catch(() => this.manifests.delete(digest));
    }
    return pending;
  }

  private async groups(): Promise<RepositoryGroup[]> {
    const [manifests, tags] = await Promise.all([this.options.metadata.listAllManifests(), this.options.metadata.listAllTags()]);
    return groupRepositories(manifests, tags);
  }

  private async group(name: string): Promise<RepositoryGroup> {
    const found = (await this.groups()).find((group) => group.name === name);
    if (!found) throw new CatalogError('CATALOG_IMAGE_UNKNOWN', `no image ${JSON.stringify(name)} in this registry`, { detail: { image: name } });
    return found;
  }

  private async facts(group: RepositoryGroup, digest: string): Promise<ImageFacts> {
    const parsed = await this.manifest(digest);
    const manifestSize = (parsed.manifest ? [{ digest, manifest: parsed.manifest, platform: 'linux/amd64' }] : []) as Array<{ digest: string; manifest: ImageManifest; platform: string }>;
    if (parsed.index) {
      const children = parsed.index.manifests.filter((child) => platformText(child) !== 'unknown/unknown' && !child.mediaType.includes('index'));
      const loaded = await Promise.all(children.map(async (child) => ({ digest: child.digest as string, manifest: (await this.manifest(child.digest)).manifest, platform: platformText(child) })));
      for (const child of loaded) if (child.manifest) manifestSize.push(child as { digest: string; manifest: ImageManifest; platform: string });
    }
    const platforms = manifestSize.map((entry) => ({
      platform: entry.platform,
      digest: entry.digest,
      compressedSize: entry.manifest.config.size + entry.manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
    }));
    platforms.sort((a, b) => (a.platform === 'linux/amd64' ? -1 : b.platform === 'linux/amd64' ? 1 : a.platform < b.platform ? -1 : 1));
    return { group, digest, parsed, platforms, primary: platforms[0]?.digest ?? digest };
  }

  private async historyOf(name: string): Promise<ImageHistoryEntry[]> {
    if (!this.options.history) return [];
    try {
      return await this.options.history.history(name);
    } catch (error) {
      this.options.logger.warn({ err: error, image: name }, 'factory history unreadable');
      return [];
    }
  }

  private lastBuilt(facts: ImageFacts, history: readonly ImageHistoryEntry[]): Pick<ImageSummary, 'lastBuilt' | 'lastBuiltSource'> {
    const entry = history.filter((item) => item.digest === facts.digest).at(-1);
    if (entry) return { lastBuilt: entry.publishedAt, lastBuiltSource: 'history' };
    const created = facts.parsed.annotations['org.opencontainers.image.created'];
    if (created) return { lastBuilt: created, lastBuiltSource: 'annotation' };
    const record = facts.group.manifests.get(facts.digest);
    return record ? { lastBuilt: new Date(record.createdAt).toISOString(), lastBuiltSource: 'pushed' } : {};
  }

  private complianceOf(report: TrustReport | undefined, analysis: ImageAnalysis | undefined): ComplianceSummary & { checks: CheckView[] } {
    const attested = report?.attestations.find((attestation) => attestation.predicateType === HARDENING_CHECKS_PREDICATE);
    const predicate = attested?.statement.predicate as { checks?: CheckResult[] } | undefined;
    const checks: CheckResult[] | undefined = Array.isArray(predicate?.checks) ? predicate.checks : analysis?.compliance?.[0]?.checks;
    if (!checks) return { source: 'none', passed: 0, failed: 0, notRun: 0, checks: [] };
    const views = checks.map((check) => ({ id: String(check.id), title: String(check.title ?? check.id), severity: String(check.severity), status: String(check.status), summary: String(check.summary ?? '') }));
    return {
      source: attested && Array.isArray(predicate?.checks) ? 'attested' : 'computed',
      passed: views.filter((check) => check.status === 'pass').length,
      failed: views.filter((check) => check.status === 'fail').length,
      notRun: views.filter((check) => check.status !== 'pass' && check.status !== 'fail').length,
      checks: views,
    };
  }

  private cvesOf(facts: ImageFacts, history: readonly ImageHistoryEntry[], analysis: ImageAnalysis | undefined): { cves?: SeverityTally; cvesNote?: string } {
    if (analysis) return analysis.scan.scanned ? { cves: tallyFindings(analysis.scan.findings) } : { cvesNote: analysis.scan.note ?? 'not scanned' };
    const entry = history.filter((item) => item.digest === facts.digest).at(-1);
    if (entry) return { cves: { ...entry.cves.open } };
    return { cvesNote: 'scan pending' };
  }

  private async trustOf(facts: ImageFacts): Promise<TrustReport> {
    return this.options.trust.verify(facts.group.name, facts.digest, attachmentFingerprint(facts.group, facts.digest));
  }

  /** One row of the images list. */
  private async summary(group: RepositoryGroup): Promise<ImageSummary> {
    const tag = currentTag(group);
    const [facts, history] = await Promise.all([this.facts(group, tag.digest), this.historyOf(group.name)]);
    const report = await this.trustOf(facts);
    const analysis = this.options.analyzer.peek(group.name, tag.digest);
    const attached = hasAttachments(group, tag.digest);
    const compliance = this.complianceOf(report, analysis);
    const title = facts.parsed.annotations['org.opencontainers.image.title'];
    const description = facts.parsed.annotations['org.opencontainers.image.description'];
    return {
      name: group.name,
      ...(title ? { title } : {}),
      ...(description ? { description } : {}),
      digest: tag.digest,
      tags: tagViews(group, 5),
      tagCount: group.tags.length,
      platforms: facts.platforms,
      ...this.lastBuilt(facts, history),
      ...this.cvesOf(facts, history, analysis),
      signature: report.signature,
      provenance: attestationBadge(report, SLSA_PROVENANCE_V1, attached),
      sbom: attestationBadge(report, SPDX, attached),
      compliance: { source: compliance.source, passed: compliance.passed, failed: compliance.failed, notRun: compliance.notRun },
    };
  }

  /** The images list: every repository with an image tag, filtered by the query. */
  async imagesList(query: ImagesQuery): Promise<ImagesListView> {
    const groups = await this.groups();
    const images = await Promise.all(groups.map((group) => this.summary(group)));
    return { kind: 'images', registry: this.options.registryHost, query, total: images.length, images: filterImages(images, query) };
  }

  /** True when a manifest (or index) is an image: an index of image manifests, or a manifest whose
   *  layers are filesystem layers — not a cosign signature or attestation manifest left untagged
   *  when its tag moved. */
  private async isImage(digest: string): Promise<boolean> {
    const parsed = await this.manifest(digest).catch(() => undefined);
    if (!parsed) return false;
    if (parsed.index) return parsed.index.manifests.some((child) => platformText(child) !== 'unknown/unknown');
    return (parsed.manifest?.layers ?? []).some((layer) => isLayerMediaType(layer.mediaType));
  }

  private async registryHistory(group: RepositoryGroup): Promise<HistoryEntryView[]> {
    const candidates = imageDigests(group);
    const images = await Promise.all(candidates.map((record) => this.isImage(record.digest)));
    const records = candidates.filter((_, index) => images[index]).slice(-HISTORY_LIMIT);
    const analyses = await Promise.all(records.map((record) => this.options.analyzer.analyze(group.name, record.digest).catch(() => undefined)));
    return records
      .map((record, index) => {
        const analysis = analyses[index];
        const tags = group.tags.filter((tag) => tag.digest === record.digest).map((tag) => tag.tag);
        return {
          digest: record.digest,
          publishedAt: new Date(record.createdAt).toISOString(),
          tags,
          reasons: ['pushed to the registry (no factory history for this image)'],
          packageChanges: [],
          cvesFixed: [],
          cvesIntroduced: [],
          ...(analysis?.scan.scanned ? { open: tallyFindings(analysis.scan.findings) } : {}),
        };
      })
      .reverse();
  }

  /** The page of one image (its current tag, or `digest` when given). */
  async imagePage(name: string, digest?: string): Promise<ImagePageView> {
    const group = await this.group(name);
    if (digest !== undefined && (!isDigest(digest) || !group.manifests.has(digest as Digest))) {
      throw new CatalogError('CATALOG_IMAGE_UNKNOWN', `no manifest ${digest} in ${name}`, { detail: { image: name, digest } });
    }
    const target = digest ?? currentTag(group).digest;
    const facts = await this.facts(group, target);
    const [report, primaryReport, analysis, factoryHistory] = await Promise.all([
      this.trustOf(facts),
      facts.primary !== facts.digest ? this.options.trust.verify(name, facts.primary, attachmentFingerprint(group, facts.primary)) : undefined,
      this.options.analyzer.analyze(name, target).catch((error: unknown) => {
        this.options.logger.warn({ err: error, image: name, digest: target }, 'image analysis failed');
        return undefined;
      }),
      this.historyOf(name),
    ]);
    const attached = hasAttachments(group, target);
    const sbomReports = [report, ...(primaryReport ? [primaryReport] : [])];
    // Packages: the SBOM attested on the architecture's manifest when its signature verified, else
    // the image's own apk database (read from digest-checked layers).
    const sbomStatement = sbomReports.flatMap((item) => item.attestations).find((attestation) => attestation.predicateType === SPDX && sbomPackageViews(attestation.statement.predicate).length > 0)
      ?? sbomReports.flatMap((item) => item.attestations).find((attestation) => attestation.predicateType === CYCLONEDX && sbomPackageViews(attestation.statement.predicate).length > 0);
    const first = analysis?.platforms[0];
    const packages: ImagePageView['packages'] = sbomStatement
      ? { source: 'sbom', items: sbomPackageViews(sbomStatement.statement.predicate) }
      : first && first.packages.length
        ? { source: 'image', items: first.packages.map((pkg) => ({ name: pkg.name, version: pkg.version, ...(pkg.origin ? { source: pkg.origin } : {}) })).sort((a, b) => (a.name < b.name ? -1 : 1)) }
        : { source: 'none', items: [] };
    const provenanceAttestation = report.attestations.find((attestation) => attestation.predicateType.startsWith('https://slsa.dev/provenance/'));
    const provenancePredicate = provenanceAttestation?.statement.predicate as { buildDefinition?: { buildType?: string; resolvedDependencies?: Array<{ uri?: string; name?: string; digest?: Record<string, string> }> }; runDetails?: { builder?: { id?: string } } } | undefined;
    const provenance: ProvenanceView = {
      badge: attestationBadge(report, 'https://slsa.dev/provenance/', attached),
      ...(provenancePredicate?.runDetails?.builder?.id ? { builder: provenancePredicate.runDetails.builder.id } : {}),
      ...(provenancePredicate?.buildDefinition?.buildType ? { buildType: provenancePredicate.buildDefinition.buildType } : {}),
      materials: (provenancePredicate?.buildDefinition?.resolvedDependencies ?? []).slice(0, 200).map((dep) => {
        // Label a digest by its algorithm: an apk's datahash is not the hash of the file the uri names.
        const [algorithm, value] = dep.digest?.sha256 ? ['sha256', dep.digest.sha256] : (Object.entries(dep.digest ?? {})[0] ?? []);
        return { uri: String(dep.uri ?? dep.name ?? ''), ...(algorithm && value ? { digest: `${algorithm}:${value}` } : {}) };
      }),
    };
    const history = factoryHistory.length ? { source: 'factory' as const, entries: historyViews(factoryHistory) } : { source: 'registry' as const, entries: await this.registryHistory(group) };
    const chart = cveChart(history.entries.map((entry) => ({ digest: entry.digest, at: entry.publishedAt, ...(entry.open ? { open: entry.open } : {}) })));
    const scanned = analysis?.scan.scanned ?? false;
    // Every attestation listed here verified (on the index, or on the first architecture's manifest).
    // One row per predicate type and subject (an attestation stored as a .att layer and as a bundle
    // referrer verifies twice).
    const attestations: AttestationView[] = sbomReports.flatMap((item, index) =>
      [...new Map(item.attestations.map((attestation) => [attestation.predicateType, attestation])).values()].map((attestation) => ({
        type: attestation.predicateType,
        label: PREDICATE_LABELS[attestation.predicateType] ?? attestation.predicateType,
        badge: { state: 'verified' as const, detail: `${index === 0 ? 'on the image' : `on the ${facts.platforms[0]?.platform ?? ''} manifest`}, ${attestationBadge(item, attestation.predicateType, true).detail}` },
      })),
    );
    if (report.attestationsRejected) attestations.push({ type: 'rejected', label: 'other attestations', badge: { state: 'not-verified', detail: report.attestationsRejected } });
    const reference = `${this.options.registryHost}/${name}`;
    const key = this.options.keyPath ?? 'cosign.pub';
    const title = facts.parsed.annotations['org.opencontainers.image.title'];
    const description = facts.parsed.annotations['org.opencontainers.image.description'];
    const sbomBadge = (type: string): TrustBadge => (sbomReports.some((item) => item.attestations.some((attestation) => attestation.predicateType === type)) ? { state: 'verified', detail: 'from a verified attestation' } : attestationBadge(report, type, attached));
    const compliance = this.complianceOf(report, analysis);
    return {
      kind: 'image',
      registry: this.options.registryHost,
      name,
      ...(title ? { title } : {}),
      ...(description ? { description } : {}),
      digest: target,
      annotations: Object.entries(facts.parsed.annotations).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value })),
      tags: tagViews(group),
      pull: { docker: `docker pull ${reference}:${currentTag(group).tag}`, podman: `podman pull ${reference}:${currentTag(group).tag}`, digest: `${reference}@${target}` },
      platforms: facts.platforms,
      packages,
      sboms: [
        { format: 'spdx', href: `/sbom/spdx/${name}?digest=${target}`, badge: sbomBadge(SPDX) },
        { format: 'cyclonedx', href: `/sbom/cyclonedx/${name}?digest=${target}`, badge: sbomBadge(CYCLONEDX) },
      ],
      vulnerabilities: {
        scanned,
        ...(scanned ? {} : { note: analysis?.scan.note ?? 'the image could not be read' }),
        ...(scanned && analysis ? { counts: tallyFindings(analysis.scan.findings) } : {}),
        items: analysis ? vulnerabilityViews(analysis.scan.findings, analysis.scan.suppressed) : [],
      },
      history,
      chart,
      provenance,
      compliance,
      trust: {
        signature: report.signature,
        attestations,
        commands: [
          `kiln verify --key ${key} ${reference}@${target}`,
          `cosign verify --key ${key} ${reference}@${target}`,
          `kiln verify-attestation --key ${key} --type slsaprovenance1 ${reference}@${target}`,
        ],
      },
      ...(first ? { contents: { shell: compareSide({ label: '', reference: '', layers: [], files: first.paths, packages: 0 }).shell, packageManager: compareSide({ label: '', reference: '', layers: [], files: first.paths, packages: 0 }).packageManager } } : {}),
    };
  }

  /** The SBOM document of an image as attested (verified), or CATALOG_SBOM_UNAVAILABLE. */
  async sbom(name: string, format: 'spdx' | 'cyclonedx', digest?: string): Promise<unknown> {
    const group = await this.group(name);
    const target = digest && isDigest(digest) && group.manifests.has(digest as Digest) ? digest : currentTag(group).digest;
    const facts = await this.facts(group, target);
    const type = format === 'spdx' ? SPDX : CYCLONEDX;
    const reports = await Promise.all([...new Set([facts.primary, target])].map((item) => this.options.trust.verify(name, item, attachmentFingerprint(group, item))));
    const found = reports.flatMap((report) => report.attestations).filter((attestation) => attestation.predicateType === type);
    const best = found.find((attestation) => sbomPackageViews(attestation.statement.predicate).length > 0) ?? found[0];
    if (!best) throw new CatalogError('CATALOG_SBOM_UNAVAILABLE', `${name}@${target}: no ${format === 'spdx' ? 'SPDX' : 'CycloneDX'} SBOM attestation that verified with a trusted key`, { detail: { image: name, digest: target, format } });
    return best.statement.predicate;
  }

  private async sideOf(name: string): Promise<CompareSide> {
    const configured = this.options.comparisons?.get(name);
    let analysis: ImageAnalysis;
    let reference: string;
    if (configured) {
      analysis = await this.options.analyzer.analyzeSource(name, configured);
      reference = configured.name;
    } else {
      const group = await this.group(name).catch(() => {
        throw new CatalogError('CATALOG_COMPARE_UNKNOWN', `${JSON.stringify(name)} is neither a catalog image nor a configured comparison image (kiln catalog serve --compare NAME=REF)`, { detail: { image: name } });
      });
      const digest = currentTag(group).digest;
      analysis = await this.options.analyzer.analyze(name, digest);
      reference = `${this.options.registryHost}/${name}@${digest}`;
    }
    const platform = analysis.platforms.find((item) => item.platform === 'linux/amd64') ?? analysis.platforms[0];
    const packages = platform ? platform.packages.length || countDpkgPackages(platform.paths) : 0;
    return compareSide({
      label: name,
      reference,
      ...(platform ? { platform: platform.platform } : {}),
      layers: platform?.layers ?? [],
      files: platform?.paths ?? [],
      packages,
      ...(analysis.scan.scanned ? { cves: tallyFindings(analysis.scan.findings) } : { cvesNote: analysis.scan.note ?? 'not scanned' }),
    });
  }

  /** The comparison page: `left` and `right` are catalog image names or configured comparison names. */
  async compare(left: string | undefined, right: string | undefined): Promise<CompareView> {
    const groups = await this.groups();
    const choices = [...groups.map((group) => group.name), ...(this.options.comparisons?.keys() ?? [])];
    const base: CompareView = { kind: 'compare', registry: this.options.registryHost, choices };
    if (!left || !right) return base;
    const [leftSide, rightSide] = await Promise.all([this.sideOf(left), this.sideOf(right)]);
    return { ...base, left: leftSide, right: rightSide };
  }
}
