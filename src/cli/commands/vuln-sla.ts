import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertInputDirectory, KilnError, writeFileAtomic } from '../../lib/index.ts';
import { DEFAULT_SLA, loadAdvisoryDirectory, parseSeverity, severityInIndex, slaCsv, slaMarkdown, slaReport, SqliteVulnIndex } from '../../vuln/index.ts';
import type { Severity, SlaPolicy } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { addVulnDbOption, vulnDbDir, vulnDbPath } from './vuln-options.ts';
import type { VulnDbFlags } from './vuln-options.ts';

interface SlaFlags extends VulnDbFlags {
  format: string;
  sla?: string;
  output?: string;
}

/** `--sla critical=7,high=14`: days per severity over the defaults; USAGE when malformed. */
export function parsePolicy(text: string | undefined): SlaPolicy {
  const policy: Record<Severity, number> = { ...DEFAULT_SLA };
  const given = new Set<Severity>();
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [name, days] = part.split('=');
    const severity = parseSeverity(name ?? '');
    if (!severity || !/^\d+$/.test(days ?? '')) throw new KilnError('USAGE', `--sla ${text}: use SEVERITY=DAYS pairs, e.g. critical=7,high=14`);
    policy[severity] = Number(days);
    given.add(severity);
  }
  // Unscored and none-rated findings count as low unless given their own days.
  for (const follower of ['NONE', 'UNKNOWN'] as const) if (!given.has(follower)) policy[follower] = policy.LOW;
  return policy;
}

/** `kiln vuln sla [DIR]`: remediation times of every vulnerability that affected a shipped package. */
export function registerVulnSla(vuln: Command, context: CliContext): void {
  addVulnDbOption(
    vuln
      .command('sla')
      .description('remediation SLA report from the advisories: first detected, fixed at (version and date), days open and SLA breaches per severity (severity from the local index)')
      .argument('[dir]', 'advisories directory', 'os/advisories')
      .option('--format <FORMAT>', 'json, csv or markdown', 'markdown')
      .option('--sla <LIST>', 'days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given)')
      .option('-o, --output <FILE>', 'write here (atomically) instead of stdout'),
  ).action(async (dir: string, flags: SlaFlags) => {
    if (!['json', 'csv', 'markdown'].includes(flags.format)) throw new KilnError('USAGE', `--format ${flags.format}: use json, csv or markdown`);
    const policy = parsePolicy(flags.sla);
    const path = resolve(context.cwd, dir);
    await assertInputDirectory(path, 'advisories directory');
    const loaded = await loadAdvisoryDirectory(path);
    for (const error of loaded.errors) context.stderr(`warning: ${error.message} (skipped)\n`);
    const dbPath = vulnDbPath(vulnDbDir(context, flags));
    const index = existsSync(dbPath) ? new SqliteVulnIndex(dbPath, { readonly: true }) : undefined;
    if (!index) context.stderr(`warning: ${dbPath}: no vulnerability index, so every severity is unknown (run kiln vuln db update)\n`);
    let text: string;
    try {
      const entries = slaReport(loaded.files, { now: new Date(), policy, severityOf: (id, aliases) => (index ? severityInIndex(index, [id, ...aliases]) : 'UNKNOWN') });
      text = flags.format === 'json' ? `${JSON.stringify(entries)}\n` : flags.format === 'csv' ? slaCsv(entries) : slaMarkdown(entries);
    } finally {
      index?.close();
    }
    if (flags.output) await writeFileAtomic(resolve(context.cwd, flags.output), text);
    else context.stdout(text);
  });
}
