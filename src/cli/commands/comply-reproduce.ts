import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { defaultCacheDir, openRepositoryClient } from '../../apk/repository/index.ts';
import type { ImageReproducer, Reproduction } from '../../compliance/index.ts';
import { registrySource, reproduceImage } from '../../factory/index.ts';
import type { ReproduceResult } from '../../factory/index.ts';
import { isKilnError } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { parseImageReference, withDigest } from '../../oci/index.ts';
import type { RegistryClient } from '../../registry-client/index.ts';
import type { CliContext } from '../context.ts';
import { reproduceDifferences, verifiedProvenance } from './image-reproduce.ts';
import { addIdentityOptions, trustPolicyFromFlags } from './trust-options.ts';
import type { IdentityFlags } from './trust-options.ts';

// `kiln comply check --reproduce`: the reproducer port of the compliance service, wired to the
// factory's reproducer as `kiln image reproduce` uses it. Compliance does not import the factory.

/** Adds `--reproduce` and the keyless identity flags of `kiln image reproduce`; `--key` is the
 *  check command's own (a public key here, a signing key for --attest). */
export function addReproduceOptions(command: Command): Command {
  command.option('--reproduce', 'registry images: rebuild the image from its SLSA provenance (verified with --key cosign.pub, --verify-key or a keyless identity) for the reproducible check, as kiln image reproduce does');
  // the same flags as kiln image reproduce, taken from its helper (without its --key)
  for (const option of addIdentityOptions(new Command()).options) if (option.long !== '--key') command.addOption(option);
  return command;
}

/** Codes that mean the provenance cannot be used to rebuild: `not-run`, never pass or fail. */
const UNUSABLE = new Set(['IMAGE_PROVENANCE_MISSING', 'IMAGE_PROVENANCE_INCOMPLETE', 'IMAGE_REPRODUCE_INPUT_CHANGED']);

/** The reproducer for `--reproduce`, or undefined without it. The trust policy is read first, so a
 *  missing --key or identity is bad usage before any image is pulled. */
export async function reproducerFromFlags(
  flags: Omit<IdentityFlags, 'key'> & { reproduce?: boolean; cacheDir?: string },
  keys: readonly string[],
  client: RegistryClient,
  context: CliContext,
): Promise<ImageReproducer | undefined> {
  if (!flags.reproduce) return undefined;
  // the check command's --key is one path (and, with --attest, a signing key): the caller passes
  // the public keys to verify with
  const { reproduce: _reproduce, cacheDir: _cacheDir, key: _key, verifyKey: _verifyKey, ...identity } = flags as typeof flags & { key?: unknown; verifyKey?: unknown };
  const policy = await trustPolicyFromFlags({ ...identity, ...(keys.length ? { key: [...keys] } : {}) }, context);
  return async ({ reference: name, digest }): Promise<Reproduction> => {
    const reference = withDigest(parseImageReference(name), digest as Digest);
    let found;
    try {
      found = await verifiedProvenance(client, reference, policy, context);
    } catch (error) {
      if (isKilnError(error) && error.code === 'IMAGE_PROVENANCE_MISSING') return { status: 'unverifiable', reason: error.message, digest };
      throw error;
    }
    const provenance = found.where;
    const verifiedBy = found.verifiedBy;
    const workDir = await mkdtemp(join(tmpdir(), 'kiln-comply-reproduce-'));
    const handle = await openRepositoryClient({
      cacheDir: flags.cacheDir ? resolve(context.cwd, flags.cacheDir) : defaultCacheDir(context.env, context.env.HOME ?? homedir()),
      // Packages come from the lock and are checked against its checksums; no index is read.
      keyringPaths: [],
      allowUntrusted: true,
    });
    let result: ReproduceResult;
    try {
      result = await reproduceImage({ predicate: found.predicate, where: provenance, published: registrySource(client, reference, name), publishedDigest: digest as Digest, repository: handle.client, workDir });
    } catch (error) {
      if (isKilnError(error) && UNUSABLE.has(error.code)) return { status: 'unverifiable', reason: `${provenance}: ${error.message}`, digest };
      throw error;
    } finally {
      handle.close();
      await rm(workDir, { recursive: true, force: true });
    }
    const by = verifiedBy ? { verifiedBy } : {};
    if (result.reproduced) return { status: 'reproduced', digest: result.digest, provenance, ...by };
    return { status: 'differs', digest: result.digest, rebuilt: result.rebuilt, provenance, ...by, differences: reproduceDifferences(result) };
  };
}
