import { sha256Hex } from '../../lib/index.ts';
import type { Finding, ScanReport } from '../scan.ts';
import type { VexJustification } from './advisory.ts';
import { findingPurl, suppression } from './openvex.ts';

// Pure: scan reports as a CycloneDX 1.6 VEX BOM: the packages as components (bom-ref = purl) and
// one vulnerability per id with its rating, the components it affects and the analysis —
// `exploitable` for findings, `not_affected` (justification mapped from OpenVEX's) or
// `false_positive` for suppressed matches.

/** When and what made it, passed in (no clock here). */
export interface CycloneDxVexOptions {
  timestamp: Date;
  tool: { name: string; version: string };
  /** `urn:uuid:…` serial number; default derived from the content. */
  serialNumber?: string;
}

// OpenVEX justification → CycloneDX impactAnalysisJustification (CISA's VEX minimum elements mapping).
const JUSTIFICATION: Readonly<Record<VexJustification, string>> = {
  component_not_present: 'code_not_present',
  vulnerable_code_not_present: 'code_not_present',
  vulnerable_code_not_in_execute_path: 'code_not_reachable',
  vulnerable_code_cannot_be_controlled_by_adversary: 'requires_environment',
  inline_mitigations_already_exist: 'protected_by_mitigating_control',
};

const METHOD: Readonly<Record<string, string>> = { '2.0': 'CVSSv2', '3.0': 'CVSSv3', '3.1': 'CVSSv31', '4.0': 'CVSSv4' };

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The CycloneDX 1.6 VEX BOM of one or several scan reports. */
export function formatCycloneDxVex(reports: readonly ScanReport[], options: CycloneDxVexOptions): Record<string, unknown> {
  const components = new Map<string, Record<string, unknown>>();
  const vulnerabilities = new Map<string, { id: string; finding: Finding; affects: Map<string, Finding>; analysis?: Record<string, unknown> }>();
  for (const report of reports) {
    for (const [finding, suppressed] of [...report.findings.map((item) => [item, false] as const), ...report.suppressed.map((item) => [item, true] as const)]) {
      const purl = findingPurl(report, finding);
      if (!components.has(purl)) components.set(purl, { type: 'library', 'bom-ref': purl, name: finding.package, version: finding.version, purl });
      // CycloneDX's analysis is per vulnerability, not per component: affected and not-affected
      // components of one id become two entries (the same id, different affects).
      const key = `${finding.id}\u0000${suppressed ? finding.suppressed ?? '' : ''}`;
      const entry = vulnerabilities.get(key) ?? { id: finding.id, finding, affects: new Map<string, Finding>() };
      vulnerabilities.set(key, entry);
      entry.affects.set(purl, finding);
      if (suppressed) {
        const why = suppression(finding);
        entry.analysis = why.reason.startsWith('false positive')
          ? { state: 'false_positive', detail: why.reason }
          : { state: 'not_affected', ...(why.justification ? { justification: JUSTIFICATION[why.justification] } : {}), detail: why.reason };
      } else {
        entry.analysis = { state: 'exploitable', ...(finding.fixedVersion ? { response: ['update'], detail: `fixed in ${finding.fixedVersion}` } : { detail: 'no fixed version is known' }) };
      }
    }
  }
  const list = [...vulnerabilities.values()].map(({ id, finding, affects, analysis }) => ({
    id,
    source: id.startsWith('CVE-') ? { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${id}` } : { name: finding.feeds[0] ?? 'kiln' },
    ...(finding.cvss ? { ratings: [{ score: finding.cvss.score, severity: finding.severity.toLowerCase(), method: METHOD[finding.cvss.version] ?? 'other', vector: finding.cvss.vector }] } : {}),
    ...(finding.summary ? { description: finding.summary } : {}),
    ...(finding.aliases.length ? { references: finding.aliases.map((alias) => ({ id: alias, source: { name: alias.split('-')[0]! } })) } : {}),
    ...(finding.fixedVersion && analysis?.state === 'exploitable' ? { recommendation: `Upgrade ${finding.package} to ${finding.fixedVersion} or later` } : {}),
    analysis,
    affects: [...affects.keys()].map((ref) => ({ ref })),
  }));
  const body = { components: [...components.values()], vulnerabilities: list };
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: options.serialNumber ?? `urn:uuid:${uuidOf(sha256Hex(Buffer.from(JSON.stringify(body))))}`,
    version: 1,
    metadata: { timestamp: options.timestamp.toISOString(), tools: { components: [{ type: 'application', name: options.tool.name, version: options.tool.version }] } },
    ...body,
  };
}
