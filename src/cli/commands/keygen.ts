import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { generateSigningKey } from '../../apk/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

/** `kiln keygen`: an RSA key pair for signing apk packages and indexes, like `melange keygen`. */
export function registerKeygen(program: Command, context: CliContext): void {
  program
    .command('keygen')
    .description('generate an RSA key pair for signing apk packages and indexes: PREFIX.rsa (PKCS#1 PEM, mode 0600) and PREFIX.rsa.pub (SPKI PEM)')
    .option('--name <PREFIX>', 'file name prefix; signatures will name the key PREFIX.rsa.pub', 'kiln')
    .option('--bits <N>', 'RSA modulus size', '4096')
    .option('--json', 'print {"privateKey","publicKey","keyName"} on stdout')
    .action(async (flags: { name: string; bits: string; json?: boolean }) => {
      if (!flags.name) throw new KilnError('USAGE', '--name must not be empty');
      if (!/^\d+$/.test(flags.bits)) throw new KilnError('USAGE', `--bits: expected a number, got ${JSON.stringify(flags.bits)}`);
      const files = await generateSigningKey(resolve(context.cwd, flags.name), Number(flags.bits));
      if (flags.json) printJson(context, { privateKey: files.privateKeyPath, publicKey: files.publicKeyPath, keyName: files.keyName });
      else context.stderr(`Private key written to ${files.privateKeyPath}\nPublic key written to ${files.publicKeyPath} (key name ${files.keyName})\n`);
    });
}
