import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../lib/index.ts';
import { buildImage, parseLockFile, publishIndex } from '../../image/index.ts';
import { goJson } from '../../oci/index.ts';
import { dockerConfigCredentials, parseReference, RegistryClient } from '../../registry-client/index.ts';
import { readFile } from 'node:fs/promises';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { buildSummary } from './image-build.ts';
import { addImageOptions, buildOptionsFromFlags, imageProgress, loadConfigFromFlags, openImageRepositories, usage } from './image-options.ts';
import type { ImageFlags } from './image-options.ts';

interface PublishFlags extends ImageFlags {
  sbomPath?: string;
  lockfile?: string;
  imageRefs?: string;
  allowInsecure?: boolean;
  overwrite?: boolean;
}

/** `kiln image publish CONFIG TAG...`: build, push each arch image by digest and the index to every tag. */
export function registerImagePublish(image: Command, context: CliContext): void {
  addImageOptions(
    image
      .command('publish')
      .description('build an image and push it (per-arch images by digest, the index to every tag), like apko publish')
      .argument('<config>', 'image configuration')
      .argument('<tags...>', 'references to push, e.g. registry.example.com/app:1.0'),
  )
    .option('--sbom-path <DIR>', 'also write the SPDX SBOMs into this directory')
    .option('--lockfile <FILE>', 'build exactly the packages of this lock file')
    .option('--build-date <RFC3339>', 'build date (default: newest package build date; SOURCE_DATE_EPOCH overrides)')
    .option('--annotations <KEY:VALUE>', 'annotation to add (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--image-refs <FILE>', 'write the pushed references to this file, one per line')
    .option('--allow-insecure', 'allow plain HTTP to registries that are not on loopback')
    .option('--overwrite', 'replace existing --image-refs / SBOM files')
    .option('--json', 'print a JSON summary with the pushed references on stdout')
    .action(async (configPath: string, tags: string[], flags: PublishFlags) => {
      if (tags.length === 0) throw usage('give at least one tag');
      const targets = tags.map((tag) => parseReference(tag));
      for (const [index, target] of targets.entries()) if (target.digest) throw usage(`${tags[index]!}: publish needs tags, not digests`);
      const loaded = await loadConfigFromFlags(context, configPath, flags);
      const lock = flags.lockfile ? parseLockFile(await readFile(resolve(context.cwd, flags.lockfile), 'utf8'), flags.lockfile) : undefined;
      const handle = await openImageRepositories(context, loaded, flags);
      let result;
      try {
        const progress = imageProgress(context);
        result = await buildImage({ ...buildOptionsFromFlags(context, flags), loaded, repository: handle.client, tag: tags[0]!, ...(lock ? { lock } : {}), ...(progress ? { onProgress: progress } : {}) });
      } finally {
        handle.close();
      }
      const client = new RegistryClient({ credentials: dockerConfigCredentials(), ...(flags.allowInsecure ? { allowInsecure: true } : {}) });
      const refs = await publishIndex(client, result.index, targets, context.isTTY ? (item) => context.stderr(`\r\u001b[Kpush ${item}`) : undefined);
      if (context.isTTY) context.stderr('\n');
      if (flags.sbomPath) {
        const dir = resolve(context.cwd, flags.sbomPath);
        for (const [arch, doc] of result.spdx.perArch) await writeFileAtomic(join(dir, `sbom-${arch}.spdx.json`), `${goJson(doc, 2)}\n`, { exclusive: !flags.overwrite });
        await writeFileAtomic(join(dir, 'sbom-index.spdx.json'), `${goJson(result.spdx.index, 2)}\n`, { exclusive: !flags.overwrite });
      }
      if (flags.imageRefs) await writeFileAtomic(resolve(context.cwd, flags.imageRefs), refs.map((ref) => `${ref}\n`).join(''), { exclusive: !flags.overwrite });
      if (flags.json) printJson(context, { ...buildSummary(result, {}), refs });
      else context.stdout(`${refs[0]!}\n`);
    });
}
