import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AttestError, attestImage, parsePredicate, predicateTypeUri } from '../../attest/index.ts';
import type { AttestedManifest } from '../../attest/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { positionals, signerFromFlags, addRegistryOptions, addSignerOptions, imageArgument, openClient, signatureRepository } from './trust-options.ts';
import type { SignerFlags } from './trust-options.ts';

interface AttestFlags extends SignerFlags {
  predicate: string;
  type: string;
  replace?: boolean;
  recursive?: boolean;
  allowInsecureRegistry?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** `kiln attest`: sign an in-toto statement about an image (DSSE) and attach it like cosign. */
export function registerAttest(program: Command, context: CliContext): void {
  addRegistryOptions(
    addSignerOptions(
      program
        .command('attest')
        .description('attach a signed in-toto attestation (DSSE) to images: sha256-<digest>.att layers, and a Sigstore bundle referrer where the referrers API exists')
        .argument('[images...]', 'image references')
        .requiredOption('--predicate <FILE>', 'predicate file (JSON; "-" reads stdin); for --type custom any text')
        .option('--type <TYPE>', 'slsaprovenance1, slsaprovenance, spdxjson, cyclonedx, openvex, vuln, link, custom, or a predicate type URI', 'custom')
        .option('--key <PATH>', 'cosign.key or PEM private key; without it, keyless (Fulcio)')
        .option('--replace', 'replace existing .att layers of the same predicate type (and attest even when the same key already attested the same predicate)')
        .option('--recursive', 'for an index, also attest each platform manifest'),
      '.att',
    ).option('--json', 'print where each attestation went as JSON'),
  ).action(async (images: string[], flags: AttestFlags) => {
    images = positionals(images, flags);
    const references = images.map(imageArgument);
    const predicateType = predicateTypeUri(flags.type);
    let bytes: Uint8Array;
    try {
      bytes = flags.predicate === '-' ? await readStdin() : await readFile(resolve(context.cwd, flags.predicate));
    } catch (error) {
      throw new AttestError('PREDICATE_INVALID', `${flags.predicate}: cannot read predicate file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
    const predicate = parsePredicate(bytes, predicateType, flags.predicate, new Date());
    const { signer, witnesses, format } = await signerFromFlags(flags, context, { what: 'attestation', keylessLegacy: false });
    const client = openClient(flags, context);
    const results: AttestedManifest[] = [];
    for (const reference of references) {
      const attested = await attestImage({
        client,
        reference,
        signer,
        predicateType,
        predicate,
        format,
        witnesses,
        replace: Boolean(flags.replace),
        recursive: Boolean(flags.recursive),
        ...(signatureRepository(context) ? { signatureRepository: signatureRepository(context)! } : {}),
      });
      if (!flags.json) {
        for (const entry of attested) {
          const kept = entry.unchanged ?? [];
          if (entry.attestationTag) {
            const where = `${reference.registry}/${reference.repository}:${entry.attestationTag}`;
            context.stderr(kept.includes('tag') ? `Attestation (${predicateType}) already present in ${where}; unchanged\n` : `Pushing attestation (${predicateType}) to: ${where}\n`);
          }
          if (entry.bundle) {
            const what = kept.includes('bundle') ? 'Bundle referrer already present:' : 'Pushing bundle referrer';
            context.stderr(`${what} ${entry.bundle.digest} for ${entry.digest}${entry.bundle.viaApi ? '' : ' (referrers tag fallback)'}\n`);
          }
        }
      }
      results.push(...attested);
    }
    if (flags.json) printJson(context, { attested: results });
  });
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
