import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { findArch, parseInstalledDb } from '../apk/index.ts';
import { isKilnError, parseJsonBounded, readInputFile, sha256Hex } from '../lib/index.ts';
import { formatReference, parseImageReference } from '../oci/index.ts';
import type { ImageReference } from '../oci/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import type { TrustPolicy } from '../sign/index.ts';
import { parseOsRelease } from '../image/index.ts';
import { readSbomPackages } from '../sbom/index.ts';
import type { SbomContents } from '../sbom/index.ts';
import { ecosystemFromOsRelease, FEED_STALE_AFTER_HOURS, scanContents } from '../vuln/index.ts';
import type { AdvisoryFile, SlaPolicy, VulnIndex } from '../vuln/index.ts';
import { ComplianceError } from './errors.ts';
import type { CheckedImage, ImageCheckReport } from './format/check-model.ts';
import { imageVariant, runChecks } from './format/checks.ts';
import { mergeLayers, readLayerEntries, resolveImagePath } from './format/image-fs.ts';
import type { LayerEntries } from './format/image-fs.ts';
import { findAttachments } from './attachments.ts';
import type { AttachedArtifacts } from './format/checks.ts';
import type { ImageFile } from './format/image-fs.ts';
import type { ImageVulnerability, RebuiltImage, Reproduction, VerifiedPackageIndex, VulnerabilityScan } from './format/supply-checks.ts';
import { readImageSource, readRegistryImages } from './image-source.ts';
import type { SourceImage } from './image-source.ts';

/** What `kiln comply check` and `report` check. */
export interface CheckImageOptions {
  /** OCI layout directory or docker-archive tarball (resolved against `cwd`), or, when no such path
   *  exists and `registry` is given, an image reference (`registry/repo:tag`). */
  image: string;
  /** Directory relative paths are resolved against (default the process's). */
  cwd?: string;
  /** Pulls images given by reference, and finds their signatures and attestations. */
  registry?: RegistryClient;
  /** The image's name (`registry/repo:tag`) when the source does not record it (layouts record only tags). */
  name?: string;
  /** SPDX or CycloneDX JSON SBOMs; each is matched to the image of its packages' architecture. */
  sbomPaths?: readonly string[];
  /** Only the image of this platform (`linux/amd64`, or an architecture `amd64`, `x86_64`). */
  platform?: string;
  /** Regular files up to this size are read for secrets (default 1 MiB). */
  keepContentUpTo?: number;
  /** A local vulnerability index to scan each image against (vulnerabilities-within-sla), named
   *  by `label` (its path) in the evidence. The caller opens and closes it. */
  vulnerabilityIndex?: { label: string; index: VulnIndex };
  /** Kiln advisories: the first event of a finding's advisory starts its SLA clock (otherwise the
   *  index's publication date, then its KEV date). */
  advisories?: ReadonlyArray<{ file: AdvisoryFile }>;
  /** Days allowed per severity (default the `kiln vuln sla` policy). */
  slaPolicy?: SlaPolicy;
  /** The time the SLA is evaluated at (default now). */
  now?: Date;
  /** The verified indexes of an architecture (apk name: x86_64) of the repositories to trace
   *  installed packages to (packages-signed); an index that fails verification has `error`. */
  packageIndexes?: (arch: string) => Promise<VerifiedPackageIndex[]>;
  /** A rebuild of the image (OCI layout or docker archive) to compare digests with (reproducible). */
  rebuilt?: string;
  /** Rebuilds a registry image from its verified provenance (`--reproduce`), for reproducible; it
   *  is called once per reference, with the digest the reference resolved to. */
  reproduce?: ImageReproducer;
  /** The key(s) or keyless identity a registry image's signatures and SBOM and provenance
   *  attestations must verify with (signature-attached, sbom-attached, provenance-attached); without
   *  it what is found is not verified and those checks do not run. */
  signaturePolicy?: TrustPolicy;
}

/** The port that rebuilds a published image from its verified SLSA provenance (the CLI wires it
 *  to the factory's reproducer, which compliance does not import). A provenance that does not
 *  verify or lacks inputs is `unverifiable`, never an error. */
export type ImageReproducer = (target: { reference: string; digest: string }) => Promise<Reproduction>;

interface LoadedSbom {
  path: string;
  digest: string;
  contents: SbomContents;
}

async function loadSbom(path: string): Promise<LoadedSbom> {
  const bytes = await readInputFile(path, { what: 'SBOM', maxBytes: 256 * 1024 * 1024 });
  const document = parseJsonBounded(bytes.toString('utf8'), path, { maxBytes: 256 * 1024 * 1024 });
  return { path, digest: `sha256:${sha256Hex(bytes)}`, contents: readSbomPackages(document, path) };
}

function apkArchOf(platform: string): string | undefined {
  const [, architecture, variant] = platform.split('/');
  return architecture ? findArch(variant ? `${architecture}/${variant}` : architecture)?.apk : undefined;
}

function matchesPlatform(image: SourceImage, wanted: string): boolean {
  if (image.platform === wanted) return true;
  const arch = findArch(wanted.replace(/^linux\//, ''))?.apk;
  return arch !== undefined && arch === apkArchOf(image.platform);
}

function sbomFor(image: SourceImage, sboms: readonly LoadedSbom[], imageCount: number): LoadedSbom | undefined {
  const arch = apkArchOf(image.platform);
  const byArch = sboms.find((sbom) => sbom.contents.packages.some((pkg) => pkg.arch !== undefined && pkg.arch === arch));
  if (byArch) return byArch;
  // an SBOM whose purls carry no arch can only be matched when there is one image and one SBOM
  return imageCount === 1 && sboms.length === 1 && !sboms[0]!.contents.packages.some((pkg) => pkg.arch) ? sboms[0] : undefined;
}

/** The image's merged filesystem; every layer must be the uncompressed layer its config's
 *  `rootfs.diff_ids` names (the config digest fixes them, a descriptor digest only the compressed
 *  bytes), one diff id per layer. */
async function imageFiles(image: SourceImage, source: string, keepContentUpTo: number | undefined) {
  const layerSources = image.layers();
  const where = `${source} (${image.platform})`;
  if (!image.diffIds) throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${where}: the image config has no rootfs.diff_ids`, { detail: { source, platform: image.platform } });
  if (image.diffIds.length !== layerSources.length) {
    throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${where}: the image config lists ${image.diffIds.length} diff_ids for ${layerSources.length} layer(s)`, { detail: { source, platform: image.platform } });
  }
  const layers: LayerEntries[] = [];
  for (const [index, layer] of layerSources.entries()) {
    let entries: LayerEntries;
    try {
      entries = await readLayerEntries(layer.chunks(), layer.name, keepContentUpTo === undefined ? {} : { keepContentUpTo });
    } catch (error) {
      if (!isKilnError(error) || error instanceof ComplianceError) throw error;
      throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${layer.name}: not a readable layer: ${error.message}`, { cause: error, detail: { layer: layer.name } });
    }
    if (entries.diffId !== image.diffIds[index]) {
      throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${layer.name}: its uncompressed content is ${entries.diffId}, but the config's diff_ids[${index}] is ${image.diffIds[index]}`, { detail: { layer: layer.name, diffId: entries.diffId, expected: image.diffIds[index] } });
    }
    layers.push(entries);
  }
  return mergeLayers(layers);
}

function fileText(files: ReadonlyMap<string, ImageFile>, path: string): string | undefined {
  const file = resolveImagePath(files, path);
  return file?.type === 'file' && file.content ? file.content.toString('utf8') : undefined;
}

/** When a finding's SLA clock started: its Kiln advisory's first event, else the index's
 *  publication date, else the date CISA added it to KEV. */
function detectionOf(finding: { id: string; aliases: readonly string[]; origin: string }, advisories: CheckImageOptions['advisories'], index: VulnIndex): ImageVulnerability['detected'] {
  const ids = new Set([finding.id, ...finding.aliases]);
  for (const { file } of advisories ?? []) {
    if (file.package !== finding.origin) continue;
    const advisory = file.advisories.find((item) => ids.has(item.id) || (item.aliases ?? []).some((alias) => ids.has(alias)));
    if (advisory) return { at: advisory.events[0]!.timestamp, from: `advisory ${file.package}: ${advisory.events[0]!.type}` };
  }
  const published = index.vulnerabilities([...ids]).map((info) => info.published).filter((date): date is string => Boolean(date)).sort()[0];
  if (published) return { at: published, from: 'published (vulnerability index)' };
  const kev = index.kev([...ids]).map((entry) => entry.dateAdded).sort()[0];
  return kev ? { at: kev, from: 'added to CISA KEV' } : undefined;
}

/** Why the index cannot show the image's packages free of known vulnerabilities, by what kiln
 *  scan matches them with: an Alpine or Debian release needs a feed with records of that release (a
 *  numbered Debian release also reads unstable's tracker lines); Kiln OS, Wolfi and unknown
 *  distributions are matched by upstream ranges, which need an NVD feed (or records of their own).
 *  Undefined when the index covers the image. */
function coverageGap(index: VulnIndex, ecosystem: string | undefined, distribution: string): string | undefined {
  const feeds = index.feeds();
  if (!feeds.length) return 'the vulnerability index holds no feed (kiln vuln db update fills it)';
  if (ecosystem && /^(alpine|debian):/.test(ecosystem)) {
    const isCovered = index.covers?.(ecosystem) !== false || (/^debian:\d+$/.test(ecosystem) && index.covers?.('debian:sid') === true);
    return isCovered ? undefined : `no feed in the vulnerability index holds records for ${ecosystem}, the image's release (NVD's upstream ranges miss the distribution's backported fixes and its own advisories)`;
  }
  if (feeds.some((feed) => feed.type === 'nvd') || (ecosystem !== undefined && index.covers?.(ecosystem) === true)) return undefined;
  return `the vulnerability index holds no NVD feed${ecosystem ? ` and no records for ${ecosystem}` : ''}, so nothing can match the packages of ${ecosystem ?? `distribution ${JSON.stringify(distribution)}`} (matched by upstream ranges)`;
}

function scanImage(name: string, files: ReadonlyMap<string, ImageFile>, options: CheckImageOptions, now: Date): VulnerabilityScan | undefined {
  const source = options.vulnerabilityIndex;
  if (!source) return undefined;
  const feedStates = source.index.feeds();
  const feeds = feedStates.map((feed) => `${feed.name} (updated ${feed.updatedAt})`);
  // the scanner's staleness rule, at the time the SLA is evaluated
  const staleFeeds = feedStates.filter((feed) => (now.getTime() - Date.parse(feed.checkedAt)) / 3_600_000 > FEED_STALE_AFTER_HOURS).map((feed) => `${feed.name} (last checked ${feed.checkedAt})`);
  const base = { index: source.label, feeds, now: now.toISOString(), ...(options.slaPolicy ? { policy: options.slaPolicy } : {}), ...(staleFeeds.length ? { staleFeeds } : {}) };
  const db = fileText(files, 'lib/apk/db/installed');
  if (db === undefined) return { ...base, findings: [] };
  const osText = fileText(files, 'etc/os-release') ?? fileText(files, 'usr/lib/os-release');
  const os = osText ? parseOsRelease(osText) : undefined;
  const ecosystem = os ? ecosystemFromOsRelease(os) : undefined;
  const warnings = ecosystem ? [] : [`${name}: distribution ${JSON.stringify(os?.ID ?? '')} has no distribution feed in Kiln; only upstream (NVD) ranges can match`];
  const packages = parseInstalledDb(db, { source: `${name}:/lib/apk/db/installed` }).map(({ record }) => ({ name: record.name, version: record.version, ...(record.origin ? { origin: record.origin } : {}) }));
  const report = scanContents({ target: name, kind: 'rootfs', packages, ...(os ? { os } : {}), ...(ecosystem ? { ecosystem } : {}), warnings }, source.index, { now });
  const findings = report.findings.map((finding): ImageVulnerability => {
    const detected = detectionOf(finding, options.advisories, source.index);
    return { id: finding.id, aliases: finding.aliases, package: finding.package, version: finding.version, severity: finding.severity, ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}), ...(detected ? { detected } : {}) };
  });
  const gap = coverageGap(source.index, ecosystem, os?.ID ?? '');
  return { ...base, findings, warnings: report.warnings, ...(gap ? { coverageGap: gap } : {}) };
}

function rebuiltFor(image: SourceImage, rebuilt: SourceImage[] | undefined, source: string | undefined): RebuiltImage | undefined {
  if (!rebuilt || !source) return undefined;
  const match = rebuilt.find((candidate) => candidate.platform === image.platform);
  return { source, ...(match ? { configDigest: match.configDigest, ...(match.manifestDigest ? { manifestDigest: match.manifestDigest } : {}) } : {}) };
}

async function isPath(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether an argument names a registry: its first component is a host (has a `.` or a `:` port,
 *  or is `localhost`), as Docker tells a registry from a Docker Hub namespace. */
function hasRegistryHost(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const first = text.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

function referenceOf(text: string): ImageReference | undefined {
  if (text.startsWith('.') || text.startsWith('/')) return undefined;
  // a name without a registry host would be pulled from Docker Hub: a missing local path is an
  // error, never a pull of some other image
  if (!hasRegistryHost(text)) return undefined;
  try {
    return parseImageReference(text);
  } catch {
    return undefined;
  }
}

interface OpenedSource {
  /** What reports call the source. */
  label: string;
  kind: CheckedImage['source'];
  /** `registry/repository` of a registry source. */
  repository?: string;
  images: SourceImage[];
  /** Names images after the source when their ref is only a tag. */
  defaultName: string;
  attachments?: (image: SourceImage) => Promise<AttachedArtifacts>;
  /** The digest the registry reference resolved to. */
  digest?: string;
}

async function openSource(options: CheckImageOptions): Promise<OpenedSource> {
  const path = resolve(options.cwd ?? process.cwd(), options.image);
  const isLocal = await isPath(path);
  const reference = options.registry && !isLocal ? referenceOf(options.image) : undefined;
  if (!isLocal && !reference) {
    // `team/app:1` looks like a Docker Hub name: say how to name a registry image
    const hint = options.registry && /[/:@]/.test(options.image) ? '; not taken for a registry reference, which names its registry host (registry.example.com/team/app:1)' : '';
    throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${path}: no such file or directory${hint}`, { detail: { source: path } });
  }
  if (!reference || !options.registry) {
    const isDirectory = (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
    return { label: path, kind: isDirectory ? 'oci-layout' : 'docker-archive', images: await readImageSource(path), defaultName: basename(path) };
  }
  const client = options.registry;
  const repo = { registry: reference.registry, repository: reference.repository };
  const pulled = await readRegistryImages(client, reference, options.image);
  return {
    label: options.image,
    kind: 'registry',
    repository: `${reference.registry}/${reference.repository}`,
    images: pulled.images,
    defaultName: formatReference(reference),
    digest: pulled.digest,
    attachments: (image) => findAttachments(client, repo, [pulled.digest, ...(image.manifestDigest ? [image.manifestDigest] : [])], options.signaturePolicy),
  };
}

/** Runs the hardening checks on every image of the source (or the one of `platform`). */
export async function checkImage(options: CheckImageOptions): Promise<ImageCheckReport[]> {
  const source = await openSource(options);
  let images = source.images;
  if (options.platform) {
    const wanted = options.platform;
    images = images.filter((image) => matchesPlatform(image, wanted));
    if (!images.length) {
      const all = source.images.map((image) => image.platform);
      throw new ComplianceError('COMPLY_PLATFORM_UNKNOWN', `${source.label}: no image for platform ${wanted} (it has ${all.join(', ') || 'no images'})`, { detail: { platform: wanted, platforms: all } });
    }
  }
  if (!images.length) throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${source.label}: the source holds no image`, { detail: { source: source.label } });
  const sboms: LoadedSbom[] = [];
  for (const path of options.sbomPaths ?? []) sboms.push(await loadSbom(path));
  const used = new Set<LoadedSbom>();
  const now = options.now ?? new Date();
  const rebuiltSource = options.rebuilt ? resolve(options.cwd ?? process.cwd(), options.rebuilt) : undefined;
  const rebuiltImages = rebuiltSource ? await readImageSource(rebuiltSource) : undefined;
  let reproduction: Reproduction | undefined;
  if (options.reproduce) {
    reproduction = source.kind === 'registry' && source.digest
      ? await options.reproduce({ reference: source.label, digest: source.digest })
      : { status: 'unverifiable', reason: `${source.label} is a local file: only a registry reference has provenance to rebuild from` };
  }
  const indexesByArch = new Map<string, VerifiedPackageIndex[]>();
  const reports: ImageCheckReport[] = [];
  for (const image of images) {
    const sbom = sbomFor(image, sboms, images.length);
    if (sbom) used.add(sbom);
    // a layout records only tags: name its images after the layout directory
    const name = options.name ?? (image.ref && /[:/]/.test(image.ref) ? image.ref : `${source.defaultName}${image.ref ? `:${image.ref}` : ''}`);
    const attached = source.attachments ? await source.attachments(image) : undefined;
    const names = [name, ...(image.ref && image.ref !== name ? [image.ref] : [])];
    const files = await imageFiles(image, source.label, options.keepContentUpTo);
    const arch = apkArchOf(image.platform);
    let packageIndexes: VerifiedPackageIndex[] | undefined;
    if (options.packageIndexes && arch) {
      packageIndexes = indexesByArch.get(arch) ?? (await options.packageIndexes(arch));
      indexesByArch.set(arch, packageIndexes);
    }
    const vulnerabilities = scanImage(name, files, options, now);
    const rebuilt = rebuiltFor(image, rebuiltImages, rebuiltSource);
    reports.push(runChecks({
      image: {
        name,
        ...(image.ref ? { ref: image.ref } : {}),
        source: source.kind,
        ...(source.repository ? { repository: source.repository } : {}),
        platform: image.platform,
        ...(image.manifestDigest ? { manifestDigest: image.manifestDigest } : {}),
        configDigest: image.configDigest,
        variant: imageVariant(names, image.annotations),
        ...(sbom ? { sbom: { path: sbom.path, digest: sbom.digest, format: sbom.contents.format } } : {}),
      },
      user: image.user,
      files,
      ...(sbom ? { sbomPackages: sbom.contents.packages } : {}),
      ...(attached ? { attached } : {}),
      ...(vulnerabilities ? { vulnerabilities } : {}),
      ...(packageIndexes ? { packageIndexes } : {}),
      ...(rebuilt ? { rebuilt } : {}),
      ...(reproduction ? { reproduction } : {}),
    }, image.annotations));
  }
  const unused = sboms.filter((sbom) => !used.has(sbom));
  if (unused.length) {
    throw new ComplianceError('COMPLY_SBOM_MISMATCH', `${unused.map((sbom) => sbom.path).join(', ')}: lists no apk package of the architecture of ${images.map((image) => image.platform).join(', ')}`, { detail: { sboms: unused.map((sbom) => sbom.path) } });
  }
  return reports;
}
