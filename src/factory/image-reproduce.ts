import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildImage, ImageError, loadImageConfig, parseBuildDate, planReproduce } from '../image/index.ts';
import type { BuildImageResult, PackageRepositoryPort, ReproducePlan } from '../image/index.ts';
import { isKilnError } from '../lib/index.ts';
import type { Digest, Logger } from '../lib/index.ts';
import type { ImageDiff } from './format/image-diff.ts';
import { diffImages } from './image-diff.ts';
import { builtIndexSource } from './image-source.ts';
import type { ImageBlobSource } from './image-snapshot.ts';

// `kiln image reproduce`: rebuild a published image from the inputs its (verified) provenance
// records — configuration files, the lock (packages by checksum, keys by content), build flags and
// SOURCE_DATE_EPOCH — and compare digests; when they differ, the image diff names the layers and
// files.

/** Options of {@link reproduceImage}. */
export interface ReproduceImageOptions {
  /** The provenance predicate, already verified by the caller; `where` names it in messages. */
  predicate: unknown;
  where: string;
  /** The published image and the digest it was published under. */
  published: ImageBlobSource;
  publishedDigest: Digest;
  /** Where packages are fetched (and verified against the recorded checksums). */
  repository: PackageRepositoryPort;
  /** An empty directory the recorded configuration files are written into. */
  workDir: string;
  logger?: Logger;
  onProgress?: (phase: string, done: number, total: number, item: string) => void;
}

/** What a reproduction found. */
export interface ReproduceResult {
  reproduced: boolean;
  /** The published digest. */
  digest: Digest;
  /** The digest of the rebuild. */
  rebuilt: Digest;
  /** What was rebuilt from: config path, archs, packages per arch, build date. */
  inputs: { config: string; archs: string[]; packages: number; created: string; sourceDateEpoch?: number };
  /** Present when the digests differ: published (before) against rebuilt (after). */
  diff?: ImageDiff;
}

const INPUT_CHANGED = /^APK_REPO_(PACKAGE_[A-Z_]*MISMATCH|NOT_FOUND)$/;

async function layOut(plan: ReproducePlan, dir: string): Promise<string> {
  for (const file of plan.configFiles) {
    const path = join(dir, file.name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.bytes, { flag: 'wx' });
  }
  return plan.configFiles[0]!.name;
}

/** Rebuilds the image the provenance describes and compares it with the published one. */
export async function reproduceImage(options: ReproduceImageOptions): Promise<ReproduceResult> {
  const plan = planReproduce(options.predicate, options.where);
  const main = await layOut(plan, options.workDir);
  const includeFiles = new Map(plan.configFiles.filter((file) => file.include !== undefined).map((file) => [file.include!, join(options.workDir, file.name)]));
  const loaded = await loadImageConfig(main, { cwd: options.workDir, includeFiles });
  let result: BuildImageResult;
  try {
    result = await buildImage({
      loaded,
      repository: options.repository,
      tag: plan.tag,
      archs: plan.build.archs,
      lock: plan.lock,
      cwd: options.workDir,
      recordedKeys: plan.keys,
      annotations: plan.build.annotations ?? {},
      ...(plan.build.buildDate ? { buildDate: parseBuildDate(plan.build.buildDate) } : {}),
      ...(plan.sourceDateEpoch !== undefined ? { sourceDateEpoch: plan.sourceDateEpoch } : {}),
      ...(plan.build.repositoryAppend ? { repositoryAppend: plan.build.repositoryAppend } : {}),
      ...(plan.build.keyringAppend ? { keyringAppend: plan.build.keyringAppend } : {}),
      ...(plan.build.packageAppend ? { packageAppend: plan.build.packageAppend } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    if (isKilnError(error) && INPUT_CHANGED.test(error.code)) {
      throw new ImageError('IMAGE_REPRODUCE_INPUT_CHANGED', `${options.where}: a recorded input is no longer what it was: ${error.message}`, { cause: error, detail: { provenance: options.where, code: error.code } });
    }
    throw error;
  }
  // The provenance is attached to the index and to each arch image: either may be the one asked about.
  const archMatch = result.arches.find((output) => output.result.image.manifest.digest === options.publishedDigest);
  const rebuilt = archMatch ? archMatch.result.image.manifest.digest : result.index.index.digest;
  const inputs = {
    config: plan.configPath,
    archs: result.arches.map((output) => output.arch.oci),
    packages: plan.lock.contents.packages.length,
    created: result.created,
    ...(plan.sourceDateEpoch !== undefined ? { sourceDateEpoch: plan.sourceDateEpoch } : {}),
  };
  if (rebuilt === options.publishedDigest) return { reproduced: true, digest: options.publishedDigest, rebuilt, inputs };
  const diff = await diffImages(options.published, builtIndexSource(result.index, `rebuilt ${rebuilt}`), { compareMtime: true, notScannedReason: 'not needed to reproduce' });
  return { reproduced: false, digest: options.publishedDigest, rebuilt, inputs, diff };
}
