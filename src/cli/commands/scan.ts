import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { parseImageReference } from '../../oci/index.ts';
import type { ImageReference } from '../../oci/index.ts';
import { dockerConfigCredentials, RegistryClient } from '../../registry-client/index.ts';
import { cosignVulnPredicate, findingsAtOrAbove, formatCsafVex, formatCycloneDxVex, formatOpenVex, formatScanSarif, formatScanTable, parseSeverity, readRegistryTargets, readScanTarget, scanContents, SEVERITIES, severityRank, SqliteVulnIndex, VulnError } from '../../vuln/index.ts';
import type { ScanReport, Severity, TargetContents } from '../../vuln/index.ts';
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
  allowInsecureRegistry?: boolean;
}

const FORMATS = ['table', 'json', 'sarif', 'openvex', 'csaf', 'cyclonedx-vex', 'cosign-vuln'];

const DISTRO = /^(alpine:(\d+\.\d+|edge)|wolfi|chainguard|kiln|debian:(\d+|sid))$/;

/** A registry reference when the target is not a path that exists and names a registry host
 *  (`host/repo:tag`, `host/repo@sha256:…`); a bare word would be Docker Hub and is taken for a path. */
function registryReferenceOf(target: string, path: string): ImageReference | undefined {
  if (existsSync(path) || target.startsWith('.') || target.startsWith('/') || !target.includes('/')) return undefined;
  try {
    return parseImageReference(target);
  } catch {
    return undefined;
  }
}

/** `kiln scan TARGET`: the vulnerabilities of the apk packages in an image, root filesystem, apk database or SBOM. */
export function registerScan(program: Command, context: CliContext): void {
  addVulnDbOption(
    program
      .command('scan')
      .description(
        'find known vulnerabilities in the apk packages of an OCI layout, docker-archive tarball, root filesystem, apk installed database or SPDX/CycloneDX SBOM, using the local index (kiln vuln db update). Exit codes: 0 scanned (and nothing at or above --fail-on), 1 findings at or above --fail-on or a failure, 2 bad usage',
      )
      .argument('<target>', 'registry reference (registry/repo:tag or @sha256:…; every platform of an index), OCI layout directory, docker-archive tarball, root filesystem directory, lib/apk/db/installed file, or SBOM JSON')
      .option('--format <FORMAT>', 'table, json, sarif, openvex, csaf (CSAF 2.0 VEX), cyclonedx-vex (CycloneDX 1.6 VEX) or cosign-vuln (predicate for kiln attest --type vuln)', 'table')
      .option('--json', 'same as --format json')
      .option('--fail-on <SEVERITY>', `exit 1 when a finding is at or above this severity (${SEVERITIES.filter((s) => s !== 'UNKNOWN' && s !== 'NONE').join(', ').toLowerCase()})`)
      .option('--ignore-unfixed', 'leave out vulnerabilities with no fixed version')
      .option('--show-suppressed', 'also list matches a feed says do not apply, with the reason (table output; JSON always has them)')
      .option('--platform <OS/ARCH>', 'image to scan in a multi-platform layout or archive (default linux/amd64, else the first), or the one platform of a registry index to scan (default all)')
      .option('--allow-insecure-registry', 'allow plain HTTP to a registry that is not on loopback')
      .option('--vex-author <NAME>', 'author of the OpenVEX document or publisher of the CSAF document (--format openvex, csaf)')
      .option('--distro <ECOSYSTEM>', 'distribution when the target does not say (alpine:3.20, wolfi, chainguard, debian:12)'),
  ).action(async (target: string, flags: ScanFlags, command: Command) => {
    const startedOn = new Date();
    const format = flags.json ? 'json' : (flags.format ?? 'table');
    if (!FORMATS.includes(format)) throw new KilnError('USAGE', `--format ${format}: use ${FORMATS.join(', ')}`);
    let failOn: Severity | undefined;
    if (flags.failOn !== undefined) {
      failOn = parseSeverity(flags.failOn);
      if (!failOn || failOn === 'UNKNOWN') throw new KilnError('USAGE', `--fail-on ${flags.failOn}: use low, medium, high or critical`);
    }
    if (flags.distro !== undefined && !DISTRO.test(flags.distro)) throw new KilnError('USAGE', `--distro ${flags.distro}: use alpine:X.Y, alpine:edge, wolfi, chainguard, debian:N or debian:sid`);
    const path = vulnDbPath(vulnDbDir(context, flags));
    if (!existsSync(path)) throw new VulnError('VULN_DB_MISSING', `${path}: no vulnerability index yet (run kiln vuln db update --config FILE)`, { detail: { path } });
    const targetOptions = { ...(flags.platform ? { platform: flags.platform } : {}), ...(flags.distro ? { ecosystem: flags.distro } : {}), name: target };
    const reference = registryReferenceOf(target, resolve(context.cwd, target));
    let targets: TargetContents[];
    if (reference) {
      const client = new RegistryClient({ credentials: dockerConfigCredentials(context.env), allowInsecure: Boolean(flags.allowInsecureRegistry), userAgent: 'kiln' });
      targets = await readRegistryTargets(client, reference, targetOptions);
    } else {
      targets = [await readScanTarget(resolve(context.cwd, target), targetOptions)];
    }
    const index = new SqliteVulnIndex(path, { readonly: true });
    const reports: ScanReport[] = [];
    try {
      for (const contents of targets) reports.push(scanContents(contents, index, { ignoreUnfixed: flags.ignoreUnfixed ?? false }));
    } finally {
      index.close();
    }
    for (const warning of new Set(reports.flatMap((report) => report.warnings))) context.stderr(`warning: ${warning}\n`);
    // A registry reference prints one report per platform (a JSON array); a file prints one report.
    if (format === 'json') printJson(context, reference ? reports : reports[0]);
    else if (format === 'sarif') {
      const logs = reports.map((report) => formatScanSarif(report, { name: 'kiln', version: kilnVersion(command) }));
      printJson(context, { ...logs[0], runs: logs.flatMap((log) => log.runs as unknown[]) });
    } else if (format === 'openvex') printJson(context, formatOpenVex(reports, { author: flags.vexAuthor ?? 'kiln', timestamp: new Date() }));
    else if (format === 'csaf') printJson(context, formatCsafVex(reports, { author: flags.vexAuthor ?? 'kiln', timestamp: new Date(), tool: { name: 'kiln', version: kilnVersion(command) } }));
    else if (format === 'cosign-vuln') {
      printJson(context, cosignVulnPredicate(reference ? reports : reports[0]!, { scanner: { name: 'kiln', version: kilnVersion(command) }, startedOn, finishedOn: new Date(), parameters: ['scan', target, ...(flags.platform ? ['--platform', flags.platform] : []), ...(flags.distro ? ['--distro', flags.distro] : []), ...(flags.ignoreUnfixed ? ['--ignore-unfixed'] : [])] }));
    } else if (format === 'cyclonedx-vex') printJson(context, formatCycloneDxVex(reports, { timestamp: new Date(), tool: { name: 'kiln', version: kilnVersion(command) } }));
    else context.stdout(reports.map((report) => formatScanTable(report, { showSuppressed: flags.showSuppressed ?? false })).join('\n'));
    if (failOn) {
      const failing = reports.flatMap((report) => findingsAtOrAbove(report, failOn)).sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
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
