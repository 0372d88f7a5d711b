import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadSigningKey } from '../../apk/index.ts';
import { resignPackage } from '../../build/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

/** `kiln pkg sign PKG…`: re-sign packages in place (melange sign). */
export function registerPkgSign(pkg: Command, context: CliContext): void {
  pkg
    .command('sign')
    .description('re-sign .apk files in place with an RSA key (existing signatures are replaced; the package is verified first)')
    .argument('<packages...>', '.apk files')
    .option('-k, --signing-key <KEY>', 'RSA private key (PEM); the signature is named <key file>.pub', 'local-melange.rsa')
    .option('--json', 'print the signed files as JSON')
    .action(async (packages: string[], flags: { signingKey: string; json?: boolean }) => {
      const key = await loadSigningKey(resolve(context.cwd, flags.signingKey));
      const signed: { file: string; keyName: string }[] = [];
      for (const file of packages.map((p) => resolve(context.cwd, p))) signed.push({ file, ...(await resignPackage(file, key)) });
      if (flags.json) printJson(context, signed);
      else for (const s of signed) context.stderr(`signed ${s.file} (${s.keyName})\n`);
    });
}
