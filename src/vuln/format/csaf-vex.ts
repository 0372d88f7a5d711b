import { sha256Hex } from '../../lib/index.ts';
import type { Finding, ScanReport } from '../scan.ts';
import { severityOfScore } from './cvss.ts';
import { findingPurl, suppression } from './openvex.ts';

// Pure: scan reports as a CSAF 2.0 document of the VEX profile (`csaf_vex`): one product per
// package version (purl as its identification helper), per vulnerability the products known
// affected (with a remediation: the fixed version, or none available) and known not affected
// (with the OpenVEX justification as a flag, or the reason as an impact threat).

/** Who, when and what made it, passed in (no clock here). */
export interface CsafOptions {
  /** Publisher name. */
  author: string;
  /** Publisher namespace URL. */
  namespace?: string;
  timestamp: Date;
  tool: { name: string; version: string };
}

const CVE = /^CVE-[0-9]{4}-[0-9]{4,}$/;

/** The CSAF 2.0 VEX document of one or several scan reports. */
export function formatCsafVex(reports: readonly ScanReport[], options: CsafOptions): Record<string, unknown> {
  const products = new Map<string, { name: string; product_id: string; product_identification_helper: { purl: string } }>();
  const productId = (report: ScanReport, finding: Finding) => {
    const purl = findingPurl(report, finding);
    let product = products.get(purl);
    if (!product) {
      product = { name: `${finding.package} ${finding.version}`, product_id: `KILN-PRODUCT-${products.size + 1}`, product_identification_helper: { purl } };
      products.set(purl, product);
    }
    return product.product_id;
  };
  interface Entry {
    id: string;
    aliases: Set<string>;
    summary?: string;
    cvss?: Finding['cvss'];
    affected: Map<string, string | undefined>;
    notAffected: Map<string, ReturnType<typeof suppression>>;
  }
  const entries = new Map<string, Entry>();
  for (const report of reports) {
    for (const [finding, suppressed] of [...report.findings.map((item) => [item, false] as const), ...report.suppressed.map((item) => [item, true] as const)]) {
      const entry: Entry = entries.get(finding.id) ?? { id: finding.id, aliases: new Set(), affected: new Map(), notAffected: new Map() };
      entries.set(finding.id, entry);
      for (const alias of finding.aliases) entry.aliases.add(alias);
      entry.summary ??= finding.summary;
      entry.cvss ??= finding.cvss;
      const product = productId(report, finding);
      if (suppressed) entry.notAffected.set(product, suppression(finding));
      else entry.affected.set(product, finding.fixedVersion);
    }
  }
  const vulnerabilities = [...entries.values()].map((entry) => {
    const cve = CVE.test(entry.id) ? entry.id : [...entry.aliases].find((alias) => CVE.test(alias));
    const ids = [entry.id, ...entry.aliases].filter((id) => id !== cve).map((id) => ({ system_name: id.split('-')[0]!, text: id }));
    const affected = [...entry.affected.keys()];
    const notAffected = [...entry.notAffected.keys()];
    const byFix = new Map<string, string[]>();
    for (const [product, fixed] of entry.affected) byFix.set(fixed ?? '', [...(byFix.get(fixed ?? '') ?? []), product]);
    const justified = new Map<string, string[]>();
    const threats: Array<{ category: 'impact'; details: string; product_ids: string[] }> = [];
    for (const [product, why] of entry.notAffected) {
      if (why.justification) justified.set(why.justification, [...(justified.get(why.justification) ?? []), product]);
      if (!why.justification || why.reason !== why.justification) threats.push({ category: 'impact', details: why.justification ? why.reason.slice(why.justification.length + 1).trim() || why.reason : why.reason, product_ids: [product] });
    }
    const v3 = entry.cvss && (entry.cvss.version === '3.1' || entry.cvss.version === '3.0') && entry.cvss.vector.startsWith('CVSS:3') ? entry.cvss : undefined;
    return {
      ...(cve ? { cve } : {}),
      ...(ids.length ? { ids } : {}),
      ...(entry.summary ? { notes: [{ category: 'summary', text: entry.summary }] } : {}),
      product_status: { ...(affected.length ? { known_affected: affected } : {}), ...(notAffected.length ? { known_not_affected: notAffected } : {}) },
      ...(justified.size ? { flags: [...justified].map(([label, productIds]) => ({ label, product_ids: productIds })) } : {}),
      ...(threats.length ? { threats } : {}),
      ...(byFix.size
        ? {
            remediations: [...byFix].map(([fixed, productIds]) =>
              fixed ? { category: 'vendor_fix', details: `Upgrade to version ${fixed} or later`, product_ids: productIds } : { category: 'none_available', details: 'No fixed version is known yet', product_ids: productIds },
            ),
          }
        : {}),
      ...(v3 && affected.length
        ? { scores: [{ products: affected, cvss_v3: { version: v3.version, vectorString: v3.vector, baseScore: v3.score, baseSeverity: severityOfScore(v3.score) } }] }
        : {}),
    };
  });
  const when = options.timestamp.toISOString();
  const targets = [...new Set(reports.map((report) => report.target))];
  const id = `kiln-vex-${sha256Hex(Buffer.from(JSON.stringify(vulnerabilities))).slice(0, 16)}`;
  return {
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      publisher: { category: 'vendor', name: options.author, namespace: options.namespace ?? 'https://kiln.dev' },
      title: `Vulnerability status of ${targets.join(', ')}`,
      tracking: {
        current_release_date: when,
        generator: { engine: { name: options.tool.name, version: options.tool.version }, date: when },
        id,
        initial_release_date: when,
        revision_history: [{ date: when, number: '1', summary: 'Initial version' }],
        status: 'final',
        version: '1',
      },
    },
    product_tree: { full_product_names: [...products.values()] },
    vulnerabilities,
  };
}
