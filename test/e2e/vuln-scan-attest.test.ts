import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

// Whole-system test of `kiln scan REGISTRY/REPO:TAG --attest --key`: a two-architecture image
// published to Kiln's own registry on loopback, scanned, the scan attached as a signed cosign vuln
// attestation, and verified by `kiln verify-attestation --type vuln` on the tag and on each platform.

const root = join(import.meta.dirname, '..', '..');
const fixtureRepo = join(root, 'test', 'fixtures', 'apk', 'apko-cli-packages');
const vulnFixtures = join(root, 'test', 'fixtures', 'vuln');
const VULN_PREDICATE = 'https://cosign.sigstore.dev/attestation/vuln/v1';
let work: string;
let server: ServerProcess;
let host: string;

const kiln = (args: string[]): Promise<CliRun> =>
  runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', KILN_VULN_DB_DIR: join(work, 'vulndb'), DOCKER_CONFIG: join(work, 'docker'), COSIGN_PASSWORD: 'scan-attest' }, cwd: work });

interface Statement {
  subject: Array<{ digest: { sha256: string } }>;
  predicateType: string;
  predicate: { scanner: { uri: string; result: unknown }; metadata: { scanStartedOn: string; scanFinishedOn: string }; invocation: { parameters: string[] } };
}
interface Verified {
  verified: Array<{ image: string; attestations: Array<{ predicateType: string; source: 'tag' | 'bundle'; statement: Statement }> }>;
}
type Report = { digest?: string; platform?: string; findings: Array<{ package: string; id: string }> };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-vuln-attest-e2e-'));
  server = await startKiln(join(work, 'registry-data'));
  host = server.url.replace('http://', '');
  await writeFile(
    join(work, 'image.yaml'),
    `contents:\n  repositories: [${fixtureRepo}]\n  keyring: [${join(fixtureRepo, 'melange.rsa.pub')}]\n  packages: [replayout, custom-ca-certs-1]\nentrypoint: {command: /bin/sh}\narchs: [x86_64, aarch64]\n`,
  );
  const published = await kiln(['image', 'publish', 'image.yaml', `${host}/team/attest-me:1`, '--cache-dir', 'cache']);
  expect(published.code, published.stderr).toBe(0);
  await writeFile(join(work, 'feeds.yaml'), `feeds:\n  - {name: wolfi-test, type: secdb, path: ${join(vulnFixtures, 'wolfi-style-secdb.json')}, ecosystem: wolfi}\n`);
  expect((await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml'])).code).toBe(0);
  expect((await kiln(['generate-key-pair'])).code).toBe(0);
  expect((await kiln(['generate-key-pair', '--output-key-prefix', join(work, 'other')])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('kiln scan --attest', () => {
  it('attaches the scan as a signed cosign vuln attestation to the tag and to each platform, which verify-attestation --type vuln verifies', async () => {
    const ref = `${host}/team/attest-me:1`;
    const scan = await kiln(['scan', ref, '--distro', 'wolfi', '--json', '--attest', '--key', 'cosign.key']);
    expect(scan.code, scan.stderr).toBe(0);
    const reports = JSON.parse(scan.stdout) as Report[];
    expect(reports.map((report) => report.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(scan.stderr.match(/^Attested the scan/gm)).toHaveLength(3);

    const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'vuln', '--json', ref]);
    expect(verified.code, verified.stderr).toBe(0);
    const onTag = (JSON.parse(verified.stdout) as Verified).verified[0]!.attestations;
    // Stored as cosign does: an .att tag, and a Sigstore bundle referrer (Kiln's registry has the referrers API).
    expect(onTag.map((attestation) => attestation.source).sort()).toEqual(['bundle', 'tag']);
    expect(onTag[1]!.statement).toEqual(onTag[0]!.statement);
    const statement = onTag[0]!.statement;
    expect([onTag[0]!.predicateType, statement.predicateType]).toEqual([VULN_PREDICATE, VULN_PREDICATE]);
    // The tag's attestation carries every platform's report, exactly as the scan printed them.
    expect(statement.predicate.scanner.result).toEqual(reports);
    expect(statement.predicate.scanner.uri).toMatch(/^pkg:npm\/kiln@/);
    expect(statement.predicate.invocation.parameters).toEqual(['scan', ref, '--distro', 'wolfi']);
    expect(Date.parse(statement.predicate.metadata.scanFinishedOn)).toBeGreaterThanOrEqual(Date.parse(statement.predicate.metadata.scanStartedOn));

    for (const report of reports) {
      const platform = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'vuln', '--json', `${host}/team/attest-me@${report.digest!}`]);
      expect(platform.code, platform.stderr).toBe(0);
      const attestations = (JSON.parse(platform.stdout) as Verified).verified[0]!.attestations;
      expect(attestations.map((entry) => entry.source).sort()).toEqual(['bundle', 'tag']);
      const attestation = attestations[0];
      expect(attestation!.statement.subject[0]!.digest.sha256).toBe(report.digest!.slice('sha256:'.length));
      expect(attestation!.statement.predicate.scanner.result).toEqual(report);
      expect((attestation!.statement.predicate.scanner.result as Report).findings.map((finding) => `${finding.package} ${finding.id}`)).toEqual(['pretend-baselayout CVE-2099-3001', 'replayout CVE-2099-3004']);
    }

    // Another key does not verify it; a second scan replaces the first rather than piling up.
    const wrongKey = await kiln(['verify-attestation', '--key', 'other.pub', '--type', 'vuln', ref]);
    expect(wrongKey.code).toBe(1);
    const again = await kiln(['scan', ref, '--distro', 'wolfi', '--attest', '--key', 'cosign.key', '--format', 'json']);
    expect(again.code, again.stderr).toBe(0);
    const after = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'vuln', '--json', ref]);
    const latest = (JSON.parse(after.stdout) as Verified).verified[0]!.attestations;
    expect(latest.filter((attestation) => attestation.source === 'tag')).toHaveLength(1);
    expect(latest.find((attestation) => attestation.source === 'tag')!.statement.predicate.metadata.scanStartedOn > statement.predicate.metadata.scanStartedOn).toBe(true);
  }, 120_000);

  it('refuses --attest for a target that is not in a registry, and --key without --attest, as usage errors', async () => {
    const notRegistry = await kiln(['scan', 'image.yaml', '--attest', '--key', 'cosign.key']);
    expect([notRegistry.code, notRegistry.stderr]).toEqual([2, expect.stringContaining('--attest: image.yaml is not a registry reference')]);
    const keyAlone = await kiln(['scan', `${host}/team/attest-me:1`, '--key', 'cosign.key']);
    expect([keyAlone.code, keyAlone.stderr]).toEqual([2, expect.stringContaining('--key signs the attestation of --attest')]);
  });
});
