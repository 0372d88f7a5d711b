import { describe, expect, it } from 'vitest';
import { parseInstalledDb } from '../../apk/index.ts';
import { packagesSignedOutcome, reproducibleOutcome, vulnerabilitiesOutcome } from './supply-checks.ts';
import type { ImageVulnerability, VulnerabilityScan } from './supply-checks.ts';

const INSTALLED = parseInstalledDb('C:Q1m6wB0UFePGN8Drz82pC8y2uAiu8=\nP:base\nV:1.0-r0\nA:x86_64\nS:1\nI:1\nT:base\nU:\nL:MIT\n\nC:Q11/HhSewwwOXgl0r0ffb0O0BRtYc=\nP:app\nV:2.0-r1\nA:x86_64\nS:1\nI:1\nT:app\nU:\nL:MIT\n\n', { source: 'installed' });
const DB = { path: 'lib/apk/db/installed', digest: `sha256:${'d'.repeat(64)}` };

function scan(findings: ImageVulnerability[]): VulnerabilityScan {
  return { index: '/db/vuln.sqlite', feeds: ['nvd (updated 2099-01-01T00:00:00Z)'], findings, now: '2099-02-01T00:00:00Z' };
}

const finding = (id: string, severity: ImageVulnerability['severity'], detected?: string): ImageVulnerability => ({
  id, aliases: [], package: 'app', version: '2.0-r1', severity, ...(detected ? { detected: { at: detected, from: 'published (vulnerability index)' } } : {}),
});

describe('vulnerabilities-within-sla', () => {
  it('is not-run without an index or without an apk database', () => {
    expect(vulnerabilitiesOutcome(undefined, 2)).toMatchObject({ status: 'not-run', summary: expect.stringContaining('--vuln-db') });
    expect(vulnerabilitiesOutcome(scan([]), undefined)).toMatchObject({ status: 'not-run', summary: expect.stringContaining('no apk database') });
  });

  it('passes with no critical or high finding, counting the others', () => {
    expect(vulnerabilitiesOutcome(scan([finding('CVE-1', 'MEDIUM', '2000-01-01')]), 2)).toMatchObject({ status: 'pass', summary: 'no critical or high vulnerability in 2 package(s); 1 finding(s) of lower or unknown severity' });
  });

  it('uses the kiln vuln sla policy: critical 7 days, high 14 (a high one open 14 days is within, 15 is not)', () => {
    const within = vulnerabilitiesOutcome(scan([finding('CVE-2', 'HIGH', '2099-01-18T00:00:00Z')]), 2);
    expect(within.status).toBe('pass');
    expect(within.evidence[1]!.detail).toBe('CVE-2 in app 2.0-r1 (high): open 14 day(s) since 2099-01-18T00:00:00Z (published (vulnerability index)), SLA 14 day(s): within; no fix known');
    expect(within.evidence[1]!.vulnerability).toEqual({ id: 'CVE-2', package: 'app', version: '2.0-r1', severity: 'high', detectedAt: '2099-01-18T00:00:00Z', detectedFrom: 'published (vulnerability index)', daysOpen: 14, slaDays: 14, dueAt: '2099-02-01T00:00:00.000Z', isBreached: false });
    const breached = vulnerabilitiesOutcome(scan([finding('CVE-2', 'HIGH', '2099-01-17T00:00:00Z'), finding('CVE-3', 'CRITICAL', '2099-01-31T00:00:00Z')]), 2);
    expect(breached).toMatchObject({ status: 'fail', summary: '1 critical or high vulnerability is past the SLA: CVE-2 in app (15 > 14 days)' });
  });

  it('a custom policy applies', () => {
    expect(vulnerabilitiesOutcome({ ...scan([finding('CVE-2', 'HIGH', '2099-01-30T00:00:00Z')]), policy: { CRITICAL: 1, HIGH: 1, MEDIUM: 1, LOW: 1, NONE: 1, UNKNOWN: 1 } }, 2).status).toBe('fail');
  });

  it('a critical finding with no date cannot be judged: not-run, never pass', () => {
    expect(vulnerabilitiesOutcome(scan([finding('CVE-4', 'CRITICAL')]), 2)).toMatchObject({ status: 'not-run', summary: 'no breach found, but none can be ruled out: 1 critical or high vulnerability has no known detection date, so the SLA cannot be checked: CVE-4 in app' });
  });

  it('does not pass against an index with no feed, none covering the image\'s release, or a stale feed', () => {
    expect(vulnerabilitiesOutcome({ ...scan([]), feeds: [] }, 2)).toMatchObject({ status: 'not-run', summary: 'no breach found, but none can be ruled out: the vulnerability index holds no feed' });
    const uncovered = vulnerabilitiesOutcome({ ...scan([]), coverageGap: 'no feed in the vulnerability index holds records for alpine:3.19, the image\'s release', warnings: ['no feed in the vulnerability index holds records for alpine:3.19: its packages were matched against NVD\'s CPE ranges only'] }, 2);
    expect(uncovered).toMatchObject({ status: 'not-run', summary: 'no breach found, but none can be ruled out: no feed in the vulnerability index holds records for alpine:3.19, the image\'s release' });
    expect(uncovered.evidence.map((item) => item.detail)).toContain('scan warning: no feed in the vulnerability index holds records for alpine:3.19: its packages were matched against NVD\'s CPE ranges only');
    const stale = vulnerabilitiesOutcome({ ...scan([finding('CVE-5', 'LOW', '2000-01-01')]), staleFeeds: ['nvd (last checked 2099-01-01T00:00:00Z)'] }, 2);
    expect(stale).toMatchObject({ status: 'not-run', summary: 'no breach found, but none can be ruled out: stale feed(s): nvd (last checked 2099-01-01T00:00:00Z) (run kiln vuln db update)' });
    // a breach found in stale or partial data is still a breach
    expect(vulnerabilitiesOutcome({ ...scan([finding('CVE-6', 'CRITICAL', '2099-01-01T00:00:00Z')]), staleFeeds: ['nvd (last checked 2099-01-01T00:00:00Z)'], coverageGap: 'gap' }, 2).status).toBe('fail');
  });
});

describe('packages-signed', () => {
  const records = [{ name: 'base', version: '1.0-r0', identity: 'Q1m6wB0UFePGN8Drz82pC8y2uAiu8=' }, { name: 'app', version: '2.0-r1', identity: 'Q11/HhSewwwOXgl0r0ffb0O0BRtYc=' }];

  it('is not-run without indexes or without a database', () => {
    expect(packagesSignedOutcome(undefined, INSTALLED, DB)).toMatchObject({ status: 'not-run', summary: expect.stringContaining('--repository, --keyring') });
    expect(packagesSignedOutcome([], undefined, undefined).status).toBe('not-run');
  });

  it('passes when every installed identity is the one a signed index records', () => {
    expect(packagesSignedOutcome([{ source: 'repo/x86_64/APKINDEX.tar.gz', signedBy: 'kiln.rsa.pub', records }], INSTALLED, DB)).toMatchObject({ status: 'pass', summary: 'all 2 installed package(s) have the identity their signed index records (repo/x86_64/APKINDEX.tar.gz signed by kiln.rsa.pub)' });
  });

  it('fails on a different identity, a package in no index, or an index that did not verify', () => {
    const changed = packagesSignedOutcome([{ source: 'i', signedBy: 'k', records: [records[0]!, { ...records[1]!, identity: 'Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }] }], INSTALLED, DB);
    expect(changed).toMatchObject({ status: 'fail', summary: '1 of 2 package(s) not traced to a signed index: app@2.0-r1 has identity Q11/HhSewwwOXgl0r0ffb0O0BRtYc=, the index says Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(packagesSignedOutcome([{ source: 'i', signedBy: 'k', records: [records[0]!] }], INSTALLED, DB).summary).toContain('app@2.0-r1 is in no trusted index');
    const untrusted = packagesSignedOutcome([{ source: 'i', records: [], error: 'i: no signature by a trusted key' }], INSTALLED, DB);
    expect(untrusted).toMatchObject({ status: 'fail', summary: 'none of the 1 index(es) verified with the keyring' });
    expect(untrusted.evidence[1]).toEqual({ path: 'i', detail: 'not verified: i: no signature by a trusted key' });
  });
});

describe('reproducible', () => {
  const image = { platform: 'linux/amd64', configDigest: `sha256:${'c'.repeat(64)}`, manifestDigest: `sha256:${'a'.repeat(64)}` };

  it('is not-run without a rebuild or without its platform', () => {
    expect(reproducibleOutcome(undefined, image).status).toBe('not-run');
    expect(reproducibleOutcome({ source: 'r' }, image)).toMatchObject({ status: 'not-run', summary: 'r has no image for linux/amd64' });
  });

  it('passes on equal digests and fails on a different config or manifest', () => {
    expect(reproducibleOutcome({ source: 'r', configDigest: image.configDigest, manifestDigest: image.manifestDigest }, image)).toMatchObject({ status: 'pass', summary: 'the rebuild in r has the same manifest and config digest' });
    expect(reproducibleOutcome({ source: 'r', configDigest: image.configDigest }, { ...image, manifestDigest: undefined as unknown as string })).toMatchObject({ status: 'pass', summary: 'the rebuild in r has the same config digest' });
    expect(reproducibleOutcome({ source: 'r', configDigest: `sha256:${'e'.repeat(64)}` }, image).status).toBe('fail');
    expect(reproducibleOutcome({ source: 'r', configDigest: image.configDigest, manifestDigest: `sha256:${'b'.repeat(64)}` }, image).summary).toContain('compressed layers differ');
  });

  it('takes the verdict of a reproduction from provenance: pass, fail naming this platform\'s differences, not-run with why', () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const rebuilt = `sha256:${'f'.repeat(64)}`;
    expect(reproducibleOutcome(undefined, image, { status: 'reproduced', digest, provenance: 'provenance p', verifiedBy: 'key k' })).toEqual({
      status: 'pass', summary: `reproduced from provenance: the rebuild is ${digest}`, evidence: [{ digest, detail: 'reproduced from provenance (provenance p, verified by key k)' }],
    });
    const differences = [{ platform: 'linux/arm64', detail: 'layer 0 differs' }, { platform: 'linux/amd64', detail: 'etc/x: content' }];
    const failed = reproducibleOutcome(undefined, image, { status: 'differs', digest, rebuilt, provenance: 'provenance p', differences });
    expect(failed).toMatchObject({ status: 'fail', summary: `not reproduced: published ${digest}, rebuilt from provenance ${rebuilt}: etc/x: content` });
    expect(failed.evidence).toEqual([{ digest, detail: 'published image' }, { digest: rebuilt, detail: 'rebuilt from provenance (provenance p)' }, { detail: 'linux/amd64: etc/x: content' }]);
    // a reproduction overrides --rebuilt, and one that could not run never passes
    expect(reproducibleOutcome({ source: 'r', configDigest: image.configDigest }, image, { status: 'unverifiable', reason: 'no SLSA provenance that verifies: x', digest })).toEqual({
      status: 'not-run', summary: 'not reproduced: no SLSA provenance that verifies: x', evidence: [{ digest, detail: 'published image' }],
    });
  });
});
