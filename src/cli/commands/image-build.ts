import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError, readInputText, writeFileAtomic, pathExists } from '../../lib/index.ts';
import { applyImagePlan, parseLockFile, planImageBuild } from '../../image/index.ts';
import type { BuildImageResult, ImagePlan } from '../../image/index.ts';
import { goJson, parseImageReference, writeDockerArchive, writeOciLayout } from '../../oci/index.ts';
import { parseSbomFormats } from '../../sbom/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { addImageOptions, buildOptionsFromFlags, loadConfigFromFlags, openImageRepositories, startImageProgress, usage } from './image-options.ts';
import type { ImageFlags } from './image-options.ts';

interface BuildFlags extends ImageFlags {
  ociLayout?: string;
  sbomPath?: string;
  sbomFormats?: string;
  sbom?: boolean;
  lockfile?: string;
  overwrite?: boolean;
  dryRun?: boolean;
}


function sbomFiles(result: BuildImageResult, formats: Set<string>): Array<[name: string, body: unknown]> {
  const files: Array<[string, unknown]> = [];
  if (formats.has('spdx')) {
    for (const [arch, doc] of result.spdx.perArch) files.push([`sbom-${arch}.spdx.json`, doc]);
    files.push(['sbom-index.spdx.json', result.spdx.index]);
  }
  if (formats.has('cyclonedx')) for (const [arch, doc] of result.cyclonedx) files.push([`sbom-${arch}.cdx.json`, doc]);
  return files;
}

/** A summary of a build for `--json` and the human output. */
export function buildSummary(result: BuildImageResult, outputs: Record<string, string | string[]>): Record<string, unknown> {
  return {
    index: { digest: result.index.index.digest, size: result.index.index.data.length },
    created: result.created,
    images: result.arches.map((output) => ({
      arch: output.arch.oci,
      digest: output.result.image.manifest.digest,
      config: output.result.image.config.digest,
      layers: output.result.layers.map((layer) => ({ digest: layer.digest, diffId: layer.diffId, size: layer.size, uncompressedSize: layer.uncompressedSize })),
      size: output.result.layers.reduce((sum, layer) => sum + layer.size, 0) + output.result.image.config.data.length + output.result.image.manifest.data.length,
      packages: output.result.installed.length,
    })),
    outputs,
  };
}

/** `kiln image build CONFIG TAG [OUTPUT.tar]`: apko build. */
export function registerImageBuild(image: Command, context: CliContext): void {
  addImageOptions(
    image
      .command('build')
      .description('build an image (OCI index, one image per arch) from an apko configuration')
      .argument('<config>', 'image configuration (YAML or JSON)')
      .argument('<tag>', 'image reference, e.g. registry.example.com/app:1.0')
      .argument('[output]', 'docker-archive tarball to write (podman/docker load)'),
  )
    .option('--oci-layout <DIR>', 'also (or instead) write an OCI image layout directory')
    .option('--sbom-path <DIR>', 'directory for SBOM files (sbom-<arch>.spdx.json, sbom-index.spdx.json)')
    .option('--sbom-formats <LIST>', 'comma-separated: spdx, cyclonedx', 'spdx')
    .option('--no-sbom', 'do not write SBOM files')
    .option('--lockfile <FILE>', 'build exactly the packages of this lock file (kiln image lock)')
    .option('--build-date <RFC3339>', 'build date (default: newest package build date; SOURCE_DATE_EPOCH overrides)')
    .option('--annotations <KEY:VALUE>', 'annotation to add (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--overwrite', 'replace existing output files instead of failing')
    .option('--dry-run', 'resolve and print the build plan as JSON; fetch and write nothing')
    .option('--json', 'print a JSON summary (digests, sizes, package counts) on stdout')
    .action(async (configPath: string, tag: string, output: string | undefined, flags: BuildFlags) => {
      if (!output && !flags.ociLayout && !flags.dryRun) throw usage('give an OUTPUT tarball and/or --oci-layout DIR');
      const formats = new Set(parseSbomFormats(flags.sbomFormats ?? 'spdx', '--sbom-formats'));
      const tarPath = output ? resolve(context.cwd, output) : undefined;
      const layoutPath = flags.ociLayout ? resolve(context.cwd, flags.ociLayout) : undefined;
      const sbomDir = flags.sbom !== false && flags.sbomPath ? resolve(context.cwd, flags.sbomPath) : undefined;
      const options = buildOptionsFromFlags(context, flags);
      parseImageReference(tag);
      const loaded = await loadConfigFromFlags(context, configPath, flags);
      const lock = flags.lockfile ? parseLockFile(await readInputText(resolve(context.cwd, flags.lockfile), { what: 'lock file' }), flags.lockfile) : undefined;
      // fail before any work when an output is in the way (a dry run writes nothing: nothing is in its way)
      if (!flags.overwrite && !flags.dryRun) {
        for (const path of [tarPath, layoutPath]) {
          if (path && (await pathExists(path))) throw new KilnError('FILE_EXISTS', `${path}: already exists (remove it or pass --overwrite)`, { detail: { path } });
        }
      }
      const handle = await openImageRepositories(context, loaded, flags);
      const progress = startImageProgress(context);
      let plan: ImagePlan;
      let result: BuildImageResult | undefined;
      try {
        const buildOptions = { ...options, loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag, ...(lock ? { lock } : {}), ...(progress ? { onProgress: progress.update } : {}) };
        plan = await planImageBuild(buildOptions);
        if (!flags.dryRun) result = await applyImagePlan(plan, buildOptions);
      } finally {
        progress?.stop();
        handle.close();
      }
      if (!result) {
        printJson(context, plan);
        return;
      }
      const sboms = sbomDir ? sbomFiles(result, formats) : [];
      if (sbomDir && !flags.overwrite) {
        for (const [name] of sboms) if (await pathExists(join(sbomDir, name))) throw new KilnError('FILE_EXISTS', `${join(sbomDir, name)}: already exists (remove it or pass --overwrite)`, { detail: { path: join(sbomDir, name) } });
      }
      const outputs: Record<string, string | string[]> = {};
      if (layoutPath) {
        await writeOciLayout(layoutPath, result.index, { refName: parseImageReference(tag).tag ?? 'latest', overwrite: Boolean(flags.overwrite) });
        outputs.ociLayout = layoutPath;
      }
      if (tarPath) {
        await writeDockerArchive(tarPath, result.index, tag, { overwrite: Boolean(flags.overwrite) });
        outputs.tarball = tarPath;
      }
      if (sbomDir) {
        outputs.sboms = [];
        for (const [name, body] of sboms) {
          await writeFileAtomic(join(sbomDir, name), `${goJson(body, 2)}\n`, { exclusive: !flags.overwrite });
          outputs.sboms.push(join(sbomDir, name));
        }
      }
      const summary = buildSummary(result, outputs);
      if (flags.json) printJson(context, summary);
      else {
        context.stdout(`${result.index.index.digest}\n`);
        for (const output of result.arches) context.stdout(`  ${output.arch.oci}: ${output.result.image.manifest.digest} (${plural(output.result.installed.length, 'package')}, ${plural(output.result.layers.length, 'layer')})\n`);
      }
    });
}
