import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { loadKeyringFromPaths, loadSigningKey, writeIndexFile } from '../../apk/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface IndexFlags {
  output: string;
  signingKey?: string;
  keyName?: string;
  description?: string;
  keyring?: string[];
  json?: boolean;
}

/** `kiln apk index`: like `apk index` + `abuild-sign`, write a sorted, signed APKINDEX.tar.gz. */
export function registerApkIndex(apk: Command, context: CliContext): void {
  apk
    .command('index')
    .description('index package files into a sorted, RSA256-signed APKINDEX.tar.gz (each package is read and its datahash and checksums verified)')
    .argument('<packages...>', '.apk files')
    .requiredOption('-o, --output <FILE>', 'index file to write')
    .option('--signing-key <KEY>', 'RSA private key (PEM) to sign the index with')
    .option('--key-name <NAME>', 'key name to put in the signature instead of <signing key file name>.pub')
    .option('-d, --description <TEXT>', 'repository description (DESCRIPTION entry, at most 160 bytes)')
    .addOption(new Option('-k, --keyring <PATH>', 'also require each package to be signed by one of these keys (repeatable)').argParser(collect))
    .option('--json', 'print {"file","packages","size"} on stdout')
    .action(async (packages: string[], flags: IndexFlags) => {
      if (flags.description !== undefined && Buffer.byteLength(flags.description) > 160) throw new KilnError('USAGE', '--description must be at most 160 bytes');
      const signer = flags.signingKey ? await loadSigningKey(resolve(context.cwd, flags.signingKey), flags.keyName) : undefined;
      const keyring = flags.keyring ? await loadKeyringFromPaths(flags.keyring.map((p) => resolve(context.cwd, p))) : undefined;
      const epoch = context.env.SOURCE_DATE_EPOCH;
      const result = await writeIndexFile(resolve(context.cwd, flags.output), packages.map((p) => resolve(context.cwd, p)), {
        ...(signer ? { signer } : {}),
        ...(keyring ? { keyring } : {}),
        ...(flags.description !== undefined ? { description: flags.description } : {}),
        ...(epoch && /^\d+$/.test(epoch) ? { mtime: Number(epoch) } : {}),
      });
      if (flags.json) printJson(context, { file: flags.output, packages: result.records.map((r) => ({ name: r.name, version: r.version, identity: r.identity, size: r.size })), size: result.size });
      else context.stderr(`wrote ${flags.output} (${result.records.length} packages${signer ? `, signed ${signer.keyName}` : ', unsigned'})\n`);
    });
}
