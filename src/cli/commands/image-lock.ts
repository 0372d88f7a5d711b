import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../lib/index.ts';
import { buildImage, formatLockFile } from '../../image/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addImageOptions, buildOptionsFromFlags, loadConfigFromFlags, openImageRepositories, startImageProgress } from './image-options.ts';
import type { ImageFlags } from './image-options.ts';

interface LockFlags extends ImageFlags {
  output?: string;
  overwrite?: boolean;
}

/** `<config without extension>.lock.json`, apko's default lock path. */
function defaultLockPath(config: string): string {
  return `${config.replace(/\.(ya?ml|json)$/i, '')}.lock.json`;
}

/** `kiln image lock CONFIG`: pin exact package versions, URLs and checksums per arch (apko lock). */
export function registerImageLock(image: Command, context: CliContext): void {
  addImageOptions(image.command('lock').description('resolve and verify the packages of a configuration and write a lock file').argument('<config>', 'image configuration'))
    .option('--output <FILE>', 'lock file path (default: CONFIG without extension + .lock.json)')
    .option('--overwrite', 'replace an existing lock file')
    .option('--json', 'print {"lockfile", "packages"} on stdout')
    .action(async (configPath: string, flags: LockFlags) => {
      const loaded = await loadConfigFromFlags(context, configPath, flags);
      const output = resolve(context.cwd, flags.output ?? defaultLockPath(configPath));
      const handle = await openImageRepositories(context, loaded, flags);
      const progress = startImageProgress(context);
      try {
        // Locking verifies every package by assembling it (nothing is written but the lock).
        let result;
        try {
          result = await buildImage({ ...buildOptionsFromFlags(context, flags), loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag: 'kiln.local/lock', ...(progress ? { onProgress: progress.update } : {}) });
        } finally {
          progress?.stop();
        }
        await writeFileAtomic(output, formatLockFile(result.lock), { exclusive: !flags.overwrite });
        if (flags.json) printJson(context, { lockfile: output, packages: result.lock.contents.packages.length });
        else context.stdout(`${output}\n`);
      } finally {
        handle.close();
      }
    });
}
