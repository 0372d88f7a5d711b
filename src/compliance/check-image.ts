import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { findArch } from '../apk/index.ts';
import { isKilnError, parseJsonBounded, readInputFile, sha256Hex } from '../lib/index.ts';
import { formatReference, parseImageReference } from '../oci/index.ts';
import type { ImageReference } from '../oci/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { readSbomPackages } from '../sbom/index.ts';
import type { SbomContents } from '../sbom/index.ts';
import { ComplianceError } from './errors.ts';
import type { CheckedImage, ImageCheckReport } from './format/check-model.ts';
import { imageVariant, runChecks } from './format/checks.ts';
import { mergeLayers, readLayerEntries } from './format/image-fs.ts';
import type { LayerEntries } from './format/image-fs.ts';
import { findAttachments } from './attachments.ts';
import type { AttachedArtifacts } from './format/checks.ts';
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
}

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

async function imageFiles(image: SourceImage, keepContentUpTo: number | undefined) {
  const layers: LayerEntries[] = [];
  for (const layer of await image.layers()) {
    try {
      layers.push(readLayerEntries(layer.bytes, layer.name, keepContentUpTo === undefined ? {} : { keepContentUpTo }));
    } catch (error) {
      if (!isKilnError(error)) throw error;
      throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${layer.name}: not a readable layer: ${error.message}`, { cause: error, detail: { layer: layer.name } });
    }
  }
  return mergeLayers(layers);
}

async function isPath(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function referenceOf(text: string): ImageReference | undefined {
  if (text.startsWith('.') || text.startsWith('/')) return undefined;
  try {
    const reference = parseImageReference(text);
    // a bare word would be Docker Hub: only names with a registry host are taken for references
    return text.includes('/') ? reference : undefined;
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
}

async function openSource(options: CheckImageOptions): Promise<OpenedSource> {
  const path = resolve(options.cwd ?? process.cwd(), options.image);
  const reference = options.registry && !(await isPath(path)) ? referenceOf(options.image) : undefined;
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
    attachments: (image) => findAttachments(client, repo, [pulled.digest, ...(image.manifestDigest ? [image.manifestDigest] : [])]),
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
  const reports: ImageCheckReport[] = [];
  for (const image of images) {
    const sbom = sbomFor(image, sboms, images.length);
    if (sbom) used.add(sbom);
    // a layout records only tags: name its images after the layout directory
    const name = options.name ?? (image.ref && /[:/]/.test(image.ref) ? image.ref : `${source.defaultName}${image.ref ? `:${image.ref}` : ''}`);
    const attached = source.attachments ? await source.attachments(image) : undefined;
    const names = [name, ...(image.ref && image.ref !== name ? [image.ref] : [])];
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
      files: await imageFiles(image, options.keepContentUpTo),
      ...(sbom ? { sbomPackages: sbom.contents.packages } : {}),
      ...(attached ? { attached } : {}),
    }, image.annotations));
  }
  const unused = sboms.filter((sbom) => !used.has(sbom));
  if (unused.length) {
    throw new ComplianceError('COMPLY_SBOM_MISMATCH', `${unused.map((sbom) => sbom.path).join(', ')}: lists no apk package of the architecture of ${images.map((image) => image.platform).join(', ')}`, { detail: { sboms: unused.map((sbom) => sbom.path) } });
  }
  return reports;
}
