// kiln policy verify: required signers, required attestation types, maximum age (measured from the
// signed attest time); against docker-registry.
import { mkdtemp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestImage, buildSlsaProvenanceV1 } from '../../src/attest/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { decryptPrivateKey, keySigner } from '../../src/sign/index.ts';
import { pushTestImage, startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';
import { kiln } from './trust-helpers.ts';
import type { ImageManifest } from '../../src/oci/index.ts';

const env = { COSIGN_PASSWORD: 'policy-pw' };

describe('kiln policy verify', () => {
  let registry: TestRegistry;
  let dir: string;
  let ref: string;

  beforeAll(async () => {
    registry = await startDockerRegistry();
    dir = await mkdtemp(join(tmpdir(), 'kiln-trust-policy-'));
    await mkdir(join(dir, 'keys'));
    for (const name of ['release', 'qa']) {
      expect((await kiln(['generate-key-pair', '--output-key-prefix', `keys/${name}`], { cwd: dir, env })).code).toBe(0);
    }
    const client = new RegistryClient();
    await pushTestImage(client, { registry: registry.host, repository: 'team/app', tag: 'v1' });
    ref = `${registry.host}/team/app:v1`;
    await writeFile(join(dir, 'slsa.json'), JSON.stringify(buildSlsaProvenanceV1({ buildType: 'https://kiln.dev/build/image/v1', externalParameters: {}, builder: { id: 'https://kiln.dev/b' }, finishedOn: new Date() })));
    await writeFile(join(dir, 'spdx.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'x', dataLicense: 'CC0-1.0', documentNamespace: 'https://kiln.dev/x', creationInfo: { created: '2020-01-01T00:00:00Z', creators: ['Tool: kiln'] } }));
    expect((await kiln(['sign', '--key', 'keys/release.key', ref], { cwd: dir, env })).code).toBe(0);
    expect((await kiln(['attest', '--key', 'keys/release.key', '--type', 'slsaprovenance1', '--predicate', 'slsa.json', ref], { cwd: dir, env })).code).toBe(0);
    expect((await kiln(['attest', '--key', 'keys/release.key', '--type', 'spdxjson', '--predicate', 'spdx.json', ref], { cwd: dir, env })).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function check(policy: string, image = ref) {
    await mkdir(join(dir, 'policies'), { recursive: true });
    await writeFile(join(dir, 'policies', 'p.yaml.tmp'), policy);
    await rename(join(dir, 'policies', 'p.yaml.tmp'), join(dir, 'policies', 'p.yaml'));
    return kiln(['policy', 'verify', '--policy', 'policies/p.yaml', '--json', image], { cwd: dir });
  }

  it('passes when the required signer signed and fresh attestations exist', async () => {
    const result = await check(`
authorities:
  release: { key: ../keys/release.pub }
signatures: { required: [release] }
attestations:
  - { type: slsaprovenance1, maxAge: 1d }
  - { type: spdxjson }
`);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { passed: boolean; reports: { checks: { passed: boolean }[] }[] };
    expect(report.passed).toBe(true);
    expect(report.reports[0]!.checks.map((c) => c.passed)).toEqual([true, true, true]);
  });

  it('judges vulnerability bounds by the newest scan of all the authorities: an older clean scan from one does not hide a newer failing one from another', async () => {
    const client = new RegistryClient();
    await pushTestImage(client, { registry: registry.host, repository: 'team/scanned', tag: 'v1' });
    const scanned = `${registry.host}/team/scanned:v1`;
    const scan = (finished: string, findings: Array<{ id: string; severity: string }>) => JSON.stringify({ scanner: { uri: 'https://kiln.dev', version: '1', result: { findings } }, metadata: { scanStartedOn: finished, scanFinishedOn: finished } });
    await writeFile(join(dir, 'clean.json'), scan('2026-01-01T00:00:00Z', []));
    await writeFile(join(dir, 'critical.json'), scan('2026-03-01T00:00:00Z', [{ id: 'CVE-2099-0001', severity: 'CRITICAL' }]));
    expect((await kiln(['attest', '--key', 'keys/release.key', '--type', 'vuln', '--predicate', 'clean.json', scanned], { cwd: dir, env })).code).toBe(0);
    expect((await kiln(['attest', '--key', 'keys/qa.key', '--type', 'vuln', '--predicate', 'critical.json', scanned], { cwd: dir, env })).code).toBe(0);
    const result = await check(`
authorities:
  release: { key: ../keys/release.pub }
  qa: { key: ../keys/qa.pub }
vulnerabilities: { maxCritical: 0 }
`, scanned);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { passed: boolean; reports: { checks: { passed: boolean; detail: string }[] }[] };
    expect(report.passed).toBe(false);
    expect(report.reports[0]!.checks).toEqual([expect.objectContaining({ passed: false, detail: expect.stringMatching(/^qa: .*1 critical/) })]);
  });

  it('fails closed listing each unmet requirement: missing signer, missing VEX, provenance by the wrong signer', async () => {
    const result = await check(`
authorities:
  release: { key: ../keys/release.pub }
  qa: { key: ../keys/qa.pub }
signatures: { required: [release, qa] }
attestations:
  - { type: spdxjson, maxAge: 30d }
  - { type: openvex, authorities: [release] }
  - { type: slsaprovenance1, authorities: [qa] }
`);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { passed: boolean; reports: { checks: { requirement: string; passed: boolean; detail: string }[] }[] };
    expect(report.passed).toBe(false);
    const checks = report.reports[0]!.checks;
    expect(checks.map((c) => [c.requirement, c.passed])).toEqual([
      ['signature by release', true],
      ['signature by qa', false],
      ['attestation spdxjson by release or qa within 30d', true],
      ['attestation openvex by release', false],
      ['attestation slsaprovenance1 by qa', false],
    ]);
    expect(checks[1]!.detail).toContain('does not verify');
    expect(checks[3]!.detail).toContain('no attestations of type https://openvex.dev/ns');
    expect(result.stderr).toContain('does not satisfy the policy');
    expect(result.stderr).toContain('signature by qa');
  });

  it('measures maxAge from the signed attest time, not from the SBOM creation date (1970 without build dates)', async () => {
    const client = new RegistryClient();
    await pushTestImage(client, { registry: registry.host, repository: 'team/dated', tag: 'v1' });
    const dated = `${registry.host}/team/dated:v1`;
    await writeFile(join(dir, 'sbom-1970.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'x', dataLicense: 'CC0-1.0', documentNamespace: 'https://kiln.dev/1970', creationInfo: { created: '1970-01-01T00:00:00Z', creators: ['Tool: kiln'] } }));
    const before = Date.now();
    expect((await kiln(['attest', '--key', 'keys/release.key', '--type', 'spdxjson', '--predicate', 'sbom-1970.json', dated], { cwd: dir, env })).code).toBe(0);
    const policy = (maxAge: string) => `authorities:\n  release: { key: ../keys/release.pub }\nattestations:\n  - { type: spdxjson, maxAge: ${maxAge} }\n`;
    const fresh = await check(policy('30d'), dated);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    const detail = (JSON.parse(fresh.stdout) as { reports: { checks: { detail: string }[] }[] }).reports[0]!.checks[0]!.detail;
    const match = /^1 valid by release, newest attested (\S+) \(signed statement\)$/.exec(detail);
    expect(match, detail).not.toBeNull();
    const attestedAt = new Date(match![1]!).getTime();
    expect(attestedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(attestedAt).toBeLessThanOrEqual(Date.now());

    const verified = await kiln(['verify-attestation', '--key', 'keys/release.pub', '--type', 'spdxjson', '--json', dated], { cwd: dir });
    const attestation = (JSON.parse(verified.stdout) as { verified: { attestations: { producedAt: string; attestedAt: { time: string; source: string } }[] }[] }).verified[0]!.attestations[0]!;
    expect(attestation.producedAt).toBe('1970-01-01T00:00:00.000Z');
    expect(attestation.attestedAt).toEqual({ time: new Date(attestedAt).toISOString(), source: 'statement' });
  });

  it('fails an attestation signed 40 days ago although its unsigned created annotation is forged to now', async () => {
    const client = new RegistryClient();
    const repo = { registry: registry.host, repository: 'team/old' };
    const image = await pushTestImage(client, { ...repo, tag: 'v1' });
    const old = `${registry.host}/team/old:v1`;
    const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 40 * 86_400_000);
    const key = await decryptPrivateKey(await readFile(join(dir, 'keys', 'release.key'), 'utf8'), env.COSIGN_PASSWORD);
    const predicate = { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'old', dataLicense: 'CC0-1.0', documentNamespace: 'https://kiln.dev/old', creationInfo: { created: new Date().toISOString(), creators: ['Tool: kiln'] } };
    await attestImage({ client, reference: { ...repo, tag: 'v1' }, signer: keySigner(key), predicateType: 'https://spdx.dev/Document', predicate, format: 'both', now: signedAt });
    // Anyone who can push may re-push the bundle referrer with another, unsigned creation time.
    const [referrer] = (await client.referrers(repo, image.digest)).manifests;
    const manifest = (await client.getManifest({ ...repo, digest: referrer!.digest })).manifest as ImageManifest;
    expect(manifest.annotations?.['org.opencontainers.image.created']).toBe(signedAt.toISOString().replace('.000Z', 'Z'));
    await client.pushReferrer(repo, { ...manifest, annotations: { ...manifest.annotations, 'org.opencontainers.image.created': new Date().toISOString() } });
    expect((await client.referrers(repo, image.digest)).manifests).toHaveLength(2);

    const policy = (maxAge: string) => `authorities:\n  release: { key: ../keys/release.pub }\nattestations:\n  - { type: spdxjson, maxAge: ${maxAge} }\n`;
    const stale = await check(policy('30d'), old);
    expect(stale.code).toBe(1);
    const detail = (JSON.parse(stale.stdout) as { reports: { checks: { detail: string }[] }[] }).reports[0]!.checks[0]!.detail;
    const time = `${signedAt.toISOString()} (signed statement)`;
    expect(detail).toBe(`release: 3 valid but none attested within 30d (${time}, ${time}, ${time})`);
    const within = await check(policy('41d'), old);
    expect(within.code, within.stdout + within.stderr).toBe(0);
  });

  it('rejects a malformed policy with a usage-level message naming the field', async () => {
    const result = await check('authorities:\n  release: { key: ../keys/missing.pub }\nsignatures: { required: [release] }\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing.pub');
  });
});
