import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertInputDirectory } from '../../lib/index.ts';
import { loadAdvisoryDirectory, publishAdvisories, severityInIndex, SqliteVulnIndex, VulnError } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addVulnDbOption, vulnDbDir, vulnDbPath } from './vuln-options.ts';
import type { VulnDbFlags } from './vuln-options.ts';
import { parsePolicy } from './vuln-sla.ts';

interface PublishFlags extends VulnDbFlags {
  outputDir: string;
  reponame: string;
  urlprefix: string;
  arch?: string[];
  sla?: string;
  json?: boolean;
}

/** `kiln advisory publish [DIR]`: the advisories as secdb, OSV records and SLA data, beside the repository. */
export function registerAdvisoryPublish(advisory: Command, context: CliContext): void {
  addVulnDbOption(
    advisory
      .command('publish')
      .description(
        'write the advisories for publishing beside the package repository: security.json (apk secdb), osv/<id>.json and osv/all.zip (OSV records), sla.json, sla.csv and sla.md (remediation SLA report; severities from the local index); each file atomically; refuses invalid advisories files',
      )
      .argument('[dir]', 'advisories directory', 'os/advisories')
      .requiredOption('-o, --output-dir <DIR>', 'directory to publish into (created when missing)')
      .requiredOption('--urlprefix <URL>', 'repository URL prefix recorded in the secdb')
      .option('--reponame <NAME>', 'repository name recorded in the secdb', 'os')
      .option('--arch <ARCH>', 'architecture the repository serves (repeatable; default x86_64 and aarch64)', (value: string, previous: string[] = []) => [...previous, value])
      .option('--sla <LIST>', 'days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given)')
      .option('--json', 'print what was written as JSON'),
  ).action(async (dir: string, flags: PublishFlags) => {
    const policy = parsePolicy(flags.sla);
    const path = resolve(context.cwd, dir);
    await assertInputDirectory(path, 'advisories directory');
    const loaded = await loadAdvisoryDirectory(path);
    if (loaded.errors.length > 0) {
      for (const error of loaded.errors) context.stderr(`kiln: ${error.message}\n`);
      throw new VulnError('VULN_ADVISORY_INVALID', `${dir}: ${loaded.errors.length} advisories files are invalid; nothing published`, { detail: { dir, invalid: loaded.errors.length } });
    }
    const dbPath = vulnDbPath(vulnDbDir(context, flags));
    const index = existsSync(dbPath) ? new SqliteVulnIndex(dbPath, { readonly: true }) : undefined;
    if (!index) context.stderr(`warning: ${dbPath}: no vulnerability index, so every SLA severity is unknown (run kiln vuln db update)\n`);
    try {
      const result = await publishAdvisories(loaded.files, {
        outDir: resolve(context.cwd, flags.outputDir),
        secdb: { reponame: flags.reponame, urlprefix: flags.urlprefix, archs: flags.arch ?? ['x86_64', 'aarch64'] },
        sla: { now: new Date(), policy, severityOf: (id, aliases) => (index ? severityInIndex(index, [id, ...aliases]) : 'UNKNOWN') },
      });
      if (flags.json) printJson(context, result);
      else context.stdout(`${result.secdb}\n${result.osvDir}: ${result.osvRecords} OSV records and all.zip${result.removed.length ? ` (${result.removed.length} stale removed)` : ''}\n${result.sla.json}: ${result.sla.entries} SLA entries, ${result.sla.breached} breached (also sla.csv, sla.md)\n`);
    } finally {
      index?.close();
    }
  });
}
