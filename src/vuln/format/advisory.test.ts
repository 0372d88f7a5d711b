import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { matchPackages } from '../matcher.ts';
import { scanContents } from '../scan.ts';
import type { VulnIndex } from '../port.ts';
import { stubVulnIndex } from '../testing.ts';
import { advisoryRecords, parseAdvisoryFile } from './advisory.ts';
import { formatOpenVex, vexStatuses } from './openvex.ts';
import type { AffectedRecord } from './model.ts';

const schemaPath = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'schemas', 'openvex', 'openvex_json_schema.json');

const OPENSSL = `package: openssl
advisories:
  - id: CVE-2099-4001
    events:
      - { timestamp: 2099-01-01T00:00:00Z, type: detected, data: { scanner: kiln } }
      - { timestamp: 2099-01-03T00:00:00Z, type: fixed, data: { version: 3.0.8-r1, evidence: "debian/changelog 3.0.8-1: fixes CVE-2099-4001" } }
  - id: CVE-2099-4002
    aliases: [GHSA-aaaa-bbbb-cccc]
    events:
      - { timestamp: 2099-01-02, type: not-affected, data: { justification: vulnerable_code_not_present, impact: "the affected engine is not built" } }
  - id: CVE-2099-4003
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: false-positive, data: { reason: "the CPE names another product" } }
  - id: CVE-2099-4004
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: affected }
      - { timestamp: 2099-01-05T00:00:00Z, type: fix-not-planned, data: { reason: "end of life upstream" } }
  - id: CVE-2099-4005
    events:
      - { timestamp: 2099-01-02T00:00:00Z, type: pending-upstream, data: { note: "patch under review" } }
`;

describe('parseAdvisoryFile', () => {
  it('reads dated events and turns the latest into index records', () => {
    const file = parseAdvisoryFile(OPENSSL, 'openssl.yaml', 'openssl');
    expect(file.advisories.map((advisory) => advisory.events.at(-1)!.type)).toEqual(['fixed', 'not-affected', 'false-positive', 'fix-not-planned', 'pending-upstream']);
    const records = advisoryRecords(file, 'kiln', 'wolfi');
    expect(records.map((record) => [record.vulnerability, record.status, record.ranges, record.note])).toEqual([
      ['CVE-2099-4001', 'affected', [{ fixed: '3.0.8-r1' }], 'debian/changelog 3.0.8-1: fixes CVE-2099-4001'],
      ['CVE-2099-4002', 'not-affected', [], 'vulnerable_code_not_present: the affected engine is not built'],
      ['CVE-2099-4003', 'not-affected', [], 'false positive: the CPE names another product'],
      ['CVE-2099-4004', 'affected', [{}], 'fix not planned: end of life upstream'],
      ['CVE-2099-4005', 'affected', [{}], 'pending upstream fix: patch under review'],
    ]);
  });

  it.each([
    ['package: openssl\nadvisories:\n  - id: CVE-2099-1\n    events:\n      - { timestamp: 2099-01-01T00:00:00Z, type: not-affected, data: { justification: because } }\n', 'openssl.yaml:5:', 'advisories[0].events[0].data.justification'],
    ['package: openssl\nadvisories:\n  - id: CVE-2099-1\n    events:\n      - { timestamp: 2099-01-01T00:00:00Z, type: fixed, data: { version: "not a version" } }\n', 'openssl.yaml:5:', 'advisories[0].events[0].data.version'],
    ['package: openssl\nadvisories:\n  - id: CVE-2099-1\n    events:\n      - { timestamp: 2099-01-02T00:00:00Z, type: detected }\n      - { timestamp: 2099-01-01T00:00:00Z, type: affected }\n', 'openssl.yaml:6:', 'advisories[0].events[1].timestamp'],
    ['package: openssl\nadvisories:\n  - id: CVE-2099-1\n    events: []\n', 'openssl.yaml:4:', 'advisories[0].events'],
    ['package: zlib\nadvisories: []\n', 'openssl.yaml:1:', 'package'],
    ['package: openssl\nadvisories:\n  - id: CVE-2099-1\n    events:\n      - { timestamp: yesterday, type: detected }\n', 'openssl.yaml:5:', 'advisories[0].events[0].timestamp'],
  ])('names file, line and field of a bad file (%#)', (text, at, field) => {
    expect(() => parseAdvisoryFile(text, 'openssl.yaml', 'openssl')).toThrow(expect.objectContaining({ code: 'VULN_ADVISORY_INVALID', message: expect.stringContaining(`${field}:`) }));
    expect(() => parseAdvisoryFile(text, 'openssl.yaml', 'openssl')).toThrow(expect.objectContaining({ message: expect.stringMatching(new RegExp(`^${at.replace('.', '\\.')}\\d+: `)) }));
  });
});

describe('OpenVEX output', () => {
  const addFormats = addFormatsModule as unknown as (ajv: object) => void;
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  ajv.addFormat('iri', true);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

  it('validates the official examples (the validator works) and the document of a scan with Kiln advisories', () => {
    const examples = join(schemaPath, '..', 'examples');
    expect(validate(JSON.parse(readFileSync(join(examples, 'spec-minimal.openvex.json'), 'utf8')))).toBe(true);
    const records: AffectedRecord[] = advisoryRecords(parseAdvisoryFile(OPENSSL, 'openssl.yaml', 'openssl'), 'kiln', 'wolfi');
    const index: VulnIndex = stubVulnIndex({ affected: () => records });
    const report = scanContents({ target: 'rootfs', kind: 'rootfs', ecosystem: 'wolfi', packages: [{ name: 'libssl3', version: '3.0.8-r0', origin: 'openssl' }], warnings: [] }, index);
    expect(matchPackages({ ecosystem: 'wolfi', packages: [{ name: 'libssl3', version: '3.0.8-r0', origin: 'openssl' }], records, cpes: [] })).toHaveLength(5);
    const vex = formatOpenVex(report, { author: 'Kiln test', timestamp: new Date('2099-01-10T00:00:00Z') });
    expect(validate(vex), JSON.stringify(validate.errors)).toBe(true);
    const statements = (vex as { statements: Array<Record<string, unknown>> }).statements;
    expect(statements.map((statement) => [(statement.vulnerability as { name: string }).name, statement.status, statement.justification ?? statement.action_statement, statement.impact_statement])).toEqual([
      ['CVE-2099-4001', 'affected', 'Upgrade libssl3 to 3.0.8-r1 or later', undefined],
      ['CVE-2099-4004', 'affected', 'No fixed version of libssl3 is known yet', undefined],
      ['CVE-2099-4005', 'affected', 'No fixed version of libssl3 is known yet', undefined],
      ['CVE-2099-4002', 'not_affected', 'vulnerable_code_not_present', 'the affected engine is not built'],
      ['CVE-2099-4003', 'not_affected', undefined, 'false positive: the CPE names another product'],
    ]);
    expect((statements[0]!.products as Array<{ '@id': string }>)[0]!['@id']).toBe('pkg:apk/wolfi/libssl3@3.0.8-r0');
    // The same verdicts, one line per vulnerability, without the document's time.
    expect(vexStatuses(report)).toEqual({
      'CVE-2099-4001': 'libssl3: affected (fixed in 3.0.8-r1)',
      'CVE-2099-4002': 'libssl3: not_affected (vulnerable_code_not_present: the affected engine is not built)',
      'CVE-2099-4003': 'libssl3: not_affected (false positive: the CPE names another product)',
      'CVE-2099-4004': 'libssl3: affected',
      'CVE-2099-4005': 'libssl3: affected',
    });
  });
});
