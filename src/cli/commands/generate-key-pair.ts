import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { assertAbsent, assertDirectory, KilnError, writeFileAtomic } from '../../lib/index.ts';
import { generateCosignKeyPair } from '../../sign/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { readPassword } from './trust-options.ts';

/** `kiln generate-key-pair`: cosign.key (encrypted) + cosign.pub, readable by cosign. */
export function registerGenerateKeyPair(program: Command, context: CliContext): void {
  program
    .command('generate-key-pair')
    .description('generate a cosign-compatible key pair: <prefix>.key (scrypt + secretbox encrypted, password from COSIGN_PASSWORD or a prompt) and <prefix>.pub')
    .option('--output-key-prefix <PREFIX>', 'file name prefix of the key pair', 'cosign')
    .option('--json', 'print {"privateKey","publicKey"} paths on stdout')
    .action(async (flags: { outputKeyPrefix: string; json?: boolean }) => {
      if (!flags.outputKeyPrefix) throw new KilnError('USAGE', '--output-key-prefix must not be empty');
      const privatePath = resolve(context.cwd, `${flags.outputKeyPrefix}.key`);
      const publicPath = resolve(context.cwd, `${flags.outputKeyPrefix}.pub`);
      // Checked before asking for a password, and both before either is written: never half a pair.
      await assertDirectory(dirname(privatePath), privatePath);
      await assertAbsent(privatePath);
      await assertAbsent(publicPath);
      const password = await readPassword(context, 'private key', true);
      const pair = await generateCosignKeyPair(password);
      await writeFileAtomic(privatePath, pair.privateKeyPem, { exclusive: true, mode: 0o600, createParents: false });
      await writeFileAtomic(publicPath, pair.publicKeyPem, { exclusive: true, mode: 0o644, createParents: false });
      if (flags.json) printJson(context, { privateKey: privatePath, publicKey: publicPath });
      else context.stderr(`Private key written to ${flags.outputKeyPrefix}.key\nPublic key written to ${flags.outputKeyPrefix}.pub\n`);
    });
}
