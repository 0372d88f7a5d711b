import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ImageConfig } from '../../image/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { loadConfigFromFlags } from './image-options.ts';

/** Replaces the password of `user:password@` in URLs. */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]+):[^/@]*@/i, '$1:REDACTED@');
}

/** The configuration with credentials in repository and keyring URLs redacted. */
function redactedConfig(config: ImageConfig): ImageConfig {
  return {
    ...config,
    contents: {
      ...config.contents,
      repositories: config.contents.repositories.map(redact),
      build_repositories: config.contents.build_repositories.map(redact),
      runtime_repositories: config.contents.runtime_repositories.map(redact),
      keyring: config.contents.keyring.map(redact),
    },
  };
}

/** `kiln image show-config CONFIG`: the merged, validated configuration. */
export function registerImageShowConfig(image: Command, context: CliContext): void {
  image
    .command('show-config')
    .description('print the merged and validated image configuration (YAML; --json for JSON)')
    .argument('<config>', 'image configuration')
    .option('--include-paths <DIR>', 'directory to look for `include:` files in', (value: string, previous: string[] = []) => [...previous, value])
    .option('--json', 'print JSON instead of YAML')
    .action(async (configPath: string, flags: { includePaths?: string[]; json?: boolean }) => {
      const loaded = await loadConfigFromFlags(context, configPath, flags);
      const config = redactedConfig(loaded.config);
      if (flags.json) printJson(context, { config, checksum: loaded.checksum, files: loaded.files });
      else context.stdout(stringify(config, { lineWidth: 0 }));
    });
}
