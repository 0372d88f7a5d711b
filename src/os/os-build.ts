import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, writeFileAtomic } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { OsError } from './errors.ts';
import { catalogImageName, planCatalog } from './format/catalog-plan.ts';
import type { CatalogPlanEntry } from './format/catalog-plan.ts';

/** Registry name the catalog images are tagged with in their layouts. */
export const OS_IMAGE_REGISTRY = 'kiln.dev/os';

/** What `kiln os build` builds and where. */
export interface OsBuildRequest {
  /** The Kiln OS tree: packages/*.yaml and images/*.yaml. */
  osDir: string;
  /** Repository root (OUT/ARCH/APKINDEX.tar.gz); images go to OUT/images/NAME. */
  outDir: string;
  /** apk arch. */
  arch: string;
  /** Public key the repository is signed with (trusted by the image builds). */
  publicKey: string;
  images: boolean;
}

/** Package result as the package builder reports it. */
interface OsPackageOutcome {
  name: string;
  status: string;
  error?: string;
}

/** The ports the OS build drives: the package builder (build-all over the recipes) and the image
 *  builder (one configuration into an OCI layout and SBOM directory). */
export interface OsBuildPorts {
  buildPackages(recipesDir: string): Promise<{ recipes: OsPackageOutcome[] }>;
  buildImage(request: { name: string; configFile: string; tag: string; layoutDir: string; sbomDir: string }): Promise<{ digest: string; size: number; packages: number }>;
  logger?: Logger;
  onProgress?: (event: { phase: 'packages' | 'image'; name?: string; done?: number; total?: number; status?: string }) => void;
}

/** The outcome of one run. */
export interface OsBuildResult {
  packages: OsPackageOutcome[];
  images: (CatalogPlanEntry & { status: 'built' | 'up-to-date'; digest?: string; size?: number; packages?: number; layout: string })[];
  index: string;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Builds the packages (incremental, through build-all's input hashes), then every catalog image
 *  whose inputs changed. An image is built into a temporary directory and renamed into place, so a
 *  failed run leaves the previous image as it was. */
export async function buildOs(request: OsBuildRequest, ports: OsBuildPorts): Promise<OsBuildResult> {
  const logger = ports.logger ?? silentLogger;
  const packagesDir = join(request.osDir, 'packages');
  const imagesDir = join(request.osDir, 'images');
  for (const dir of [packagesDir, ...(request.images ? [imagesDir] : [])]) {
    await readdir(dir).catch((error: unknown) => {
      throw new OsError('OS_TREE_INVALID', `${dir}: not a directory of Kiln OS ${dir === packagesDir ? 'recipes' : 'image configurations'}`, { cause: error, detail: { path: dir } });
    });
  }
  ports.onProgress?.({ phase: 'packages' });
  const built = await ports.buildPackages(packagesDir);
  const failed = built.recipes.filter((recipe) => recipe.status === 'failed' || recipe.status === 'blocked' || recipe.status === 'invalid');
  if (failed.length > 0) {
    throw new OsError('OS_PACKAGES_FAILED', `${failed.length} Kiln OS recipe${failed.length === 1 ? '' : 's'} did not build: ${failed.map((recipe) => `${recipe.name}${recipe.error ? ` (${recipe.error.split('\n')[0]})` : ` (${recipe.status})`}`).join('; ')}`, { detail: { failed: failed.map((recipe) => recipe.name) } });
  }
  const index = join(request.outDir, request.arch, 'APKINDEX.tar.gz');
  const result: OsBuildResult = { packages: built.recipes, images: [], index };
  if (!request.images) return result;

  const names = (await readdir(imagesDir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  const inputs = [];
  for (const file of names) {
    const name = catalogImageName(file);
    if (!name) throw new OsError('OS_TREE_INVALID', `${join(imagesDir, file)}: an image name must be lower-case letters, digits, '.', '_' or '-'`, { detail: { path: join(imagesDir, file) } });
    const previousHash = await readFile(join(request.outDir, 'images', `${name}.input-hash`), 'utf8').then((text) => text.trim(), () => undefined);
    inputs.push({ name, configTexts: [await readFile(join(imagesDir, file), 'utf8')], ...(previousHash ? { previousHash } : {}), file });
  }
  const plan = planCatalog(inputs, { indexSha256: sha256(await readFile(index)), keySha256: sha256(await readFile(request.publicKey)), arch: request.arch }, sha256);
  await mkdir(join(request.outDir, 'images'), { recursive: true });
  let done = 0;
  for (const entry of plan) {
    const layout = join(request.outDir, 'images', entry.name);
    done++;
    if (entry.upToDate) {
      result.images.push({ ...entry, status: 'up-to-date', layout });
      ports.onProgress?.({ phase: 'image', name: entry.name, done, total: plan.length, status: 'up-to-date' });
      continue;
    }
    const file = inputs.find((input) => input.name === entry.name)!.file;
    const work = await mkdtemp(join(request.outDir, 'images', `.${entry.name}-`));
    try {
      // The catalog configuration stays as written; the build adds the local repository only for
      // resolution (build_repositories are never written into the image).
      const wrapper = join(work, 'config.yaml');
      await writeFile(wrapper, `${JSON.stringify({ include: join(imagesDir, file), contents: { build_repositories: [request.outDir] } })}\n`);
      const image = await ports.buildImage({ name: entry.name, configFile: wrapper, tag: `${OS_IMAGE_REGISTRY}/${entry.name}:latest`, layoutDir: join(work, 'layout'), sbomDir: join(work, 'sbom') });
      await rm(layout, { recursive: true, force: true });
      await rm(`${layout}.sbom`, { recursive: true, force: true });
      await rename(join(work, 'layout'), layout);
      await rename(join(work, 'sbom'), `${layout}.sbom`);
      await writeFileAtomic(join(request.outDir, 'images', `${entry.name}.input-hash`), `${entry.inputHash}\n`);
      result.images.push({ ...entry, status: 'built', layout, ...image });
      logger.info({ image: entry.name, digest: image.digest }, 'catalog image built');
      ports.onProgress?.({ phase: 'image', name: entry.name, done, total: plan.length, status: 'built' });
    } catch (error) {
      throw new OsError('OS_IMAGE_FAILED', `catalog image ${entry.name} (${join(imagesDir, file)}): ${(error as Error).message.split('\n')[0]}`, { cause: error, detail: { image: entry.name } });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return result;
}
