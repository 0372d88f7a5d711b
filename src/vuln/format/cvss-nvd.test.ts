import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cvss2BaseScore, cvss3BaseScore, parseSeverity, severityOfCvss, severityOfScore } from './cvss.ts';
import { cvss4Score } from './cvss4.ts';
import { parseEpss, parseKev, parseNvd, splitCpe } from './nvd.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'vuln');

describe('cvss3BaseScore', () => {
  // Scores as FIRST's CVSS v3.1 calculator gives them.
  it.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N', 4.3],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 5.5],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N', 5.9],
    ['CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N', 0],
  ])('%s → %d', (vector, score) => {
    expect(cvss3BaseScore(vector)).toBe(score);
  });

  it('refuses malformed vectors', () => {
    expect(cvss3BaseScore('CVSS:2.0/AV:N')).toBeUndefined();
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H')).toBeUndefined();
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H')).toBeUndefined();
  });

  it('rates scores with the specification table', () => {
    expect([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10, undefined].map(severityOfScore)).toEqual(['NONE', 'LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'CRITICAL', 'CRITICAL', 'UNKNOWN']);
    expect(parseSeverity('High')).toBe('HIGH');
    expect(parseSeverity('severe')).toBeUndefined();
  });
});

describe('cvss2BaseScore', () => {
  // Base scores as NVD's CVSS v2 calculator gives them (FIRST's v2 equations).
  it.each([
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5],
    ['AV:N/AC:L/Au:N/C:C/I:C/A:C', 10],
    ['AV:N/AC:M/Au:N/C:N/I:P/A:N', 4.3],
    ['AV:L/AC:L/Au:N/C:C/I:C/A:C', 7.2],
    ['AV:N/AC:L/Au:S/C:N/I:P/A:N', 4],
    ['AV:L/AC:L/Au:N/C:P/I:N/A:N', 2.1],
    ['AV:N/AC:H/Au:N/C:P/I:N/A:N', 2.6],
    ['AV:A/AC:L/Au:N/C:N/I:N/A:C', 6.1],
    ['AV:N/AC:L/Au:N/C:N/I:N/A:N', 0],
    ['(AV:N/AC:M/Au:N/C:P/I:P/A:P)', 6.8],
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P/E:POC/RL:OF/RC:C', 7.5],
  ])('%s → %d', (vector, score) => {
    expect(cvss2BaseScore(vector)).toBe(score);
  });

  it('refuses malformed vectors', () => {
    expect(cvss2BaseScore('AV:N/AC:L/Au:N/C:P/I:P')).toBeUndefined();
    expect(cvss2BaseScore('AV:X/AC:L/Au:N/C:P/I:P/A:P')).toBeUndefined();
    expect(cvss2BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toBeUndefined();
  });
});

describe('cvss4Score', () => {
  // Scores as FIRST's CVSS v4.0 calculator gives them: base (CVSS-B), with threat (E) and with
  // environmental metrics (CR/IR/AR, M…; MSI:S reaches the safety level of EQ4).
  it.each([
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 10],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.2],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 9.4],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N', 8.7],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
    ['CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 8.2],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 7.7],
    ['CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 7.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N', 6.9],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 6.8],
    ['CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N', 6.3],
    ['CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 5.4],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N', 5.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N', 5.1],
    ['CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:P/VC:L/VI:L/VA:N/SC:L/SI:L/SA:N', 2.4],
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:N/VI:N/VA:L/SC:N/SI:N/SA:L', 1],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U', 8.1],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U', 9.1],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/SA:N/E:A/MAV:A', 8.7],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/MUI:A', 5.7],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N/E:U/CR:L/IR:L/AR:L', 2.7],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:L/SI:L/SA:L/MSI:N/MSA:N', 6.9],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P', 8.5],
  ])('%s → %d', (vector, score) => {
    expect(cvss4Score(vector)).toBe(score);
  });

  it('refuses malformed vectors', () => {
    expect(cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N')).toBeUndefined();
    expect(cvss4Score('CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toBeUndefined();
    expect(cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AV:L')).toBeUndefined();
    expect(cvss4Score('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toBeUndefined();
  });

  it('rates v2 scores with NVD\'s v2 table (no CRITICAL) and v3/v4 with the specification\'s', () => {
    expect([0, 3.9, 4, 6.9, 7, 10].map((score) => severityOfCvss({ version: '2.0', score }))).toEqual(['LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH']);
    expect([0, 9.3].map((score) => severityOfCvss({ version: '4.0', score }))).toEqual(['NONE', 'CRITICAL']);
    expect(severityOfCvss(undefined)).toBe('UNKNOWN');
  });
});

describe('parseNvd', () => {
  const feed = parseNvd(readFileSync(join(fixtures, 'nvd.json'), 'utf8'), { feed: 'nvd' });

  it('reads descriptions and v3.1/v4.0 scores with vectors', () => {
    expect(feed.vulnerabilities.map((vuln) => [vuln.id, vuln.cvss.map((score) => `${score.version} ${score.score}`)])).toEqual([
      ['CVE-2099-1001', ['3.1 7.5']],
      ['CVE-2099-1003', ['3.1 9.8']],
      ['CVE-2099-1004', ['4.0 5.3']],
      ['CVE-2099-1006', ['3.1 9.8']],
      ['CVE-2099-1007', ['3.1 4.3']],
    ]);
    expect(feed.vulnerabilities[0]!.summary).toBe('openssl test vulnerability, fixed in 1.1.1q-r1');
  });

  it('reads CPE ranges of applications and warns about a malformed CPE and a record without a CVE id', () => {
    expect(feed.cpes).toEqual([
      { cve: 'CVE-2099-1003', vendor: 'busybox', product: 'busybox', endExcluding: '1.36.0' },
      { cve: 'CVE-2099-1007', vendor: 'busybox', product: 'busybox', startIncluding: '1.30.0', endExcluding: '1.36.0' },
    ]);
    expect(feed.warnings.map((warning) => `${warning.record} ${warning.field}`)).toEqual(['CVE-2099-1007 configurations[0].nodes[0].cpeMatch[1].criteria', 'vulnerabilities[5] vulnerabilities[5].cve.id']);
  });

  it('reads v2.0 metrics and scores a vector NVD gave no score for', () => {
    const metric = (vectorString: string, baseScore?: number) => ({ source: 'nvd@nist.gov', type: 'Primary', cvssData: { vectorString, ...(baseScore === undefined ? {} : { baseScore }) } });
    const text = JSON.stringify({
      vulnerabilities: [
        { cve: { id: 'CVE-2099-1101', metrics: { cvssMetricV2: [metric('AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5)] } } },
        { cve: { id: 'CVE-2099-1102', metrics: { cvssMetricV40: [metric('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')], cvssMetricV2: [metric('AV:N/AC:M/Au:N/C:N/I:P/A:N')] } } },
        { cve: { id: 'CVE-2099-1103', metrics: { cvssMetricV2: [metric('AV:N/AC:L')] } } },
      ],
    });
    const feed = parseNvd(text, { feed: 'nvd' });
    expect(feed.vulnerabilities.map((vuln) => [vuln.id, vuln.cvss.map((score) => `${score.version} ${score.score} ${score.vector}`)])).toEqual([
      ['CVE-2099-1101', ['2.0 7.5 AV:N/AC:L/Au:N/C:P/I:P/A:P']],
      ['CVE-2099-1102', ['4.0 9.3 CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', '2.0 4.3 AV:N/AC:M/Au:N/C:N/I:P/A:N']],
      ['CVE-2099-1103', []],
    ]);
    expect(feed.warnings.map((warning) => `${warning.record} ${warning.field}`)).toEqual(['CVE-2099-1103 metrics.cvssMetricV2[0].cvssData']);
  });

  it('skips CPEs of software that runs on other software (target_sw), such as a Jenkins plugin named git', () => {
    const match = (criteria: string) => ({ vulnerable: true, criteria, versionEndIncluding: '4.11.3' });
    const text = JSON.stringify({ vulnerabilities: [{ cve: { id: 'CVE-2022-36882', configurations: [{ nodes: [{ cpeMatch: [match('cpe:2.3:a:jenkins:git:*:*:*:*:*:jenkins:*:*'), match('cpe:2.3:a:git-scm:git:*:*:*:*:*:*:*:*')] }] }] } }] });
    expect(parseNvd(text, { feed: 'nvd' }).cpes).toEqual([{ cve: 'CVE-2022-36882', vendor: 'git-scm', product: 'git', endIncluding: '4.11.3' }]);
  });

  it('splits CPE names on unescaped colons only', () => {
    expect(splitCpe('cpe:2.3:a:vendor:pro\\:duct:1.0:*:*:*:*:*:*:*')?.[4]).toBe('pro:duct');
    expect(splitCpe('cpe:2.3:a:vendor')).toBeUndefined();
  });

  it('refuses a document without a vulnerabilities list', () => {
    expect(() => parseNvd('{"CVE_Items": []}', { feed: 'nvd' })).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID' }));
  });
});

describe('KEV and EPSS', () => {
  it('reads KEV entries and skips one with a bad date', () => {
    const feed = parseKev(readFileSync(join(fixtures, 'kev.json'), 'utf8'), { feed: 'kev' });
    expect(feed.kev).toEqual([{ cve: 'CVE-2099-1001', dateAdded: '2099-01-04', dueDate: '2099-01-25', knownRansomwareCampaignUse: 'Unknown' }]);
    expect(feed.warnings.map((warning) => `${warning.record} ${warning.field}`)).toEqual(['CVE-2099-1002 vulnerabilities[1].dateAdded']);
  });

  it('reads EPSS CSV after its comment line and skips an out-of-range probability', () => {
    const feed = parseEpss(readFileSync(join(fixtures, 'epss.csv'), 'utf8'), { feed: 'epss' });
    expect(feed.epss).toEqual([
      { cve: 'CVE-2099-1001', epss: 0.51234, percentile: 0.97001 },
      { cve: 'CVE-2099-1006', epss: 0.001, percentile: 0.2 },
    ]);
    expect(feed.warnings.map((warning) => warning.record)).toEqual(['CVE-2099-1007']);
    expect(() => parseEpss('cve;epss\n', { feed: 'epss' })).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID' }));
  });
});
