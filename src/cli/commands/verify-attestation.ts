import type { Command } from 'commander';
import { predicateTypeUri, verifyAttestations } from '../../attest/index.ts';
import type { VerifiedAttestation } from '../../attest/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { positionals, addIdentityOptions, addRegistryOptions, imageArgument, openClient, signatureRepository, trustPolicyFromFlags } from './trust-options.ts';
import type { IdentityFlags, RegistryFlags } from './trust-options.ts';

interface VerifyAttestationFlags extends IdentityFlags, RegistryFlags {
  type?: string;
  json?: boolean;
}

/** `kiln verify-attestation`: verify attestations (.att layers and bundle referrers) and print their envelopes. */
export function registerVerifyAttestation(program: Command, context: CliContext): void {
  addRegistryOptions(
    addIdentityOptions(
      program
        .command('verify-attestation')
        .description('verify in-toto attestations of images with --key or a keyless identity; prints one DSSE envelope per verified attestation (like cosign); exits 1 unless one verifies')
        .argument('[images...]', 'image references'),
    )
      .option('--type <TYPE>', 'only this predicate type (cosign name or URI); default: any type')
      .option('--json', 'print one JSON document with each verified statement'),
  ).action(async (images: string[], flags: VerifyAttestationFlags) => {
    images = positionals(images, flags);
    const references = images.map(imageArgument);
    const predicateType = flags.type ? predicateTypeUri(flags.type) : undefined;
    const policy = await trustPolicyFromFlags(flags, context);
    const client = openClient(flags, context);
    const all: { image: string; attestations: VerifiedAttestation[] }[] = [];
    for (const [index, reference] of references.entries()) {
      const verified = await verifyAttestations({
        client,
        reference,
        policy,
        ...(predicateType ? { predicateType } : {}),
        ...(signatureRepository(context) ? { signatureRepository: signatureRepository(context)! } : {}),
      });
      all.push({ image: images[index]!, attestations: verified });
      if (flags.json) continue;
      context.stderr(`\nVerification for ${images[index]} --\nThe following checks were performed on each of these signatures:\n  - The claims were validated\n  - The signatures were verified against the specified ${policy.keys ? 'public key' : 'certificate identity'}\n`);
      for (const attestation of verified) {
        const envelope = attestation.envelope ?? { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(attestation.payloadBytes).toString('base64'), signatures: [] };
        context.stdout(`${JSON.stringify(envelope)}\n`);
      }
    }
    if (flags.json) {
      printJson(context, {
        verified: all.map((entry) => ({
          image: entry.image,
          attestations: entry.attestations.map((a) => ({
            digest: a.digest,
            source: a.source,
            predicateType: a.predicateType,
            keyHint: a.keyHint,
            identity: a.identity,
            producedAt: a.producedAt?.toISOString(),
            ...(a.attestedAt ? { attestedAt: { time: a.attestedAt.time.toISOString(), source: a.attestedAt.source } } : {}),
            statement: a.statement,
          })),
        })),
      });
    }
  });
}
