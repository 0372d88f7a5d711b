import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { isKeyUrl } from '../../apk/repository/index.ts';
import { customizeConfig, formatDerivedConfig, ImageError, loadImageConfig, loadImageConfigText, resolveLocalPath } from '../../image/index.ts';
import type { ImageConfig } from '../../image/index.ts';
import { writeFileAtomic } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { usage } from './image-options.ts';

interface CustomizeFlags {
  add?: string[];
  remove?: string[];
  user?: string;
  env?: string[];
  entrypoint?: string;
  cmd?: string;
  workDir?: string;
  repository?: string[];
  keyring?: string[];
  osDir: string;
  includePaths?: string[];
  output?: string;
  overwrite?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A configuration file, or a Kiln OS catalog image name (`busybox` → `<os-dir>/images/busybox.yaml`). */
function basePath(base: string, context: CliContext, osDir: string): string {
  const asFile = resolve(context.cwd, base);
  if (existsSync(asFile) && statSync(asFile).isFile()) return asFile;
  if (/^[a-z0-9][a-z0-9._-]*$/.test(base)) {
    const catalog = join(resolve(context.cwd, osDir), 'images', `${base}.yaml`);
    if (existsSync(catalog)) return catalog;
  }
  throw new ImageError('IMAGE_CONFIG_INVALID', `${base}: neither a configuration file nor a Kiln OS image in ${join(osDir, 'images')}`, { detail: { file: base } });
}

/** A local path of the base (repository, key file) rewritten relative to the output's directory, so
 *  the derived configuration builds from wherever it is; URLs are kept. */
function relocate(path: string, cwd: string, configDirs: readonly string[], outDir: string): string {
  const words = path.trim().split(/\s+/);
  const tag = words[0]?.startsWith('@') ? `${words.shift()!} ` : '';
  const location = words.join(' ');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) || isKeyUrl(location) || isAbsolute(location)) return path;
  const found = resolveLocalPath(location, cwd, configDirs);
  const rel = relative(outDir, found);
  return `${tag}${rel.startsWith('.') ? rel : `./${rel}`}`;
}

function relocated(config: ImageConfig, cwd: string, configDirs: readonly string[], outDir: string): ImageConfig {
  const move = (list: string[]) => list.map((entry) => relocate(entry, cwd, configDirs, outDir));
  return {
    ...config,
    contents: {
      ...config.contents,
      repositories: move(config.contents.repositories),
      build_repositories: move(config.contents.build_repositories),
      keyring: move(config.contents.keyring),
    },
  };
}

/** `kiln image customize BASE -o derived.yaml`: a derived configuration that adds and removes packages and sets runtime fields. */
export function registerImageCustomize(image: Command, context: CliContext): void {
  image
    .command('customize')
    .description(
      'write a derived apko configuration from a base (a configuration file or a Kiln OS image name): add and remove packages (down to dropping the shell; a removed package is kept out with a !name world entry), set the user, environment, entrypoint, cmd and work-dir. The result records its base (annotations dev.kiln.image.base and .checksum, and a header comment) and builds with kiln image build',
    )
    .argument('<base>', 'base configuration file, or a Kiln OS catalog image name (os/images/NAME.yaml)')
    .option('--add <PKG>', 'package to add (repeatable; version constraints as in contents.packages)', collect)
    .option('--remove <PKG>', 'package of the base to remove (repeatable), e.g. busybox to drop the shell', collect)
    .option('--user <USER>', 'run-as: a user of accounts.users or a numeric uid')
    .option('--env <KEY=VALUE>', 'environment variable to set (repeatable)', collect)
    .option('--entrypoint <COMMAND>', 'entrypoint command line')
    .option('--cmd <ARGS>', 'cmd: default arguments to the entrypoint')
    .option('--work-dir <DIR>', 'working directory')
    .option('-r, --repository <REPO>', 'repository to add to contents.repositories (repeatable)', collect)
    .option('-k, --keyring <KEY>', 'key file or URL to add to contents.keyring (repeatable)', collect)
    .option('--os-dir <DIR>', 'the Kiln OS tree whose images/ a base name is looked up in', 'os')
    .option('--include-paths <DIR>', 'directory to look for the base\'s `include:` files in', collect)
    .option('-o, --output <FILE>', 'where to write the derived configuration (required)')
    .option('--overwrite', 'replace an existing output file')
    .option('--json', 'print the derived configuration and warnings as JSON (the file is still written)')
    .action(async (base: string, flags: CustomizeFlags) => {
      if (!flags.output) throw usage('give -o FILE for the derived configuration');
      const path = basePath(base, context, flags.osDir);
      const loaded = await loadImageConfig(path, { cwd: context.cwd, includePaths: (flags.includePaths ?? []).map((dir) => resolve(context.cwd, dir)) });
      const output = resolve(context.cwd, flags.output);
      const from = { name: base, checksum: loaded.checksum };
      const changes = {
        ...(flags.add ? { add: flags.add } : {}),
        ...(flags.remove ? { remove: flags.remove } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        ...(flags.env ? { env: flags.env } : {}),
        ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
        ...(flags.cmd !== undefined ? { cmd: flags.cmd } : {}),
        ...(flags.workDir !== undefined ? { workDir: flags.workDir } : {}),
        ...(flags.repository ? { repositories: flags.repository } : {}),
        ...(flags.keyring ? { keyring: flags.keyring } : {}),
      };
      const { config, warnings } = customizeConfig(relocated(loaded.config, context.cwd, loaded.configDirs ?? [], dirname(output)), changes, from);
      const text = formatDerivedConfig(config, from, changes);
      // The written text must load as the configuration meant (a bug otherwise, caught before writing).
      const again = loadImageConfigText(text, flags.output);
      if (JSON.stringify(again.config.contents.packages) !== JSON.stringify(config.contents.packages)) throw new Error(`derived configuration does not round-trip: ${flags.output}`);
      await writeFileAtomic(output, text, { exclusive: !flags.overwrite });
      for (const warning of warnings) context.stderr(`warning: ${warning}\n`);
      if (flags.json) printJson(context, { output: flags.output, base: from, config, warnings });
      else context.stdout(`${flags.output}\n`);
    });
}
