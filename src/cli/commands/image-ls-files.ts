import type { Command } from 'commander';
import { buildImage } from '../../image/index.ts';
import type { ImageFileInfo } from '../../image/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addImageOptions, buildOptionsFromFlags, loadConfigFromFlags, openImageRepositories, startImageProgress } from './image-options.ts';
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
      const progress = startImageProgress(context);
      let result;
      try {
        result = await buildImage({ ...buildOptionsFromFlags(context, flags), loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag: 'kiln.local/ls-files', ...(progress ? { onProgress: progress.update } : {}) });
      } finally {
        progress?.stop();
        handle.close();
      }
      if (flags.json) {
        printJson(context, result.arches.map((output) => ({ arch: output.arch.oci, files: output.result.files })));
        return;
      }
      for (const output of result.arches) {
        if (result.arches.length > 1) context.stdout(`# ${output.arch.oci}\n`);
        for (const line of fileLines(output.result.files)) context.stdout(`${line}\n`);
      }
    });
}

/** One line per file, `ls -l` style: owner and size columns as wide as their widest value, so a
 *  long uid:gid or a large file does not push its row out of line. */
export function fileLines(files: readonly ImageFileInfo[]): string[] {
  const owners = files.map((file) => `${file.uid}:${file.gid}`);
  const sizes = files.map((file) => String(file.size));
  const ownerWidth = Math.max(0, ...owners.map((owner) => owner.length));
  const sizeWidth = Math.max(0, ...sizes.map((size) => size.length));
  return files.map((file, index) => {
    const link = file.linkTarget !== undefined ? ` -> ${file.linkTarget}` : '';
    return `${modeString(file.type, file.mode)} ${owners[index]!.padEnd(ownerWidth)} ${sizes[index]!.padStart(sizeWidth)} ${file.path}${link}${file.owner ? `  [${file.owner}]` : ''}`;
  });
}
