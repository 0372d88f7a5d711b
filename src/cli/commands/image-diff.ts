import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { diffImages, formatImageDiffTable, openImageSource } from '../../factory/index.ts';
import { KilnError } from '../../lib/index.ts';
import { SqliteVulnIndex } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addRegistryOptions, openClient } from './trust-options.ts';
import type { RegistryFlags } from './trust-options.ts';
import { addVulnDbOption, vulnDbDir, vulnDbPath } from './vuln-options.ts';
import type { VulnDbFlags } from './vuln-options.ts';

interface ImageDiffFlags extends RegistryFlags, VulnDbFlags {
  platform?: string;
  json?: boolean;
  maxFiles?: string;
  distro?: string;
}

/** `kiln image diff A B`: packages, files, sizes and CVEs between two images. */
export function registerImageDiff(image: Command, context: CliContext): void {
  addVulnDbOption(
    addRegistryOptions(
      image
        .command('diff')
        .description(
          'compare two images: packages added/removed/upgraded (apk database), files added/removed/changed (path, size, mode, owner, digest), layer sizes, runtime config, and CVEs fixed/introduced when a local vulnerability index exists. Exit codes: 0 compared (whether or not they differ), 1 a failure, 2 bad usage',
        )
        .argument('<before>', 'image: registry reference, OCI layout (DIR or oci:DIR[:TAG]) or docker archive (FILE or docker-archive:FILE)')
        .argument('<after>', 'image to compare it with (same forms)')
        .option('--platform <OS/ARCH>', 'compare only this platform (default: every platform both have)')
        .option('--distro <ECOSYSTEM>', 'distribution for the CVE diff when the images do not say (alpine:3.20, wolfi, chainguard, debian:12)')
        .option('--max-files <N>', 'file lines shown per platform in the table (--json lists all)', '50')
        .option('--json', 'print the diff as one JSON document'),
    ),
  ).action(async (before: string, after: string, flags: ImageDiffFlags) => {
    const maxFiles = Number(flags.maxFiles ?? '50');
    if (!Number.isInteger(maxFiles) || maxFiles < 0) throw new KilnError('USAGE', `--max-files ${flags.maxFiles}: give a whole number`);
    if (flags.distro !== undefined && !/^(alpine:(\d+\.\d+|edge)|wolfi|chainguard|debian:(\d+|sid))$/.test(flags.distro)) throw new KilnError('USAGE', `--distro ${flags.distro}: use alpine:X.Y, alpine:edge, wolfi, chainguard, debian:N or debian:sid`);
    const registry = () => openClient(flags, context);
    const a = await openImageSource(before, { cwd: context.cwd, registry });
    const b = await openImageSource(after, { cwd: context.cwd, registry });
    const dbPath = vulnDbPath(vulnDbDir(context, flags));
    const index = existsSync(dbPath) ? new SqliteVulnIndex(dbPath, { readonly: true }) : undefined;
    let diff;
    try {
      diff = await diffImages(a, b, { ...(flags.platform ? { platform: flags.platform } : {}), ...(flags.distro ? { ecosystem: flags.distro } : {}), ...(index ? { vulnIndex: index } : {}) });
    } finally {
      index?.close();
    }
    if (flags.json) printJson(context, diff);
    else context.stdout(formatImageDiffTable(diff, { maxFiles }));
  });
}
