import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CheckImageOptions } from '../../compliance/index.ts';
import { dockerConfigCredentials, RegistryClient } from '../../registry-client/index.ts';
import type { CliContext } from '../context.ts';
import { collect } from './pkg-options.ts';

/** Flags shared by `kiln comply check` and `kiln comply report`. */
export interface ComplyFlags {
  sbom?: string[];
  platform?: string;
  name?: string;
  allowInsecureRegistry?: boolean;
}

/** Adds the image-selection flags of the comply commands. */
export function addComplyOptions(command: Command): Command {
  return command
    .argument('<image>', 'OCI image layout directory, docker-archive tarball (kiln image build output), or a registry reference (registry/repo:tag)')
    .option('--sbom <FILE>', 'SPDX or CycloneDX JSON SBOM of the image, for the sbom-packages check (repeatable: one per architecture)', collect)
    .option('--platform <PLATFORM>', 'check only the image of this platform (linux/amd64, amd64, x86_64)')
    .option('--name <REF>', 'the image\'s name (registry/repo:tag) when the source does not record it; a name ending in -dev marks a dev variant')
    .option('--allow-insecure-registry', 'allow plain HTTP to a registry that is not on loopback');
}

/** The service options of the flags, paths resolved against the working directory. */
export function checkOptionsFromFlags(context: CliContext, image: string, flags: ComplyFlags): CheckImageOptions {
  return {
    image,
    cwd: context.cwd,
    registry: new RegistryClient({ credentials: dockerConfigCredentials(context.env), allowInsecure: Boolean(flags.allowInsecureRegistry), userAgent: 'kiln' }),
    ...(flags.sbom ? { sbomPaths: flags.sbom.map((path) => resolve(context.cwd, path)) } : {}),
    ...(flags.platform ? { platform: flags.platform } : {}),
    ...(flags.name ? { name: flags.name } : {}),
  };
}
