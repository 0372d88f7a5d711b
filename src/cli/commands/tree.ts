import type { Command } from 'commander';
import { imageTree } from '../../attest/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addRegistryOptions, imageArgument, openClient, signatureRepository } from './trust-options.ts';
import type { RegistryFlags } from './trust-options.ts';
import type { Descriptor } from '../../oci/index.ts';

/** `kiln tree`: show signatures, attestations, SBOMs and referrers attached to an image (cosign tree). */
export function registerTree(program: Command, context: CliContext): void {
  addRegistryOptions(
    program
      .command('tree')
      .description('show the supply-chain artifacts attached to an image: .sig/.att/.sbom tags and OCI referrers')
      .argument('<image>', 'image reference')
      .option('--json', 'print the tree as JSON'),
  ).action(async (image: string, flags: RegistryFlags & { json?: boolean }) => {
    const repository = signatureRepository(context);
    const tree = await imageTree(openClient(flags, context), imageArgument(image), repository);
    if (flags.json) {
      printJson(context, tree);
      return;
    }
    const lines = [`📦 Supply Chain Security Related artifacts for an image: ${tree.reference}@${tree.digest}`];
    const section = (title: string, entry: { tag: string; layers: Descriptor[] } | undefined, icon: string) => {
      if (!entry) return;
      lines.push(`└── ${icon} ${title} for an image tag: ${tree.reference}:${entry.tag}`);
      for (const layer of entry.layers) lines.push(`   └── 🍒 ${layer.digest}${layer.annotations?.predicateType ? ` (${layer.annotations.predicateType})` : ''}`);
    };
    section('Attestations', tree.attestations, '💾');
    section('Signatures', tree.signatures, '🔐');
    section('SBOMs', tree.sboms, '📦');
    if (tree.referrers.length) {
      lines.push(`└── 🔗 Referrers${tree.referrersViaApi ? '' : ' (from the referrers fallback tag)'}:`);
      for (const referrer of tree.referrers) {
        const predicate = referrer.annotations?.['dev.sigstore.bundle.predicateType'];
        lines.push(`   └── 🍒 ${referrer.digest} ${referrer.artifactType ?? referrer.mediaType}${predicate ? ` (${predicate})` : ''}`);
      }
    }
    if (lines.length === 1) lines.push('No supply chain security related artifacts found');
    context.stdout(`${lines.join('\n')}\n`);
  });
}
