import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { ScanReport } from '../scan.ts';
import { formatCsafVex } from './csaf-vex.ts';
import { formatCycloneDxVex } from './cyclonedx-vex.ts';

// The CSAF 2.0 VEX and CycloneDX 1.6 VEX documents of a scan, checked against the official schemas
// (test/fixtures/vuln/schemas/csaf, test/fixtures/schemas/cyclonedx; sources in their READMEs).

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures');
const addFormats = addFormatsModule as unknown as (ajv: object) => void;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

function csafValidator() {
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  for (const version of ['2.0', '3.0', '3.1']) {
    const schema = json(join(fixtures, 'vuln', 'schemas', 'csaf', `cvss-v${version}.json`));
    delete schema.$schema;
    delete schema.id;
    delete schema.$id;
    ajv.addSchema(schema, `https://www.first.org/cvss/cvss-v${version}.json`);
  }
  return ajv.compile(json(join(fixtures, 'vuln', 'schemas', 'csaf', 'csaf_json_schema.json')));
}

function cycloneDxValidator() {
  const ajv = new Ajv({ strict: false, validateSchema: false, logger: false });
  addFormats(ajv);
  for (const name of ['spdx.schema.json', 'jsf-0.82.schema.json']) ajv.addSchema(json(join(fixtures, 'schemas', 'cyclonedx', name)), name);
  return ajv.compile(json(join(fixtures, 'schemas', 'cyclonedx', 'bom-1.6.schema.json')));
}

const base = { version: '1.0-r0', origin: 'zz', ecosystem: 'wolfi', matchedBy: 'distro' as const, feeds: ['kiln'], notes: [] };
// Two platforms of one image: the same findings twice, which each document lists once.
const report = (platform: string): ScanReport => ({
  target: 'registry.example/zz:1',
  kind: 'registry',
  platform,
  ecosystem: 'wolfi',
  packages: 2,
  findings: [
    { ...base, package: 'zz', id: 'CVE-2099-0001', aliases: ['GHSA-aaaa-bbbb-cccc'], fixedVersion: '1.0-r1', severity: 'CRITICAL', cvss: { version: '3.1', score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'nvd@nist.gov' }, summary: 'test flaw' },
    { ...base, package: 'libzz', id: 'CVE-2099-0002', aliases: [], severity: 'UNKNOWN' },
  ],
  suppressed: [
    { ...base, package: 'libzz', id: 'CVE-2099-0003', aliases: [], severity: 'UNKNOWN', suppressed: 'vulnerable_code_not_in_execute_path: built without the module' },
    { ...base, package: 'zz', id: 'XSA-0001', aliases: [], severity: 'UNKNOWN', suppressed: 'false positive: another product' },
  ],
  warnings: [],
  feeds: [],
});
const reports = [report('linux/amd64'), report('linux/arm64')];
const options = { author: 'Kiln test', timestamp: new Date('2099-01-01T00:00:00Z'), tool: { name: 'kiln', version: '0.1.0' } };

describe('CSAF 2.0 VEX', () => {
  it('validates against the CSAF schema and states each product once per status', () => {
    const document = formatCsafVex(reports, options) as { document: { category: string }; product_tree: { full_product_names: Array<{ product_id: string; product_identification_helper: { purl: string } }> }; vulnerabilities: Array<Record<string, unknown>> };
    const validate = csafValidator();
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
    expect(document.document.category).toBe('csaf_vex');
    expect(document.product_tree.full_product_names.map((product) => [product.product_id, product.product_identification_helper.purl])).toEqual([
      ['KILN-PRODUCT-1', 'pkg:apk/wolfi/zz@1.0-r0'],
      ['KILN-PRODUCT-2', 'pkg:apk/wolfi/libzz@1.0-r0'],
    ]);
    expect(document.vulnerabilities).toEqual([
      {
        cve: 'CVE-2099-0001',
        ids: [{ system_name: 'GHSA', text: 'GHSA-aaaa-bbbb-cccc' }],
        notes: [{ category: 'summary', text: 'test flaw' }],
        product_status: { known_affected: ['KILN-PRODUCT-1'] },
        remediations: [{ category: 'vendor_fix', details: 'Upgrade to version 1.0-r1 or later', product_ids: ['KILN-PRODUCT-1'] }],
        scores: [{ products: ['KILN-PRODUCT-1'], cvss_v3: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, baseSeverity: 'CRITICAL' } }],
      },
      { cve: 'CVE-2099-0002', product_status: { known_affected: ['KILN-PRODUCT-2'] }, remediations: [{ category: 'none_available', details: 'No fixed version is known yet', product_ids: ['KILN-PRODUCT-2'] }] },
      {
        cve: 'CVE-2099-0003',
        product_status: { known_not_affected: ['KILN-PRODUCT-2'] },
        flags: [{ label: 'vulnerable_code_not_in_execute_path', product_ids: ['KILN-PRODUCT-2'] }],
        threats: [{ category: 'impact', details: 'built without the module', product_ids: ['KILN-PRODUCT-2'] }],
      },
      { ids: [{ system_name: 'XSA', text: 'XSA-0001' }], product_status: { known_not_affected: ['KILN-PRODUCT-1'] }, threats: [{ category: 'impact', details: 'false positive: another product', product_ids: ['KILN-PRODUCT-1'] }] },
    ]);
  });
});

describe('CycloneDX 1.6 VEX', () => {
  it('validates against the CycloneDX schema with an analysis per vulnerability', () => {
    const bom = formatCycloneDxVex(reports, options) as { serialNumber: string; components: Array<{ 'bom-ref': string }>; vulnerabilities: Array<{ id: string; analysis: Record<string, unknown>; affects: Array<{ ref: string }>; ratings?: unknown[] }> };
    const validate = cycloneDxValidator();
    expect(validate(bom), JSON.stringify(validate.errors)).toBe(true);
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(formatCycloneDxVex(reports, options)).toEqual(bom);
    expect(bom.components.map((component) => component['bom-ref'])).toEqual(['pkg:apk/wolfi/zz@1.0-r0', 'pkg:apk/wolfi/libzz@1.0-r0']);
    expect(bom.vulnerabilities.map((item) => [item.id, item.analysis, item.affects.map((affect) => affect.ref)])).toEqual([
      ['CVE-2099-0001', { state: 'exploitable', response: ['update'], detail: 'fixed in 1.0-r1' }, ['pkg:apk/wolfi/zz@1.0-r0']],
      ['CVE-2099-0002', { state: 'exploitable', detail: 'no fixed version is known' }, ['pkg:apk/wolfi/libzz@1.0-r0']],
      ['CVE-2099-0003', { state: 'not_affected', justification: 'code_not_reachable', detail: 'vulnerable_code_not_in_execute_path: built without the module' }, ['pkg:apk/wolfi/libzz@1.0-r0']],
      ['XSA-0001', { state: 'false_positive', detail: 'false positive: another product' }, ['pkg:apk/wolfi/zz@1.0-r0']],
    ]);
    expect(bom.vulnerabilities[0]!.ratings).toEqual([{ score: 9.8, severity: 'critical', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }]);
  });
});
