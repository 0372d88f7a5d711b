import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadFactoryConfig, openImageHistory } from '../../factory/index.ts';
import type { HistoryReason, ImageHistoryEntry } from '../../factory/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

interface FactoryHistoryFlags {
  config?: string;
  stateDir?: string;
  json?: boolean;
}

function reasonText(reason: HistoryReason): string {
  switch (reason.kind) {
    case 'first-build':
      return 'first build';
    case 'package-version':
      return reason.from ? `${reason.package} ${reason.from} -> ${reason.to}` : `${reason.package} ${reason.to} added`;
    case 'advisory':
      return `fixes ${reason.id}`;
    case 'config':
      return reason.detail;
  }
}

function entryText(entry: ImageHistoryEntry): string {
  const lines = [`${entry.publishedAt}  ${entry.digest}  ${entry.tags.join(' ')}${entry.repository ? `  (in ${entry.repository})` : ''}`];
  // A re-attested entry keeps its digest: its advisories changed a verdict, they fixed nothing in it.
  const again = entry.attestations === 0 ? 'scanned again; unsigned, nothing attested' : 'scan result and OpenVEX attested again';
  lines.push(entry.reattested ? `  why: new advisories, same digest (${again}): ${entry.reasons.map((reason) => (reason.kind === 'advisory' ? reason.id : reasonText(reason))).join(', ')}` : `  why: ${entry.reasons.map(reasonText).join('; ')}`);
  const { added, removed, upgraded } = entry.packages;
  if (upgraded.length) lines.push(`  upgraded: ${upgraded.map((pkg) => `${pkg.name} ${pkg.from} -> ${pkg.to}`).join(', ')}`);
  if (added.length) lines.push(`  added: ${added.map((pkg) => `${pkg.name} ${pkg.version}`).join(', ')}`);
  if (removed.length) lines.push(`  removed: ${removed.map((pkg) => `${pkg.name} ${pkg.version}`).join(', ')}`);
  const { fixed, introduced, open } = entry.cves;
  if (fixed.length) lines.push(`  fixed: ${fixed.join(', ')}`);
  if (introduced.length) lines.push(`  new: ${introduced.join(', ')}`);
  lines.push(`  open: ${open.critical} critical, ${open.high} high, ${open.medium} medium, ${open.low} low, ${open.unknown} unknown`);
  return lines.join('\n');
}

/** `kiln factory history IMAGE`: every published digest of an image, newest first, with why. */
export function registerFactoryHistory(factory: Command, context: CliContext): void {
  factory
    .command('history')
    .description("every digest the factory published of an image, newest first: when, its tags, why (package versions, advisories, configuration), the package diff and the CVE diff against the previous digest")
    .argument('[image]', 'image as the history names it (kiln/curl, or curl); without it, the images that have a history')
    .option('--config <FILE>', 'the factory configuration (its state-dir holds the history)')
    .option('--state-dir <DIR>', 'the factory state directory (instead of --config)')
    .option('--json', 'print the entries (oldest first, as ImageHistoryEntry) as JSON on stdout')
    .action(async (image: string | undefined, flags: FactoryHistoryFlags) => {
      if (!flags.config === !flags.stateDir) throw new KilnError('USAGE', 'give --config or --state-dir');
      const stateDir = flags.stateDir ? resolve(context.cwd, flags.stateDir) : (await loadFactoryConfig(resolve(context.cwd, flags.config!))).stateDir;
      const history = openImageHistory(join(stateDir, 'history.db'), { readonly: true });
      try {
        const images = await history.listImages();
        if (image === undefined) {
          if (flags.json) printJson(context, { images });
          else context.stdout(images.map((name) => `${name}\n`).join(''));
          return;
        }
        const name = images.includes(image) ? image : images.find((candidate) => candidate.endsWith(`/${image}`)) ?? image;
        const entries = await history.history(name);
        if (flags.json) {
          printJson(context, { image: name, entries });
          return;
        }
        if (entries.length === 0) throw new KilnError('USAGE', `${image}: no history in ${stateDir} (images with one: ${images.join(', ') || 'none'})`);
        context.stdout(`${name}\n${[...entries].reverse().map(entryText).join('\n')}\n`);
      } finally {
        history.close();
      }
    });
}
