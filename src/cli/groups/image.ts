import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerImageBuild } from '../commands/image-build.ts';
import { registerImageLock } from '../commands/image-lock.ts';
import { registerImageLsFiles } from '../commands/image-ls-files.ts';
import { registerImagePublish } from '../commands/image-publish.ts';
import { registerImageShowConfig } from '../commands/image-show-config.ts';

/** Registers the `kiln image …` commands (apko-compatible). */
export function registerImageCommands(program: Command, context: CliContext): void {
  const image = program.command('image').description('build apko-compatible images from apk packages');
  registerImageBuild(image, context);
  registerImagePublish(image, context);
  registerImageLock(image, context);
  registerImageShowConfig(image, context);
  registerImageLsFiles(image, context);
}
