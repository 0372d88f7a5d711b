import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { attestImage } from '../../attest/index.ts';
import type { AttestedManifest } from '../../attest/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { parseImageReference } from '../../oci/index.ts';
import type { ImageReference } from '../../oci/index.ts';
import { dockerConfigCredentials, RegistryClient } from '../../registry-client/index.ts';
import { COSIGN_VULN_PREDICATE_TYPE, cosignVulnPredicate, findingsAtOrAbove, formatCsafVex, formatCycloneDxVex, formatOpenVex, formatScanSarif, formatScanTable, parseSeverity, readRegistryTargets, readScanTarget, scanContents, SEVERITIES, severityRank, SqliteVulnIndex, VulnError } from '../../vuln/index.ts';
import type { ScanReport, Severity, TargetContents } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addSignerOptions, signatureRepository, signerFromFlags } from './trust-options.ts';
import type { SignerFlags } from './trust-options.ts';
import { addVulnDbOption, vulnDbDir, vulnDbPath } from './vuln-options.ts';
import type { VulnDbFlags } from './vuln-options.ts';

interface ScanFlags extends VulnDbFlags, SignerFlags {
  attest?: boolean;
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
    addSignerOptions(
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
        .option('--distro <ECOSYSTEM>', 'distribution when the target does not say (alpine:3.20, wolfi, chainguard, debian:12)')
        .option('--attest', `registry targets: attach the scan as a signed in-toto attestation (${COSIGN_VULN_PREDICATE_TYPE}, as kiln attest --type vuln) to the scanned reference and to each scanned platform manifest`)
        .option('--key <PATH>', 'with --attest: cosign.key or PEM private key; without it, keyless (Fulcio)'),
      '.att',
    ),
  ).action(async (target: string, flags: ScanFlags, command: Command) => {
    const startedOn = new Date();
    let finishedOn = startedOn;
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
    if (flags.attest && !reference) throw new KilnError('USAGE', `--attest: ${target} is not a registry reference; only images in a registry can carry an attestation`);
    if (!flags.attest && flags.key) throw new KilnError('USAGE', '--key signs the attestation of --attest; add --attest');
    let targets: TargetContents[];
    const client = new RegistryClient({ credentials: dockerConfigCredentials(context.env), allowInsecure: Boolean(flags.allowInsecureRegistry), userAgent: 'kiln' });
    // Signer first, so a wrong key or password fails before the scan.
    const signing = flags.attest ? await signerFromFlags(flags, context, { what: 'attestation', keylessLegacy: false }) : undefined;
    if (reference) {
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
    finishedOn = new Date();
    for (const warning of new Set(reports.flatMap((report) => report.warnings))) context.stderr(`warning: ${warning}\n`);
    const predicateOf = (result: ScanReport | ScanReport[]) =>
      cosignVulnPredicate(result, { scanner: { name: 'kiln', version: kilnVersion(command) }, startedOn, finishedOn, parameters: ['scan', target, ...(flags.platform ? ['--platform', flags.platform] : []), ...(flags.distro ? ['--distro', flags.distro] : []), ...(flags.ignoreUnfixed ? ['--ignore-unfixed'] : [])] });
    if (signing && reference) {
      // The reference gets every report (what --format cosign-vuln prints); each platform manifest
      // scanned out of an index also gets its own report, so verifying either finds the scan.
      const common = { client, signer: signing.signer, witnesses: signing.witnesses, format: signing.format, predicateType: COSIGN_VULN_PREDICATE_TYPE, replace: true, ...(signatureRepository(context) ? { signatureRepository: signatureRepository(context)! } : {}) };
      const attested: AttestedManifest[] = await attestImage({ ...common, reference, predicate: predicateOf(reports) });
      for (const report of reports) {
        if (!report.digest || attested.some((entry) => entry.digest === report.digest)) continue;
        attested.push(...(await attestImage({ ...common, reference: { registry: reference.registry, repository: reference.repository, digest: report.digest as Digest }, predicate: predicateOf(report) })));
      }
      for (const entry of attested) context.stderr(`Attested the scan (${COSIGN_VULN_PREDICATE_TYPE}) to ${reference.registry}/${reference.repository}@${entry.digest}${entry.attestationTag ? ` (${entry.attestationTag})` : ''}${entry.bundle ? ' with a bundle referrer' : ''}\n`);
    }
    // A registry reference prints one report per platform (a JSON array); a file prints one report.
    if (format === 'json') printJson(context, reference ? reports : reports[0]);
    else if (format === 'sarif') {
      const logs = reports.map((report) => formatScanSarif(report, { name: 'kiln', version: kilnVersion(command) }));
      printJson(context, { ...logs[0], runs: logs.flatMap((log) => log.runs as unknown[]) });
    } else if (format === 'openvex') printJson(context, formatOpenVex(reports, { author: flags.vexAuthor ?? 'kiln', timestamp: new Date() }));
    else if (format === 'csaf') printJson(context, formatCsafVex(reports, { author: flags.vexAuthor ?? 'kiln', timestamp: new Date(), tool: { name: 'kiln', version: kilnVersion(command) } }));
    else if (format === 'cosign-vuln') {
      printJson(context, predicateOf(reference ? reports : reports[0]!));
    } else if (format === 'cyclonedx-vex') printJson(context, formatCycloneDxVex(reports, { timestamp: new Date(), tool: { name: 'kiln', version: kilnVersion(command) } }));
    else context.stdout(reports.map((report) => formatScanTable(report, { showSuppressed: flags.showSuppressed ?? false })).join('\n'));
    if (failOn) {
      const failing = reports.flatMap((report) => findingsAtOrAbove(report, failOn)).sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
      if (failing.length > 0) {
        throw new VulnError('VULN_FAIL_ON', `${target}: ${failing.length} ${failing.length === 1 ? 'vulnerability' : 'vulnerabilities'} at or above ${failOn.toLowerCase()} (worst: ${failing[0]!.id} in ${failing[0]!.package}, ${failing[0]!.severity.toLowerCase()})`, {
          detail: { target, failOn, count: failing.length },
        });
      }
      // A finding no feed scores is not known to be below the bar: say so rather than pass silently.
      const unscored = reports.flatMap((report) => report.findings).filter((finding) => finding.severity === 'UNKNOWN');
      if (unscored.length > 0) context.stderr(`warning: ${unscored.length} ${unscored.length === 1 ? 'finding has' : 'findings have'} no severity in any feed (${unscored.slice(0, 3).map((finding) => `${finding.id} in ${finding.package}`).join(', ')}${unscored.length > 3 ? ', …' : ''}); --fail-on ${failOn.toLowerCase()} did not count ${unscored.length === 1 ? 'it' : 'them'}\n`);
    }
  });
}

/** The root program's version, read at run time so this command does not import the program. */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}
