import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createHttpTransport, proxyFromEnvironment } from '../../apk/index.ts';
import { KilnError } from '../../lib/index.ts';
import { keySigner, verifyWithKey } from '../../sign/index.ts';
import { exportIndexBundle, feedStatus, importIndexBundle, loadFeedConfig, SqliteVulnIndex, updateFeeds, VulnError } from '../../vuln/index.ts';
import { loadSigningKey, loadVerificationKeys } from './trust-options.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addVulnDbOption, feedWarningsToStderr, vulnDbDir, vulnDbPath } from './vuln-options.ts';
import type { VulnDbFlags } from './vuln-options.ts';

function age(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

/** `kiln vuln db update|status`: build the local index from the configured feeds; show each feed's age and size. */
export function registerVulnDb(vuln: Command, context: CliContext): void {
  const db = vuln.command('db').description('the local vulnerability index built from advisory feeds');
  addVulnDbOption(
    db
      .command('update')
      .description('fetch every configured feed (files, directories, http(s) URLs with ETag/Last-Modified) and rebuild its part of the index; a feed that cannot be reached keeps its indexed copy')
      .requiredOption('--config <FILE>', 'feed configuration (YAML/JSON: feeds: [{name, type, url|path, ecosystem?}])')
      .option('--json', 'print each feed\'s outcome, record count and warnings as JSON'),
  ).action(async (flags: VulnDbFlags & { config: string; json?: boolean }) => {
    const feeds = await loadFeedConfig(resolve(context.cwd, flags.config));
    const dir = vulnDbDir(context, flags);
    const index = new SqliteVulnIndex(vulnDbPath(dir));
    const fetcher = await createHttpTransport({ proxy: proxyFromEnvironment(context.env) });
    try {
      const results = await updateFeeds({ feeds, index, fetcher, cacheDir: join(dir, 'feeds'), now: () => new Date(), logger: feedWarningsToStderr(context) });
      if (flags.json) {
        printJson(context, { db: vulnDbPath(dir), feeds: results });
        return;
      }
      for (const result of results) {
        context.stdout(`${result.name}: ${result.outcome}, ${result.records} records${result.warnings.length ? `, ${result.warnings.length} skipped` : ''}${result.reason ? ` (${result.reason})` : ''}\n`);
      }
    } finally {
      index.close();
      fetcher.close();
    }
  });
  addVulnDbOption(db.command('status').description("each indexed feed's age, record count and skipped records").option('--json', 'print the feeds as JSON')).action((flags: VulnDbFlags & { json?: boolean }) => {
    const path = vulnDbPath(vulnDbDir(context, flags));
    if (!existsSync(path)) throw new VulnError('VULN_DB_MISSING', `${path}: no vulnerability index yet (run kiln vuln db update --config FILE)`, { detail: { path } });
    const index = new SqliteVulnIndex(path, { readonly: true });
    try {
      const status = feedStatus(index, new Date());
      if (flags.json) {
        printJson(context, { db: path, feeds: status });
        return;
      }
      const rows = status.map((feed) => [feed.name, feed.type, age(feed.ageSeconds), String(feed.records), String(feed.warnings), feed.location]);
      const header = ['FEED', 'TYPE', 'AGE', 'RECORDS', 'SKIPPED', 'SOURCE'];
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
      for (const row of [header, ...rows]) context.stdout(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}\n`);
    } finally {
      index.close();
    }
  });
  addVulnDbOption(
    db
      .command('export')
      .description('write the whole index as one file for air-gapped sites, signed with a cosign key (FILE.sig, as cosign sign-blob writes it)')
      .argument('<file>', 'bundle to write')
      .option('--key <FILE>', 'cosign private key to sign the bundle with (password from COSIGN_PASSWORD)')
      .option('--json', 'print {file, bytes, signed} as JSON'),
  ).action(async (file: string, flags: VulnDbFlags & { key?: string; json?: boolean }) => {
    const path = vulnDbPath(vulnDbDir(context, flags));
    if (!existsSync(path)) throw new VulnError('VULN_DB_MISSING', `${path}: no vulnerability index yet (run kiln vuln db update --config FILE)`, { detail: { path } });
    const signer = flags.key ? keySigner(await loadSigningKey(resolve(context.cwd, flags.key), context)) : undefined;
    const result = await exportIndexBundle(path, resolve(context.cwd, file), signer ? async (data) => (await signer.sign(data)).signature : undefined);
    if (flags.json) printJson(context, { file, ...result });
    else context.stdout(`${file}: ${result.bytes} bytes${result.signed ? `, signature in ${file}.sig` : ', unsigned'}\n`);
  });
  addVulnDbOption(
    db
      .command('import')
      .description('replace the index with a bundle from kiln vuln db export after verifying its signature (FILE.sig) with --key')
      .argument('<file>', 'bundle to import')
      .option('--key <FILE>', 'cosign public key the bundle must be signed with')
      .option('--insecure-ignore-signature', 'import without checking a signature')
      .option('--json', 'print {file, bytes, verified} as JSON'),
  ).action(async (file: string, flags: VulnDbFlags & { key?: string; insecureIgnoreSignature?: boolean; json?: boolean }) => {
    if (!flags.key && !flags.insecureIgnoreSignature) throw new KilnError('USAGE', 'give --key PUBLIC_KEY to verify the bundle (or --insecure-ignore-signature)');
    const keys = flags.key ? await loadVerificationKeys([resolve(context.cwd, flags.key)], context) : undefined;
    const dir = vulnDbDir(context, flags);
    await mkdir(dir, { recursive: true });
    const result = await importIndexBundle(resolve(context.cwd, file), vulnDbPath(dir), keys ? (data, signature) => keys.some((key) => verifyWithKey(key, data, signature)) : undefined);
    if (flags.json) printJson(context, { file, ...result });
    else context.stdout(`${file}: imported ${result.bytes} bytes${result.verified ? ' (signature verified)' : ' (signature not checked)'}\n`);
  });
}
