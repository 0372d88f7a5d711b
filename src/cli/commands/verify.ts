import { Option } from 'commander';
import type { Command } from 'commander';
import { verifyImage } from '../../sign/index.ts';
import type { VerifiedSignature } from '../../sign/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { positionals, addIdentityOptions, addRegistryOptions, collect, imageArgument, openClient, parseAnnotations, signatureRepository, trustPolicyFromFlags } from './trust-options.ts';
import type { IdentityFlags, RegistryFlags } from './trust-options.ts';

interface VerifyFlags extends IdentityFlags, RegistryFlags {
  annotations?: string[];
  output?: string;
  json?: boolean;
}

/** `kiln verify`: check cosign signatures (.sig tag and bundle referrers) against a key or a keyless identity. */
export function registerVerify(program: Command, context: CliContext): void {
  addRegistryOptions(
    addIdentityOptions(
      program
        .command('verify')
        .description('verify cosign signatures of images (sha256-<digest>.sig and Sigstore bundle referrers) with --key or a keyless identity; exits 1 unless at least one signature verifies')
        .argument('[images...]', 'image references'),
    )
      .addOption(new Option('-a, --annotations <KEY=VALUE>', 'require key=value in the signed payload (repeatable)').argParser(collect))
      .option('-o, --output <FORMAT>', 'json (default, the verified payloads like cosign) or text', 'json')
      .option('--json', 'print one JSON document with each image\'s verified signatures'),
  ).action(async (images: string[], flags: VerifyFlags) => {
    images = positionals(images, flags);
    const references = images.map(imageArgument);
    const policy = await trustPolicyFromFlags(flags, context);
    const client = openClient(flags, context);
    const annotations = parseAnnotations(flags.annotations);
    const all: { image: string; signatures: VerifiedSignature[] }[] = [];
    for (const [index, reference] of references.entries()) {
      const verified = await verifyImage({
        client,
        reference,
        policy,
        ...(annotations ? { annotations } : {}),
        ...(signatureRepository(context) ? { signatureRepository: signatureRepository(context)! } : {}),
      });
      all.push({ image: images[index]!, signatures: verified });
      if (flags.json) continue;
      context.stderr(
        `\nVerification for ${images[index]} --\nThe following checks were performed on each of these signatures:\n  - The cosign claims were validated\n  - The signatures were verified against the specified ${policy.keys ? 'public key' : 'certificate identity'}\n`,
      );
      if (flags.output === 'text') {
        for (const signature of verified) context.stdout(`${signature.digest} ${signature.source} ${signature.keyHint ?? signature.identity?.subjectAlternativeName ?? ''}\n`);
      } else {
        context.stdout(`${JSON.stringify(verified.map((signature) => JSON.parse(new TextDecoder().decode(signature.payloadBytes)) as unknown))}\n`);
      }
    }
    if (flags.json) {
      printJson(context, {
        verified: all.map((entry) => ({
          image: entry.image,
          signatures: entry.signatures.map(({ payloadBytes: _bytes, ...rest }) => rest),
        })),
      });
    }
  });
}
