import type { ScanReport } from '../scan.ts';

// Pure: a scan report as a table for people and as SARIF 2.1.0 for code-scanning tools.

/** The report as an aligned text table, one finding per line, then a summary line. */
export function formatScanTable(report: ScanReport, options: { showSuppressed?: boolean } = {}): string {
  const header = ['PACKAGE', 'VERSION', 'VULNERABILITY', 'SEVERITY', 'FIXED IN', 'SOURCE', 'KEV'];
  const label = (finding: { package: string; origin: string }) => (finding.package === finding.origin ? finding.package : `${finding.package} (${finding.origin})`);
  const rows = report.findings.map((finding) => [
    label(finding),
    finding.version,
    finding.id,
    finding.cvss ? `${finding.severity} ${finding.cvss.score.toFixed(1)}` : finding.severity,
    finding.fixedVersion ?? '-',
    finding.feeds.join(','),
    finding.kev ? 'yes' : '',
  ]);
  if (options.showSuppressed) {
    for (const finding of report.suppressed) rows.push([label(finding), finding.version, finding.id, 'SUPPRESSED', '-', finding.feeds.join(','), finding.suppressed ?? '']);
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  const counts = new Map<string, number>();
  for (const finding of report.findings) counts.set(finding.severity, (counts.get(finding.severity) ?? 0) + 1);
  const summary = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'].filter((severity) => counts.has(severity)).map((severity) => `${severity.toLowerCase()} ${counts.get(severity)}`);
  const scanned = `${report.target}${report.platform ? ` (${report.platform})` : ''}: ${report.packages} packages, ${report.ecosystem ?? 'unknown distribution'}`;
  const total = `${report.findings.length} vulnerabilities${summary.length ? ` (${summary.join(', ')})` : ''}, ${report.suppressed.length} suppressed`;
  return `${[scanned, ...(rows.length ? [line(header), ...rows.map(line)] : []), total].join('\n')}\n`;
}

const SARIF_LEVEL: Readonly<Record<string, string>> = { CRITICAL: 'error', HIGH: 'error', MEDIUM: 'warning', LOW: 'note', NONE: 'note', UNKNOWN: 'warning' };

/** The report as a SARIF 2.1.0 log: one rule per vulnerability, one result per affected package. */
export function formatScanSarif(report: ScanReport, tool: { name: string; version: string }): Record<string, unknown> {
  const rules = new Map<string, Record<string, unknown>>();
  for (const finding of report.findings) {
    if (rules.has(finding.id)) continue;
    rules.set(finding.id, {
      id: finding.id,
      shortDescription: { text: finding.summary ? finding.summary.slice(0, 200) : finding.id },
      ...(finding.id.startsWith('CVE-') ? { helpUri: `https://nvd.nist.gov/vuln/detail/${finding.id}` } : {}),
      properties: { 'security-severity': finding.cvss ? finding.cvss.score.toFixed(1) : '0.0', tags: ['vulnerability', 'security', finding.severity] },
    });
  }
  const ruleIds = [...rules.keys()];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: tool.name, version: tool.version, informationUri: 'https://github.com/kiln', rules: [...rules.values()] } },
        results: report.findings.map((finding) => ({
          ruleId: finding.id,
          ruleIndex: ruleIds.indexOf(finding.id),
          level: SARIF_LEVEL[finding.severity] ?? 'warning',
          message: {
            text: `${finding.package} ${finding.version} is affected by ${finding.id} (${finding.severity})${finding.fixedVersion ? `; fixed in ${finding.fixedVersion}` : '; no fix known'}`,
          },
          locations: [{ physicalLocation: { artifactLocation: { uri: report.kind === 'installed-db' ? report.target : 'lib/apk/db/installed' } }, logicalLocations: [{ name: `${finding.package}@${finding.version}`, kind: 'package' }] }],
          properties: { package: finding.package, version: finding.version, origin: finding.origin, ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}), feeds: finding.feeds },
        })),
      },
    ],
  };
}
