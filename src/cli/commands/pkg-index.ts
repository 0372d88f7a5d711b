import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildIndex, indexRecordForFile, readIndexFile } from '../../apk/index.ts';
import type { PackageRecord } from '../../apk/index.ts';
import { assertIndexKeepsSignature } from '../../package-builder/index.ts';
import { writeFileAtomic, pathExists } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { plural } from '../plural.ts';
import { readSigningKey, unsignedNotice } from './pkg-options.ts';

interface IndexFlags {
  output: string;
  source?: string;
  merge?: boolean;
  arch?: string;
  signingKey?: string;
  json?: boolean;
}

/** `kiln pkg index PKG…`: melange index. */
export function registerPkgIndex(pkg: Command, context: CliContext): void {
  pkg
    .command('index')
    .description('write an APKINDEX.tar.gz for .apk files (verified first), optionally merged into an existing index and signed')
    .argument('<packages...>', '.apk files')
    .option('-o, --output <FILE>', 'index to write', 'APKINDEX.tar.gz')
    .option('-s, --source <FILE>', 'existing index to start from (default: the output file with --merge)')
    .option('-m, --merge', 'keep the entries of the existing index (same name and version are replaced)')
    .option('-a, --arch <ARCH>', 'skip packages of other architectures')
    .option('--signing-key <KEY>', 'RSA private key (PEM) to sign the index; without it the index is unsigned (said on stderr) and a signed --output is not overwritten')
    .option('--json', 'print the indexed packages as JSON')
    .action(async (packages: string[], flags: IndexFlags) => {
      const output = resolve(context.cwd, flags.output);
      const key = flags.signingKey ? await readSigningKey(resolve(context.cwd, flags.signingKey), `--signing-key ${flags.signingKey}`) : undefined;
      if (!key) await assertIndexKeepsSignature(output, 'pass --signing-key KEY to sign the new index, or write it elsewhere with -o/--output');
      const fresh: PackageRecord[] = [];
      const skipped: string[] = [];
      for (const file of packages.map((p) => resolve(context.cwd, p))) {
        const record = await indexRecordForFile(file);
        if (flags.arch && record.arch && record.arch !== flags.arch && record.arch !== 'noarch') skipped.push(file);
        else fresh.push(record);
      }
      let records = fresh;
      const source = flags.source ? resolve(context.cwd, flags.source) : flags.merge ? output : undefined;
      if (source && (await pathExists(source))) {
        const existing = await readIndexFile(source, { allowUntrusted: true });
        const replaced = new Set(fresh.map((r) => `${r.name}\0${r.version}`));
        records = [...existing.records.filter((r) => !replaced.has(`${r.name}\0${r.version}`)), ...fresh];
      }
      await writeFileAtomic(output, buildIndex(records, key ? { signer: key } : {}));
      if (flags.json) printJson(context, { output, signed: Boolean(key), packages: records.map((r) => ({ name: r.name, version: r.version, identity: r.identity })), skipped });
      else context.stderr(`wrote ${output} (${plural(records.length, 'package')})\n`);
      if (!key) context.stderr(unsignedNotice(`the index ${output}`));
    });
}

