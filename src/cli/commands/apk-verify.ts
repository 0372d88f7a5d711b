import { basename, resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { loadKeyringFromPaths, readIndexFile, verifyApkFile } from '../../apk/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface VerifyFlags {
  keyring?: string[];
  allowUntrusted?: boolean;
  json?: boolean;
}

/** `kiln apk verify`: like `apk verify`, check packages (and APKINDEX.tar.gz files) against a keyring. */
export function registerApkVerify(apk: Command, context: CliContext): void {
  apk
    .command('verify')
    .description('verify packages (signature by a trusted key, identity, datahash, file checksums) and APKINDEX.tar.gz files; exit 1 if any fails')
    .argument('<files...>', '.apk or APKINDEX.tar.gz files')
    .addOption(new Option('-k, --keyring <PATH>', 'trusted public key file, or directory of keys (repeatable); key name = file name').argParser(collect))
    .option('--allow-untrusted', 'accept files not signed by a trusted key (integrity is still checked)')
    .option('--json', 'print {"results":[…]} on stdout')
    .action(async (files: string[], flags: VerifyFlags) => {
      if (!flags.keyring?.length && !flags.allowUntrusted) throw new KilnError('USAGE', 'give --keyring DIR (trusted keys) or --allow-untrusted');
      const keyring = flags.keyring ? await loadKeyringFromPaths(flags.keyring.map((p) => resolve(context.cwd, p))) : new Map();
      const results: Array<{ file: string; ok: boolean; kind: 'package' | 'index'; identity?: string; signedBy?: string; trust?: string; code?: string; error?: string }> = [];
      for (const file of files) {
        const path = resolve(context.cwd, file);
        const options = { name: file, keyring, allowUntrusted: flags.allowUntrusted ?? false };
        const isIndex = basename(file).startsWith('APKINDEX');
        try {
          if (isIndex) {
            const index = await readIndexFile(path, options);
            results.push({ file, ok: true, kind: 'index', trust: index.trust, ...(index.signedBy ? { signedBy: index.signedBy } : {}) });
          } else {
            const summary = await verifyApkFile(path, options);
            results.push({ file, ok: true, kind: 'package', identity: summary.control.identity, trust: summary.control.trust, ...(summary.control.signedBy ? { signedBy: summary.control.signedBy } : {}) });
          }
        } catch (error) {
          if (!(error instanceof KilnError)) throw error;
          results.push({ file, ok: false, kind: isIndex ? 'index' : 'package', code: error.code, error: error.message });
        }
      }
      if (flags.json) printJson(context, { results });
      else {
        for (const result of results) {
          const reason = result.error?.startsWith(`${result.file}: `) ? result.error.slice(result.file.length + 2) : result.error;
          context.stdout(result.ok ? `${result.file}: OK${result.signedBy ? ` (signed by ${result.signedBy})` : ' (untrusted)'}\n` : `${result.file}: FAILED: ${reason}\n`);
        }
      }
      const failed = results.filter((result) => !result.ok);
      if (failed.length) {
        // One failure: say why on the error line too (the per-file lines went to stdout).
        const why = failed.length === 1 ? `: ${failed[0]!.error?.startsWith(`${failed[0]!.file}: `) ? failed[0]!.error.slice(failed[0]!.file.length + 2) : failed[0]!.error}` : '';
        throw new KilnError(failed[0]!.code!, `${failed.length} of ${results.length} file(s) failed verification: ${failed.map((f) => f.file).join(', ')}${why}`, {
          detail: { failed: failed.map((f) => f.file) },
        });
      }
    });
}
