import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { defaultCacheDir, openRepositoryClient } from '../../apk/repository/index.ts';
import { AttestError, downloadAttestations, SLSA_PROVENANCE_V1, verifyAttestations } from '../../attest/index.ts';
import { describeChange, formatImageDiffTable, registrySource, reproduceImage } from '../../factory/index.ts';
import type { ReproduceResult } from '../../factory/index.ts';
import { ImageError, KILN_IMAGE_BUILD_TYPE } from '../../image/index.ts';
import { parseJsonBounded } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { withDigest } from '../../oci/index.ts';
import type { ImageReference } from '../../oci/index.ts';
import type { RegistryClient } from '../../registry-client/index.ts';
import type { TrustPolicy } from '../../sign/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { startImageProgress } from './image-options.ts';
import { addIdentityOptions, addRegistryOptions, boolFlag, imageArgument, openClient, parseBool, positionals, signatureRepository, trustPolicyFromFlags } from './trust-options.ts';
import type { IdentityFlags, RegistryFlags } from './trust-options.ts';

interface ReproduceFlags extends IdentityFlags, RegistryFlags {
  insecureIgnoreSignature?: boolean;
  cacheDir?: string;
  json?: boolean;
}

/** A verified (or, on request, unverified) Kiln provenance and how to name it. */
export interface Provenance {
  predicate: unknown;
  /** How the provenance is named in messages. */
  where: string;
  verifiedBy?: string;
}

function isKilnBuild(predicate: unknown): boolean {
  return (predicate as { buildDefinition?: { buildType?: unknown } } | null)?.buildDefinition?.buildType === KILN_IMAGE_BUILD_TYPE;
}

/** The newest Kiln provenance attached to the digest that verifies under the policy
 *  (`kiln image reproduce` and `kiln comply check --reproduce`); IMAGE_PROVENANCE_MISSING otherwise. */
export async function verifiedProvenance(client: RegistryClient, reference: ImageReference, policy: TrustPolicy, context: CliContext): Promise<Provenance> {
  let verified;
  try {
    const store = signatureRepository(context);
    verified = await verifyAttestations({ client, reference, policy, predicateType: SLSA_PROVENANCE_V1, ...(store ? { signatureRepository: store } : {}) });
  } catch (error) {
    if (error instanceof AttestError) {
      throw new ImageError('IMAGE_PROVENANCE_MISSING', `${reference.registry}/${reference.repository}@${reference.digest!}: no SLSA provenance that verifies: ${error.message}`, { cause: error, detail: { digest: reference.digest } });
    }
    throw error;
  }
  const kiln = verified.filter((attestation) => isKilnBuild(attestation.statement.predicate));
  if (kiln.length === 0) throw new ImageError('IMAGE_PROVENANCE_MISSING', `${reference.registry}/${reference.repository}@${reference.digest!}: its verified provenance was not written by kiln image publish (build type ${KILN_IMAGE_BUILD_TYPE})`, { detail: { digest: reference.digest } });
  const time = (attestation: (typeof kiln)[number]) => (attestation.attestedAt?.time ?? attestation.producedAt ?? new Date(0)).getTime();
  const newest = kiln.reduce((best, attestation) => (time(attestation) > time(best) ? attestation : best));
  return {
    predicate: newest.statement.predicate,
    where: `provenance ${newest.digest}`,
    verifiedBy: newest.keyHint ? `key ${newest.keyHint}` : newest.identity?.subjectAlternativeName ? `${newest.identity.subjectAlternativeName} (${newest.identity.issuer ?? 'unknown issuer'})` : 'policy',
  };
}

/** The first Kiln provenance attached, signature NOT checked (--insecure-ignore-signature). */
async function unverifiedProvenance(client: RegistryClient, reference: ImageReference, context: CliContext): Promise<Provenance> {
  const store = signatureRepository(context);
  const found = await downloadAttestations(client, reference, { predicateType: SLSA_PROVENANCE_V1, ...(store ? { signatureRepository: store } : {}) });
  for (const attestation of found) {
    let statement: { predicate?: unknown };
    try {
      statement = parseJsonBounded(Buffer.from(attestation.envelope.payload, 'base64').toString('utf8'), `attestation ${attestation.digest}`) as { predicate?: unknown };
    } catch {
      continue;
    }
    if (isKilnBuild(statement.predicate)) return { predicate: statement.predicate, where: `provenance ${attestation.digest}` };
  }
  throw new ImageError('IMAGE_PROVENANCE_MISSING', `${reference.registry}/${reference.repository}@${reference.digest!}: no SLSA provenance written by kiln image publish is attached`, { detail: { digest: reference.digest } });
}

/** What differs between a published image and its rebuild, one line per layer, file (at most 20
 *  of each kind) and config field, by platform. */
export function reproduceDifferences(result: ReproduceResult): Array<{ platform: string; detail: string }> {
  const out: Array<{ platform: string; detail: string }> = [];
  for (const { platform, identical, layers, files, config } of result.diff?.platforms ?? []) {
    if (identical) continue;
    for (const layer of layers) out.push({ platform, detail: `layer ${layer.index} differs: ${layer.before?.digest ?? '(none)'} published, ${layer.after?.digest ?? '(none)'} rebuilt` });
    for (const change of files.changed.slice(0, 20)) out.push({ platform, detail: `${change.path}: ${describeChange(change)}` });
    for (const file of files.added.slice(0, 20)) out.push({ platform, detail: `${file.path}: only in the rebuild` });
    for (const file of files.removed.slice(0, 20)) out.push({ platform, detail: `${file.path}: only in the published image` });
    for (const field of config) out.push({ platform, detail: `config ${field.field}: ${JSON.stringify(field.before ?? null)} published, ${JSON.stringify(field.after ?? null)} rebuilt` });
  }
  return out;
}

function summary(result: ReproduceResult, image: string, provenance: Provenance): string {
  if (result.reproduced) return `reproduced ${result.digest}\n`;
  const lines = [`not reproduced: ${image} is ${result.digest}, the rebuild from ${provenance.where} is ${result.rebuilt}`];
  for (const { platform, detail } of reproduceDifferences(result)) lines.push(`${platform}: ${detail}`);
  return `${lines.join('\n')}\n`;
}

/** `kiln image reproduce REF`: rebuild a published image from its verified provenance and compare digests. */
export function registerImageReproduce(image: Command, context: CliContext): void {
  addRegistryOptions(
    addIdentityOptions(
      image
        .command('reproduce')
        .description(
          'rebuild a published image from the inputs its SLSA provenance records (configuration, locked packages by checksum, keys, build date, archs) and say "reproduced DIGEST" or name the layers and files that differ. The provenance must verify with --key or a keyless identity. Exit codes: 0 reproduced, 1 not reproduced or a failure, 2 bad usage',
        )
        .argument('[image]', 'published image reference (tag or digest)'),
    )
      .addOption(new Option('--insecure-ignore-signature [BOOL]', 'use the attached provenance without verifying its signature (anyone who can push to the repository can forge it)').argParser(parseBool('--insecure-ignore-signature')))
      .option('--cache-dir <DIR>', 'package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)')
      .option('--json', 'print the result (and the diff when not reproduced) as JSON'),
  ).action(async (imageArg: string | undefined, flags: ReproduceFlags) => {
    const [name] = positionals(imageArg === undefined ? [] : [imageArg], flags);
    const reference = imageArgument(name!);
    const client = openClient(flags, context);
    const digest = reference.digest ?? (await client.resolve(reference)).digest;
    const pinned = withDigest(reference, digest);
    const provenance = boolFlag(flags.insecureIgnoreSignature) ? await unverifiedProvenance(client, pinned, context) : await verifiedProvenance(client, pinned, await trustPolicyFromFlags(flags, context), context);
    if (boolFlag(flags.insecureIgnoreSignature)) context.stderr(`warning: ${provenance.where}: its signature was not verified (--insecure-ignore-signature)\n`);
    const workDir = await mkdtemp(join(tmpdir(), 'kiln-reproduce-'));
    const handle = await openRepositoryClient({
      cacheDir: flags.cacheDir ? resolve(context.cwd, flags.cacheDir) : defaultCacheDir(context.env, context.env.HOME ?? homedir()),
      // Packages come from the lock and are checked against its checksums; no index is read.
      keyringPaths: [],
      allowUntrusted: true,
    });
    const progress = flags.json ? undefined : startImageProgress(context);
    let result: ReproduceResult;
    try {
      result = await reproduceImage({
        predicate: provenance.predicate,
        where: provenance.where,
        published: registrySource(client, pinned, name!),
        publishedDigest: digest as Digest,
        repository: handle.client,
        workDir,
        ...(progress ? { onProgress: progress.update } : {}),
      });
    } finally {
      progress?.stop();
      handle.close();
      await rm(workDir, { recursive: true, force: true });
    }
    if (flags.json) printJson(context, { image: name, ...(provenance.verifiedBy ? { verifiedBy: provenance.verifiedBy } : {}), provenance: provenance.where, ...result });
    else {
      context.stdout(summary(result, name!, provenance));
      if (!result.reproduced && result.diff) context.stdout(formatImageDiffTable(result.diff, { maxFiles: 50 }));
    }
    if (!result.reproduced) {
      throw new ImageError('IMAGE_NOT_REPRODUCED', `${name!}: rebuilt ${result.rebuilt}, published ${result.digest}`, { detail: { image: name, digest: result.digest, rebuilt: result.rebuilt } });
    }
  });
}
