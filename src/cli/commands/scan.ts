import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { findingsAtOrAbove, formatOpenVex, formatScanSarif, formatScanTable, parseSeverity, readScanTarget, scanContents, SEVERITIES, SqliteVulnIndex, VulnError } from '../../vuln/index.ts';
import type { Severity } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addVulnDbOption, vulnDbDir, vulnDbPath } from './vuln-options.ts';
import type { VulnDbFlags } from './vuln-options.ts';

interface ScanFlags extends VulnDbFlags {
  format?: string;
  json?: boolean;
  failOn?: string;
  ignoreUnfixed?: boolean;
  showSuppressed?: boolean;
  platform?: string;
  distro?: string;
  vexAuthor?: string;
}

const DISTRO = /^(alpine:(\d+\.\d+|edge)|wolfi|chainguard|debian:(\d+|sid))$/;

/** `kiln scan TARGET`: the vulnerabilities of the apk packages in an image, root filesystem, apk database or SBOM. */
export function registerScan(program: Command, context: CliContext): void {
  addVulnDbOption(
    program
      .command('scan')
      .description(
        'find known vulnerabilities in the apk packages of an OCI layout, docker-archive tarball, root filesystem, apk installed database or SPDX/CycloneDX SBOM, using the local index (kiln vuln db update). Exit codes: 0 scanned (and nothing at or above --fail-on), 1 findings at or above --fail-on or a failure, 2 bad usage',
      )
      .argument('<target>', 'OCI layout directory, docker-archive tarball, root filesystem directory, lib/apk/db/installed file, or SBOM JSON')
      .option('--format <FORMAT>', 'table, json, sarif or openvex', 'table')
      .option('--json', 'same as --format json')
      .option('--fail-on <SEVERITY>', `exit 1 when a finding is at or above this severity (${SEVERITIES.filter((s) => s !== 'UNKNOWN' && s !== 'NONE').join(', ').toLowerCase()})`)
      .option('--ignore-unfixed', 'leave out vulnerabilities with no fixed version')
      .option('--show-suppressed', 'also list matches a feed says do not apply, with the reason (table output; JSON always has them)')
      .option('--platform <OS/ARCH>', 'image to scan in a multi-platform layout or archive (default linux/amd64, else the first)')
      .option('--vex-author <NAME>', 'author of the OpenVEX document (--format openvex)')
      .option('--distro <ECOSYSTEM>', 'distribution when the target does not say (alpine:3.20, wolfi, chainguard, debian:12)'),
  ).action(async (target: string, flags: ScanFlags, command: Command) => {
    const format = flags.json ? 'json' : (flags.format ?? 'table');
    if (!['table', 'json', 'sarif', 'openvex'].includes(format)) throw new KilnError('USAGE', `--format ${format}: use table, json, sarif or openvex`);
    let failOn: Severity | undefined;
    if (flags.failOn !== undefined) {
      failOn = parseSeverity(flags.failOn);
      if (!failOn || failOn === 'UNKNOWN') throw new KilnError('USAGE', `--fail-on ${flags.failOn}: use low, medium, high or critical`);
    }
    if (flags.distro !== undefined && !DISTRO.test(flags.distro)) throw new KilnError('USAGE', `--distro ${flags.distro}: use alpine:X.Y, alpine:edge, wolfi, chainguard, debian:N or debian:sid`);
    const path = vulnDbPath(vulnDbDir(context, flags));
    if (!existsSync(path)) throw new VulnError('VULN_DB_MISSING', `${path}: no vulnerability index yet (run kiln vuln db update --config FILE)`, { detail: { path } });
    const contents = await readScanTarget(resolve(context.cwd, target), { ...(flags.platform ? { platform: flags.platform } : {}), ...(flags.distro ? { ecosystem: flags.distro } : {}), name: target });
    const index = new SqliteVulnIndex(path, { readonly: true });
    let report;
    try {
      report = scanContents(contents, index, { ignoreUnfixed: flags.ignoreUnfixed ?? false });
    } finally {
      index.close();
    }
    for (const warning of report.warnings) context.stderr(`warning: ${warning}\n`);
    if (format === 'json') printJson(context, report);
    else if (format === 'sarif') printJson(context, formatScanSarif(report, { name: 'kiln', version: kilnVersion(command) }));
    else if (format === 'openvex') printJson(context, formatOpenVex(report, { author: flags.vexAuthor ?? 'kiln', timestamp: new Date() }));
    else context.stdout(formatScanTable(report, { showSuppressed: flags.showSuppressed ?? false }));
    if (failOn) {
      const failing = findingsAtOrAbove(report, failOn);
      if (failing.length > 0) {
        throw new VulnError('VULN_FAIL_ON', `${target}: ${failing.length} ${failing.length === 1 ? 'vulnerability' : 'vulnerabilities'} at or above ${failOn.toLowerCase()} (worst: ${failing[0]!.id} in ${failing[0]!.package}, ${failing[0]!.severity.toLowerCase()})`, {
          detail: { target, failOn, count: failing.length },
        });
      }
    }
  });
}

/** The root program's version, read at run time so this command does not import the program. */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}
