import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultCacheDir } from '../../apk/index.ts';
import type { Logger } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';

/** Flags shared by the commands that use the local vulnerability index. */
export interface VulnDbFlags {
  dbDir?: string;
}

/** Adds `--db-dir`. */
export function addVulnDbOption(command: Command): Command {
  return command.option('--db-dir <DIR>', 'directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)');
}

/** The index directory: the flag, $KILN_VULN_DB_DIR, or the cache directory's `vuln`. */
export function vulnDbDir(context: CliContext, flags: VulnDbFlags): string {
  if (flags.dbDir) return resolve(context.cwd, flags.dbDir);
  if (context.env.KILN_VULN_DB_DIR) return resolve(context.cwd, context.env.KILN_VULN_DB_DIR);
  return join(defaultCacheDir(context.env, context.env.HOME ?? homedir()), 'vuln');
}

/** The index file inside the directory. */
export function vulnDbPath(dir: string): string {
  return join(dir, 'vuln.sqlite');
}

/** Feed warnings on stderr, one line each naming feed, record and field. */
export function feedWarningsToStderr(context: CliContext): Logger {
  const ignore = (): void => undefined;
  return {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (fields, message) => {
      if (typeof fields.record === 'string' && typeof fields.field === 'string') context.stderr(`warning: feed ${String(fields.feed)}: ${fields.record}: ${fields.field}: ${String(fields.message)} (skipped)\n`);
      else context.stderr(`warning: feed ${String(fields.feed)}: ${message}${typeof fields.reason === 'string' ? `: ${fields.reason}` : ''}\n`);
    },
  };
}
