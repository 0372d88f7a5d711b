import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../lib/index.ts';
import { AttestError, downloadAttachedSboms, downloadAttestations, predicateTypeUri, verifyAttestations } from '../../attest/index.ts';
import type { CliContext } from '../context.ts';
import { addRegistryOptions, collect, imageArgument, loadVerificationKeys, openClient, signatureRepository } from './trust-options.ts';
import type { RegistryFlags } from './trust-options.ts';

const SBOM_TYPES = ['https://spdx.dev/Document', 'https://cyclonedx.org/bom'];

interface DownloadFlags extends RegistryFlags {
  predicateType?: string;
  key?: string[];
  outputFile?: string;
}

/** `kiln download attestation|sbom`: fetch what is attached to an image (cosign download). */
export function registerDownload(program: Command, context: CliContext): void {
  const download = program.command('download').description('download attestations or SBOMs attached to an image (like cosign download)');
  addRegistryOptions(
    download
      .command('attestation')
      .description('print each attached attestation envelope as one JSON line (digest-checked, not signature-verified: use verify-attestation for that)')
      .argument('<image>', 'image reference')
      .option('--predicate-type <TYPE>', 'only this predicate type (cosign name or URI)'),
  ).action(async (image: string, flags: DownloadFlags) => {
    const reference = imageArgument(image);
    const predicateType = flags.predicateType ? predicateTypeUri(flags.predicateType) : undefined;
    const found = await downloadAttestations(openClient(flags, context), reference, {
      ...(predicateType ? { predicateType } : {}),
      ...(signatureRepository(context) ? { signatureRepository: signatureRepository(context)! } : {}),
    });
    if (!found.length) throw new AttestError('ATTESTATION_NOT_FOUND', `${image}: no attestations${predicateType ? ` of type ${predicateType}` : ''} attached`, { detail: { image } });
    for (const entry of found) context.stdout(`${JSON.stringify(entry.envelope)}\n`);
  });
  addRegistryOptions(
    download
      .command('sbom')
      .description('print the image\'s SBOM: from SPDX/CycloneDX attestations (verified when --key is given) or the deprecated .sbom tag')
      .argument('<image>', 'image reference')
      .option('--key <PATH>', 'verify the SBOM attestation with this public key first (repeatable)', collect)
      .option('--output-file <FILE>', 'write the SBOM to FILE instead of stdout'),
  ).action(async (image: string, flags: DownloadFlags) => {
    const reference = imageArgument(image);
    const client = openClient(flags, context);
    const repository = signatureRepository(context);
    let sbom: unknown;
    if (flags.key?.length) {
      const keys = await loadVerificationKeys(flags.key, context);
      for (const type of SBOM_TYPES) {
        try {
          const verified = await verifyAttestations({ client, reference, policy: { keys }, predicateType: type, ...(repository ? { signatureRepository: repository } : {}) });
          sbom = verified[0]!.statement.predicate;
          break;
        } catch (error) {
          if (!(error instanceof AttestError && error.code === 'ATTESTATION_NOT_FOUND')) throw error;
        }
      }
    } else {
      context.stderr('WARNING: the SBOM is not signature-verified without --key\n');
      for (const entry of await downloadAttestations(client, reference, repository ? { signatureRepository: repository } : {})) {
        if (!entry.predicateType || !SBOM_TYPES.includes(entry.predicateType)) continue;
        sbom = (JSON.parse(Buffer.from(entry.envelope.payload, 'base64').toString('utf8')) as { predicate: unknown }).predicate;
        break;
      }
      if (sbom === undefined) {
        const attached = await downloadAttachedSboms(client, reference, repository);
        if (attached[0]) sbom = new TextDecoder().decode(attached[0].bytes);
      }
    }
    if (sbom === undefined) throw new AttestError('ATTESTATION_NOT_FOUND', `${image}: no SBOM attached (no SPDX/CycloneDX attestation and no .sbom tag)`, { detail: { image } });
    const text = typeof sbom === 'string' ? sbom : `${JSON.stringify(sbom, null, 2)}\n`;
    if (flags.outputFile) await writeFileAtomic(resolve(context.cwd, flags.outputFile), text);
    else context.stdout(text);
  });
}
