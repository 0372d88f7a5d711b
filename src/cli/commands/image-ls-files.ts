import type { Command } from 'commander';
import { buildImage } from '../../image/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addImageOptions, buildOptionsFromFlags, imageProgress, loadConfigFromFlags, openImageRepositories } from './image-options.ts';
import type { ImageFlags } from './image-options.ts';

const TYPE_CHAR: Record<string, string> = { dir: 'd', file: '-', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' };

function modeString(type: string, mode: number): string {
  const bits = ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'].map((ch, index) => (mode & (1 << (8 - index)) ? ch : '-'));
  if (mode & 0o4000) bits[2] = bits[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) bits[5] = bits[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) bits[8] = bits[8] === 'x' ? 't' : 'T';
  return `${TYPE_CHAR[type] ?? '?'}${bits.join('')}`;
}

/** `kiln image ls-files CONFIG`: every path of the image with type, mode, owner and package. */
export function registerImageLsFiles(image: Command, context: CliContext): void {
  addImageOptions(image.command('ls-files').description('list the files an image would contain, with owners and the package of each').argument('<config>', 'image configuration'))
    .option('--build-date <RFC3339>', 'build date')
    .option('--json', 'print {"arch", "files": [...]} per arch on stdout')
    .action(async (configPath: string, flags: ImageFlags) => {
      const loaded = await loadConfigFromFlags(context, configPath, flags);
      const handle = await openImageRepositories(context, loaded, flags);
      try {
        const progress = imageProgress(context);
        const result = await buildImage({ ...buildOptionsFromFlags(context, flags), loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag: 'kiln.local/ls-files', ...(progress ? { onProgress: progress } : {}) });
        if (flags.json) {
          printJson(context, result.arches.map((output) => ({ arch: output.arch.oci, files: output.result.files })));
          return;
        }
        for (const output of result.arches) {
          if (result.arches.length > 1) context.stdout(`# ${output.arch.oci}\n`);
          for (const file of output.result.files) {
            const link = file.linkTarget !== undefined ? ` -> ${file.linkTarget}` : '';
            context.stdout(`${modeString(file.type, file.mode)} ${file.uid}:${file.gid} ${String(file.size).padStart(8)} ${file.path}${link}${file.owner ? `  [${file.owner}]` : ''}\n`);
          }
        }
      } finally {
        handle.close();
      }
    });
}
