import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseInstalledDb } from '../apk/index.ts';
import { parseOsRelease } from '../image/index.ts';
import { parseJsonBounded, readInputText } from '../lib/index.ts';
import { looksLikeTar, openDockerArchive, openOciLayout } from '../oci/index.ts';
import type { ImageEntry } from '../oci/index.ts';
import { readSbomPackages } from '../sbom/index.ts';
import { VulnError } from './errors.ts';
import { ecosystemFromOsRelease, ecosystemFromPurlDistro } from './format/ecosystem.ts';
import type { PackageToMatch } from './matcher.ts';

/** Kinds of scan target. */
export type TargetKind = 'oci-layout' | 'docker-archive' | 'registry' | 'rootfs' | 'installed-db' | 'sbom';

/** What a scan target holds: its distribution and its apk packages. */
export interface TargetContents {
  target: string;
  kind: TargetKind;
  /** The image's platform, for images. */
  platform?: string;
  /** The image manifest's digest, for images read from a registry. */
  digest?: string;
  /** os-release fields, when the target has one. */
  os?: Record<string, string>;
  /** Normalized ecosystem (`alpine:3.20`, `wolfi` …); undefined when the distribution is unknown. */
  ecosystem?: string;
  packages: PackageToMatch[];
  /** Things the reader could not decide and did not guess (an unknown distribution …). */
  warnings: string[];
}

/** Options of {@link readScanTarget}. */
export interface ReadTargetOptions {
  /** `os/arch[/variant]` of the image to scan in a multi-platform layout or archive. */
  platform?: string;
  /** The distribution's ecosystem when the target does not say (an installed database alone). */
  ecosystem?: string;
  /** How to name the target in messages and the report (what the user typed); default the path. */
  name?: string;
}

const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];
const INSTALLED = ['lib/apk/db/installed', 'usr/lib/apk/db/installed'];
const WANTED = new Set([...OS_RELEASE, ...INSTALLED]);

/** True for the image paths a scan reads (os-release and the apk installed database). */
export function isScannedPath(path: string): boolean {
  return WANTED.has(path);
}

function packagesOfDb(text: string, source: string): PackageToMatch[] {
  return parseInstalledDb(text, { source }).map(({ record }) => ({ name: record.name, version: record.version, ...(record.origin ? { origin: record.origin } : {}) }));
}

function finish(base: Omit<TargetContents, 'ecosystem' | 'warnings'>, options: ReadTargetOptions, warnings: string[] = []): TargetContents {
  const fromOs = base.os ? ecosystemFromOsRelease(base.os) : undefined;
  const ecosystem = options.ecosystem ?? fromOs;
  if (!ecosystem) {
    warnings.push(
      base.os
        ? `distribution ${JSON.stringify(base.os.ID ?? '')} ${JSON.stringify(base.os.VERSION_ID ?? '')} (os-release) is not one Kiln has distribution feeds for; only upstream (NVD) ranges can match (set --distro to override)`
        : `${base.target} does not say which distribution it is; only upstream (NVD) ranges can match (set --distro)`,
    );
  }
  return { ...base, ...(ecosystem ? { ecosystem } : {}), warnings };
}

function pickImage(images: readonly ImageEntry[], target: string, platform: string | undefined): ImageEntry {
  if (images.length === 0) throw new VulnError('VULN_NO_PACKAGES', `${target}: holds no image`, { detail: { target } });
  if (platform) {
    const wanted = platform.includes('/') ? platform : `linux/${platform}`;
    const found = images.find((image) => image.platform === wanted);
    if (!found) throw new VulnError('VULN_TARGET_UNSUPPORTED', `${target}: no image for platform ${wanted} (it has ${images.map((image) => image.platform).join(', ')})`, { detail: { target, platform: wanted } });
    return found;
  }
  return images.find((image) => image.platform === 'linux/amd64') ?? images[0]!;
}

/** The scan contents of an image's os-release and apk database files (picked with {@link isScannedPath}). */
export function contentsOfFiles(target: string, kind: TargetKind, files: Map<string, Buffer>, options: ReadTargetOptions, platform?: string): TargetContents {
  const osPath = OS_RELEASE.find((path) => files.has(path));
  const dbPath = INSTALLED.find((path) => files.has(path));
  if (!dbPath) throw new VulnError('VULN_NO_PACKAGES', `${target}: has no apk database (lib/apk/db/installed): nothing to scan`, { detail: { target } });
  const os = osPath ? parseOsRelease(files.get(osPath)!.toString('utf8')) : undefined;
  return finish({ target, kind, ...(platform ? { platform } : {}), ...(os ? { os } : {}), packages: packagesOfDb(files.get(dbPath)!.toString('utf8'), `${target}:${dbPath}`) }, options);
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, 512, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads a scan target, whichever of the supported kinds it is: a directory with index.json (OCI
 *  layout) or a root filesystem; a tar file (docker archive); a JSON file (SPDX or CycloneDX SBOM);
 *  any other file is taken as an apk installed database. */
export async function readScanTarget(path: string, options: ReadTargetOptions = {}): Promise<TargetContents> {
  const target = options.name ?? path;
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new VulnError('VULN_TARGET_UNSUPPORTED', `${target}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`, { cause: error, detail: { target } });
  }
  if (info.isDirectory()) {
    const isLayout = await stat(join(path, 'index.json')).then(
      (entry) => entry.isFile(),
      () => false,
    );
    if (isLayout) {
      const image = pickImage(await openOciLayout(path), target, options.platform);
      return contentsOfFiles(target, 'oci-layout', await image.files((path) => WANTED.has(path)), options, image.platform);
    }
    const files = new Map<string, Buffer>();
    for (const file of WANTED) {
      try {
        files.set(file, Buffer.from(await readInputText(join(path, file), { what: 'root filesystem file' }), 'utf8'));
      } catch {
        // absent: the next candidate path is tried
      }
    }
    return contentsOfFiles(target, 'rootfs', files, options);
  }
  const head = await readHead(path);
  if (looksLikeTar(head)) {
    const image = pickImage(await openDockerArchive(path), target, options.platform);
    return contentsOfFiles(target, 'docker-archive', await image.files((path) => WANTED.has(path)), options, image.platform);
  }
  const text = await readInputText(path, { what: 'scan target', maxBytes: 256 * 1024 * 1024 });
  if (/^\s*\{/.test(text)) {
    const sbom = readSbomPackages(parseJsonBounded(text, target), target);
    if (sbom.packages.length === 0) throw new VulnError('VULN_NO_PACKAGES', `${target}: the ${sbom.format} SBOM lists no apk packages (pkg:apk purls): nothing to scan`, { detail: { target } });
    const first = sbom.packages[0]!;
    const ecosystem = options.ecosystem ?? ecosystemFromPurlDistro(first.namespace, first.distro);
    const warnings = ecosystem ? [] : [`${target}: the SBOM's purls (namespace ${first.namespace}, distro ${first.distro ?? 'none'}) name no distribution Kiln has feeds for; only upstream (NVD) ranges can match (set --distro)`];
    return {
      target,
      kind: 'sbom',
      ...(ecosystem ? { ecosystem } : {}),
      packages: sbom.packages.map((pkg) => ({ name: pkg.name, version: pkg.version, ...(pkg.origin ? { origin: pkg.origin } : {}) })),
      warnings,
    };
  }
  if (!/^[A-Za-z]:/m.test(text.slice(0, 4096))) throw new VulnError('VULN_TARGET_UNSUPPORTED', `${target}: is not an OCI layout, docker archive, root filesystem, apk installed database or JSON SBOM`, { detail: { target } });
  return finish({ target, kind: 'installed-db', packages: packagesOfDb(text, target) }, options);
}
