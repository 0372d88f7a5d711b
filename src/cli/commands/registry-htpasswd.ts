import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isKilnError, KilnError, readInputText, writeFileAtomic } from '../../lib/index.ts';
import { hashHtpasswdPassword, loadHtpasswd, setHtpasswdEntry } from '../../registry/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { prompt } from './trust-options.ts';

interface HtpasswdFlags {
  passwordStdin?: boolean;
  cost: string;
  json?: boolean;
}

async function readStdinLine(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

/** `kiln registry htpasswd FILE USER`: adds or replaces a bcrypt entry, so no `htpasswd` binary is needed. */
export function registerRegistryHtpasswd(registry: Command, context: CliContext): void {
  registry
    .command('htpasswd')
    .description('add or replace USER in an htpasswd file (bcrypt, as htpasswd -B; the file is created with mode 0600 and replaced atomically). Password from --password-stdin, $KILN_REGISTRY_PASSWORD, or a prompt on a terminal')
    .argument('<file>', 'htpasswd file (auth.htpasswd in the registry config)')
    .argument('<user>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .option('-C, --cost <N>', 'bcrypt cost (4..17)', '10')
    .option('--json', 'print {"file","user","created"} on stdout')
    .action(async (file: string, user: string, flags: HtpasswdFlags) => {
      if (!/^\d+$/.test(flags.cost) || Number(flags.cost) < 4 || Number(flags.cost) > 17) throw new KilnError('USAGE', `--cost: expected a whole number from 4 to 17, got ${JSON.stringify(flags.cost)}`);
      const path = resolve(context.cwd, file);
      let text = '';
      try {
        text = await readInputText(path, { what: 'htpasswd file', maxBytes: 4 * 1024 * 1024 });
      } catch (error) {
        if (!(isKilnError(error) && error.detail.errno === 'ENOENT')) throw error;
      }
      // Refuse to edit a file the registry could not load (other hash kinds, malformed lines).
      if (text) await loadHtpasswd(path);
      let password: string;
      if (flags.passwordStdin) password = await readStdinLine();
      else if (context.env.KILN_REGISTRY_PASSWORD !== undefined) password = context.env.KILN_REGISTRY_PASSWORD;
      else if (context.isTTY && process.stdin.isTTY) {
        password = await prompt(context, `Password for ${user}: `);
        if ((await prompt(context, `Password for ${user} again: `)) !== password) throw new KilnError('USAGE', 'passwords do not match');
      } else throw new KilnError('USAGE', 'give the password with --password-stdin or $KILN_REGISTRY_PASSWORD (no terminal to prompt on)');
      if (!password) throw new KilnError('USAGE', `the password for ${user} must not be empty`);
      const created = !text.split('\n').some((line) => line.trim().startsWith(`${user}:`));
      const next = setHtpasswdEntry(text, user, await hashHtpasswdPassword(password, Number(flags.cost)));
      await writeFileAtomic(path, next, { mode: 0o600, createParents: false });
      if (flags.json) printJson(context, { file: path, user, created });
      else context.stderr(`${created ? 'Added' : 'Updated'} ${user} in ${path}\n`);
    });
}
