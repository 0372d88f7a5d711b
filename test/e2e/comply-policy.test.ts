import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageCheckReport } from '../../src/compliance/index.ts';
import { oscalValidators, schemaErrors } from '../../src/compliance/testing.ts';
import { SqliteVulnIndex } from '../../src/vuln/index.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

// Whole-system tests of what happens to compliance results after the check: a policy's `hardening`
// section (an image published by `kiln image publish --key`, from the bundled fixture packages, to
// Kiln's own registry on loopback, its hardening checks attached by `kiln comply check --attest`, and
// `kiln policy verify` reading them back), and the POA&M items of a CVE still within its SLA.

const root = join(import.meta.dirname, '..', '..');
const fixtureRepo = join(root, 'test', 'fixtures', 'apk', 'apko-cli-packages');
let work: string;
let server: ServerProcess;
let host: string;

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', COSIGN_PASSWORD: 'comply-policy-e2e', DOCKER_CONFIG: join(work, 'docker') }, cwd: work });

interface PolicyJson {
  passed: boolean;
  reports: Array<{ checks: Array<{ requirement: string; passed: boolean; detail: string }> }>;
}

async function verify(image: string, hardening: string): Promise<{ run: CliRun; json: PolicyJson }> {
  await writeFile(join(work, 'policy.yaml'), `authorities:\n  release: { key: cosign.pub }\nhardening: ${hardening}\n`);
  const run = await kiln(['policy', 'verify', '--policy', 'policy.yaml', '--json', image]);
  return { run, json: JSON.parse(run.stdout) as PolicyJson };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-comply-policy-e2e-'));
  server = await startKiln(join(work, 'registry-data'));
  host = server.url.replace('http://', '');
  expect((await kiln(['generate-key-pair'])).code).toBe(0);
  await writeFile(
    join(work, 'image.yaml'),
    `contents:\n  repositories: [${fixtureRepo}]\n  keyring: [${join(fixtureRepo, 'melange.rsa.pub')}]\n  packages: [replayout, custom-ca-certs-1]\nentrypoint: {command: /bin/sh}\naccounts: {run-as: 65532, users: [{username: nonroot, uid: 65532}]}\narchs: [x86_64]\n`,
  );
  const published = await kiln(['image', 'publish', 'image.yaml', `${host}/team/hardened:1`, '--key', 'cosign.key', '--cache-dir', 'cache']);
  expect(published.code, published.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln policy verify with a hardening section (e2e)', () => {
  it('fails without an attestation, then passes or fails on the attested results, naming each unmet check', async () => {
    const checked = await kiln(['comply', 'check', `${host}/team/hardened:1`, '--json']);
    const [report] = JSON.parse(checked.stdout) as ImageCheckReport[];
    const digest = report!.image.manifestDigest!;
    const image = `${host}/team/hardened@${digest}`;
    // The fixture packages carry no CA bundle or zoneinfo; a registry reference without --sbom,
    // --keyring, --rebuilt or --vuln-db leaves four checks not-run, and without a public key to
    // verify them with, signature-attached, sbom-attached and provenance-attached (found, not
    // verified) too.
    const unmet = ['ca-bundle fail', 'timezone-data fail', 'sbom-packages not-run', 'packages-signed not-run', 'signature-attached not-run', 'sbom-attached not-run', 'provenance-attached not-run', 'reproducible not-run', 'vulnerabilities-within-sla not-run'];
    expect(report!.checks.filter((check) => check.status !== 'pass' && check.status !== 'not-applicable').map((check) => `${check.id} ${check.status}`)).toEqual(unmet);

    const missing = await verify(image, '{ require: [non-root-user] }');
    expect(missing.run.code).toBe(1);
    expect(missing.json.reports[0]!.checks).toEqual([{
      requirement: 'hardening checks non-root-user pass by release',
      passed: false,
      detail: `no valid hardening-check attestation (https://kiln.dev/attestations/hardening-checks/v1; attach one with kiln comply check --attest): release: ${image}: no attestations of type https://kiln.dev/attestations/hardening-checks/v1 found (no ${digest.replace(':', '-')}.att layers and no bundle referrers)`,
    }]);

    // ca-bundle and timezone-data are low: the command exits 0.
    const attested = await kiln(['comply', 'check', `${host}/team/hardened:1`, '--attest', '--key', 'cosign.key']);
    expect(attested.code, attested.stderr).toBe(0);
    expect(attested.stderr).toContain(`Attested https://kiln.dev/attestations/hardening-checks/v1 to ${digest}`);

    // --attest takes --key as the signing key, so the run verified no attestation: sbom-attached
    // did not run and cannot meet a requirement
    const unverified = await verify(image, '{ require: [non-root-user, sbom-attached] }');
    expect(unverified.run.code).toBe(1);
    expect(unverified.json.reports[0]!.checks[0]!.detail).toMatch(/: 1 of 2 required checks unmet: sbom-attached not-run$/);

    const named = await verify(image, '{ require: [non-root-user, no-private-keys, no-setuid-setgid] }');
    expect(named.run.code, named.run.stderr).toBe(0);
    expect(named.json).toMatchObject({ passed: true });
    expect(named.json.reports[0]!.checks).toHaveLength(1);
    expect(named.json.reports[0]!.checks[0]!).toMatchObject({ requirement: 'hardening checks non-root-user, no-private-keys, no-setuid-setgid pass by release', passed: true });
    expect(named.json.reports[0]!.checks[0]!.detail).toMatch(/^release, attested \d{4}-\d\d-\d\dT[\d:.]+Z \(signed statement\): 3 required checks met: 3 pass$/);

    const failing = await verify(image, '{ require: [non-root-user, ca-bundle] }');
    expect(failing.run.code).toBe(1);
    expect(failing.json.reports[0]!.checks[0]!.detail).toMatch(/: 1 of 2 required checks unmet: ca-bundle fail$/);

    // not-run is never a pass: `require: all` names every check that failed or lacked data.
    const all = await verify(image, '{ require: all }');
    expect(all.run.code).toBe(1);
    expect(all.json.reports[0]!.checks[0]!.detail).toMatch(new RegExp(`: 9 of 21 required checks unmet: ${unmet.join(', ')}$`));
    expect(all.run.stderr).toMatch(new RegExp(`^kiln: ${image} does not satisfy the policy:\n  hardening checks all pass by release: release, attested .*: 9 of 21 required checks unmet: ${unmet.join(', ')}\n`));

    // Attested by a key the policy's authority does not name: as good as no attestation.
    expect((await kiln(['generate-key-pair', '--output-key-prefix', 'other'])).code).toBe(0);
    await writeFile(join(work, 'policy.yaml'), 'authorities:\n  other: { key: other.pub }\nhardening: { require: [non-root-user] }\n');
    const stranger = await kiln(['policy', 'verify', '--policy', 'policy.yaml', '--json', image]);
    expect(stranger.code).toBe(1);
    expect((JSON.parse(stranger.stdout) as PolicyJson).reports[0]!.checks[0]!.detail).toMatch(/^no valid hardening-check attestation .*: other: /);
  });
});

describe('kiln comply report: POA&M for open findings within their SLA (e2e)', () => {
  it('gives a critical CVE published two days ago an item and a risk with its deadline, valid against NIST\'s POA&M schema', async () => {
    const published = new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await mkdir(join(work, 'vuln'), { recursive: true });
    const index = new SqliteVulnIndex(join(work, 'vuln', 'vuln.sqlite'));
    try {
      index.replaceFeed(
        // changed two days ago, checked now: a feed last checked 48 hours ago is stale and proves nothing
        { name: 'test-nvd', type: 'nvd', location: 'test', updatedAt: published, checkedAt: new Date().toISOString(), records: 1, warnings: 0, sha256: '0'.repeat(64) },
        { affected: [], cpes: [{ cve: 'CVE-2099-7001', vendor: 'kiln', product: 'replayout', endExcluding: '2.0' }], vulnerabilities: [{ id: 'CVE-2099-7001', aliases: [], published, cvss: [{ version: '3.1', score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'nvd@nist.gov' }] }], kev: [], epss: [], warnings: [] },
      );
    } finally {
      index.close();
    }
    const run = await kiln(['comply', 'report', `${host}/team/hardened:1`, '--vuln-db', 'vuln', '--out', 'report', '--json']);
    expect([run.code, run.stderr]).toEqual([0, '']);
    const poam = JSON.parse(await readFile(join(work, 'report', 'poam.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const validate = oscalValidators();
    expect(validate.poam(poam), schemaErrors(validate.poam)).toBe(true);
    const plan = poam['plan-of-action-and-milestones'];
    const titles = (plan['poam-items'] as Array<{ title: string }>).map((item) => item.title);
    const where = `${host}/team/hardened:1 (linux/amd64)`;
    expect(titles).toEqual([`A CA certificate bundle is present: failed on ${where}`, `Time zone data is present: failed on ${where}`, `CVE-2099-7001 in replayout 1.0.0-r0 (critical): open within its SLA on ${where}`]);
    expect(plan.risks).toHaveLength(1);
    expect(plan.risks[0]).toMatchObject({ status: 'open', deadline: new Date(Date.parse(published) + 7 * 86_400_000).toISOString(), links: [{ href: 'https://www.cve.org/CVERecord?id=CVE-2099-7001' }] });
    expect(plan.risks[0].description).toBe(`CVE-2099-7001 in replayout 1.0.0-r0 (critical) has been open 2 day(s) since ${published} (published (vulnerability index)); its SLA is 7 day(s); remediation due by ${plan.risks[0].deadline}.`);
  });
});

describe('kiln policy verify: the newest hardening-check attestation decides (e2e)', () => {
  it('a check not-run in the first attested run passes once a run with the data is attested', async () => {
    const checked = JSON.parse((await kiln(['comply', 'check', `${host}/team/hardened:1`, '--json'])).stdout) as ImageCheckReport[];
    const image = `${host}/team/hardened@${checked[0]!.image.manifestDigest}`;
    const before = await verify(image, '{ require: [vulnerabilities-within-sla] }');
    expect(before.run.code).toBe(1);
    expect(before.json.reports[0]!.checks[0]!.detail).toMatch(/: 1 of 1 required checks unmet: vulnerabilities-within-sla not-run$/);
    // The index is the one the POA&M test above built. Statement times have whole seconds: make the
    // new one later than the first run's.
    await new Promise((done) => setTimeout(done, 1100));
    const attested = await kiln(['comply', 'check', `${host}/team/hardened:1`, '--vuln-db', 'vuln', '--attest', '--key', 'cosign.key']);
    expect(attested.code, attested.stderr).toBe(0);
    const after = await verify(image, '{ require: [vulnerabilities-within-sla] }');
    expect(after.run.code, after.run.stderr).toBe(0);
    expect(after.json.reports[0]!.checks[0]!.detail).toMatch(/: 1 required checks met: 1 pass$/);
  });

  it('--verify-key verifies the attachments while --key signs the attested results', async () => {
    const checked = JSON.parse((await kiln(['comply', 'check', `${host}/team/hardened:1`, '--json'])).stdout) as ImageCheckReport[];
    const image = `${host}/team/hardened@${checked[0]!.image.manifestDigest}`;
    const required = '{ require: [signature-attached, sbom-attached, provenance-attached] }';
    await new Promise((done) => setTimeout(done, 1100));
    expect((await kiln(['comply', 'check', `${host}/team/hardened:1`, '--attest', '--key', 'cosign.key'])).code).toBe(0);
    expect((await verify(image, required)).json.reports[0]!.checks[0]!.detail).toMatch(/: 3 of 3 required checks unmet: signature-attached not-run, sbom-attached not-run, provenance-attached not-run$/);
    await new Promise((done) => setTimeout(done, 1100));
    const attested = await kiln(['comply', 'check', `${host}/team/hardened:1`, '--attest', '--key', 'cosign.key', '--verify-key', 'cosign.pub']);
    expect(attested.code, attested.stderr).toBe(0);
    const after = await verify(image, required);
    expect(after.run.code, after.run.stderr).toBe(0);
    expect(after.json.reports[0]!.checks[0]!.detail).toMatch(/: 3 required checks met: 3 pass$/);
  });
});

describe('kiln policy verify: a hardening section on a tag that resolves to an index (e2e)', () => {
  it('checks the attestations of every platform image the index lists, naming each', async () => {
    const checked = JSON.parse((await kiln(['comply', 'check', `${host}/team/hardened:1`, '--json'])).stdout) as ImageCheckReport[];
    const manifest = checked[0]!.image.manifestDigest!;
    const met = await verify(`${host}/team/hardened:1`, '{ require: [non-root-user] }');
    expect(met.run.code, met.run.stderr).toBe(0);
    expect(met.json.reports[0]!.checks[0]!.detail).toMatch(new RegExp(`^linux/amd64 \\(${manifest}\\): release, attested .*: 1 required checks met: 1 pass$`));
    const unmet = await verify(`${host}/team/hardened:1`, '{ require: [ca-bundle] }');
    expect(unmet.run.code).toBe(1);
    expect(unmet.json.reports[0]!.checks[0]!).toMatchObject({ passed: false, detail: expect.stringMatching(new RegExp(`^linux/amd64 \\(${manifest}\\): release, attested .*: 1 of 1 required checks unmet: ca-bundle fail$`)) });
  });
});

describe('kiln policy verify: every platform of a multi-platform index must satisfy the hardening section (e2e)', () => {
  it('fails while one platform image lacks an attestation, passes once both carry one', async () => {
    await writeFile(join(work, 'multi.yaml'), (await readFile(join(work, 'image.yaml'), 'utf8')).replace('archs: [x86_64]', 'archs: [x86_64, aarch64]'));
    const tag = `${host}/team/multi:1`;
    const published = await kiln(['image', 'publish', 'multi.yaml', tag, '--key', 'cosign.key', '--cache-dir', 'cache']);
    expect(published.code, published.stderr).toBe(0);
    const amd64 = await kiln(['comply', 'check', tag, '--platform', 'linux/amd64', '--attest', '--key', 'cosign.key']);
    expect(amd64.code, amd64.stderr).toBe(0);
    const partial = await verify(tag, '{ require: [non-root-user] }');
    expect(partial.run.code).toBe(1);
    const detail = partial.json.reports[0]!.checks[0]!.detail;
    expect(detail).toMatch(/^linux\/amd64 \(sha256:[0-9a-f]{64}\): release, attested .*: 1 required checks met: 1 pass \| linux\/arm64 \(sha256:[0-9a-f]{64}\): no valid hardening-check attestation /);
    const all = await kiln(['comply', 'check', tag, '--attest', '--key', 'cosign.key']);
    expect(all.code, all.stderr).toBe(0);
    const met = await verify(tag, '{ require: [non-root-user] }');
    expect(met.run.code, met.run.stderr).toBe(0);
    expect(met.json.reports[0]!.checks[0]!.detail.split(' | ').map((part) => part.replace(/ \(sha256:.*$/, ''))).toEqual(['linux/amd64', 'linux/arm64']);
  });
});
