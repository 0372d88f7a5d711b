// kiln policy verify: required signers, required attestation types, maximum age; against docker-registry.
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSlsaProvenanceV1 } from '../../src/attest/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { pushTestImage, startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';
import { kiln } from './trust-helpers.ts';

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

  async function check(policy: string) {
    await mkdir(join(dir, 'policies'), { recursive: true });
    await writeFile(join(dir, 'policies', 'p.yaml.tmp'), policy);
    await rename(join(dir, 'policies', 'p.yaml.tmp'), join(dir, 'policies', 'p.yaml'));
    return kiln(['policy', 'verify', '--policy', 'policies/p.yaml', '--json', ref], { cwd: dir });
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

  it('fails closed listing each unmet requirement: missing signer, stale SBOM, missing VEX', async () => {
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
      ['attestation spdxjson by release or qa within 30d', false],
      ['attestation openvex by release', false],
      ['attestation slsaprovenance1 by qa', false],
    ]);
    expect(checks[1]!.detail).toContain('does not verify');
    expect(checks[2]!.detail).toContain('2020-01-01T00:00:00.000Z');
    expect(checks[3]!.detail).toContain('no attestations of type https://openvex.dev/ns');
    expect(result.stderr).toContain('does not satisfy the policy');
    expect(result.stderr).toContain('signature by qa');
  });

  it('rejects a malformed policy with a usage-level message naming the field', async () => {
    const result = await check('authorities:\n  release: { key: ../keys/missing.pub }\nsignatures: { required: [release] }\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing.pub');
  });
});
