import { Option } from 'commander';
import type { Command } from 'commander';
import { signImage } from '../../sign/index.ts';
import type { SignedManifest } from '../../sign/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { positionals, signerFromFlags, addRegistryOptions, addSignerOptions, collect, imageArgument, openClient, parseAnnotations, signatureRepository } from './trust-options.ts';
import type { SignerFlags } from './trust-options.ts';

interface SignFlags extends SignerFlags {
  annotations?: string[];
  recursive?: boolean;
  allowInsecureRegistry?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** `kiln sign`: cosign-compatible image signatures (.sig tag; plus a bundle referrer where the registry has the referrers API). */
export function registerSign(program: Command, context: CliContext): void {
  addRegistryOptions(
    addSignerOptions(
      program
        .command('sign')
        .description('sign images like cosign: simple-signing payload in the sha256-<digest>.sig tag, and a Sigstore bundle referrer where the registry supports the referrers API')
        .argument('[images...]', 'image references (tag or digest); tags are resolved to a digest first')
        .option('--key <PATH>', 'cosign.key (encrypted; password from COSIGN_PASSWORD or a prompt) or a PEM private key; without it, keyless signing')
        .addOption(new Option('-a, --annotations <KEY=VALUE>', 'extra key=value stored in the signed payload (repeatable)').argParser(collect))
        .option('--recursive', 'for an index, also sign each platform manifest'),
      '.sig',
    ).option('--json', 'print the signed digests and where their signatures went as JSON'),
  ).action(async (images: string[], flags: SignFlags) => {
    images = positionals(images, flags);
    const references = images.map(imageArgument);
    const client = openClient(flags, context);
    const { signer, witnesses, format } = await signerFromFlags(flags, context, { what: 'signing', keylessLegacy: true });
    const results: SignedManifest[] = [];
    for (const reference of references) {
      const signed = await signImage({
        client,
        reference,
        signer,
        format,
        witnesses,
        recursive: Boolean(flags.recursive),
        ...(signatureRepository(context) ? { signatureRepository: signatureRepository(context)! } : {}),
        ...(parseAnnotations(flags.annotations) ? { annotations: parseAnnotations(flags.annotations)! } : {}),
      });
      for (const entry of signed) {
        if (!flags.json) {
          const kept = entry.unchanged ?? [];
          if (entry.signatureTag) {
            const where = `${reference.registry}/${reference.repository}:${entry.signatureTag}`;
            context.stderr(kept.includes('tag') ? `Signature already present in ${where}; unchanged\n` : `Pushing signature to: ${where}\n`);
          }
          if (entry.bundle) {
            const what = kept.includes('bundle') ? 'Bundle referrer already present:' : 'Pushing bundle referrer';
            context.stderr(`${what} ${entry.bundle.digest} for ${entry.digest}${entry.bundle.viaApi ? '' : ' (referrers tag fallback)'}\n`);
          }
        }
      }
      results.push(...signed);
    }
    if (flags.json) printJson(context, { signed: results });
  });
}
