import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { resignPackage } from '../../package-builder/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { readSigningKey } from './pkg-options.ts';

/** melange sign's default key file, looked for in the working directory. */
const DEFAULT_SIGNING_KEY = 'local-melange.rsa';

interface SignFlags {
  signingKey?: string;
  /** melange sign's `-k`, kept as a hidden, deprecated spelling of --signing-key. */
  k?: string;
  json?: boolean;
}

/** `kiln pkg sign PKG…`: re-sign packages in place (melange sign). */
export function registerPkgSign(pkg: Command, context: CliContext): void {
  pkg
    .command('sign')
    .description('re-sign .apk files in place with an RSA key (existing signatures are replaced; the package is verified first)')
    .argument('<packages...>', '.apk files')
    .option('--signing-key <KEY>', `RSA private key (PEM); the signature is named <key file>.pub (default: ${DEFAULT_SIGNING_KEY} in the working directory, as melange)`)
    // Everywhere else in Kiln (and in melange build) -k is a keyring of public keys; melange sign
    // alone spells its private key -k. Accepted for melange users' scripts, hidden, with a warning;
    // a public key passed by a user who took -k for a keyring is refused by name.
    .addOption(new Option('-k <KEY>', 'deprecated spelling of --signing-key').hideHelp())
    .option('--json', 'print the signed files as JSON')
    .action(async (packages: string[], flags: SignFlags) => {
      if (flags.k !== undefined && flags.signingKey !== undefined) throw new KilnError('USAGE', 'give the signing key once: -k is a deprecated spelling of --signing-key');
      if (flags.k !== undefined) {
        context.stderr(`kiln: warning: -k in \`kiln pkg sign\` is deprecated (everywhere else in kiln -k is a keyring of public keys); use --signing-key ${flags.k}\n`);
      }
      const given = flags.signingKey ?? flags.k;
      const path = resolve(context.cwd, given ?? DEFAULT_SIGNING_KEY);
      const key =
        given === undefined
          ? await readSigningKey(path, `melange's default, as no --signing-key was given`, 'pass --signing-key KEY, or create this key with `kiln keygen --name local-melange`')
          : await readSigningKey(path, flags.k !== undefined ? `-k ${given}` : `--signing-key ${given}`);
      const signed: { file: string; keyName: string }[] = [];
      for (const file of packages.map((p) => resolve(context.cwd, p))) signed.push({ file, ...(await resignPackage(file, key)) });
      if (flags.json) printJson(context, signed);
      else for (const s of signed) context.stderr(`signed ${s.file} (${s.keyName})\n`);
    });
}
