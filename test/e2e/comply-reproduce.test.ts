// `kiln comply check REF --reproduce`: the reproducible check rebuilds a published image from its
// verified SLSA provenance (as kiln image reproduce does). An image built from the bundled fixture
// repository is published to Kiln's own registry on loopback with a cosign key.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { startKiln } from './registry-support.ts';

const fixtureRepo = join(import.meta.dirname, '..', 'fixtures', 'apk', 'apko-cli-packages');
const env = { COSIGN_PASSWORD: 'comply-reproduce-pw', SOURCE_DATE_EPOCH: '1700000000' };

/** `kiln ARGS` in-process, with HOME and DOCKER_CONFIG in `cwd` and no vulnerability index. */
function kiln(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return runKiln(args, { cwd: options.cwd, env: { HOME: options.cwd, DOCKER_CONFIG: join(options.cwd, '.docker'), KILN_VULN_DB_DIR: join(options.cwd, 'no-vuln-db'), ...(options.env ?? {}) } });
}

const imageConfig = (repo: string) => `contents:
  repositories:
    - ${repo}
  keyring:
    - ${join(repo, 'melange.rsa.pub')}
  packages:
    - replayout
    - custom-ca-certs-1
accounts:
  groups:
    - groupname: nonroot
      gid: 65532
  users:
    - username: nonroot
      uid: 65532
      gid: 65532
  run-as: nonroot
archs:
  - x86_64
`;

interface Report {
  image: { platform: string };
  checks: { id: string; status: string; summary: string; evidence: { digest?: string; detail: string }[] }[];
}

const reproducible = (stdout: string) => (JSON.parse(stdout) as Report[]).map((report) => report.checks.find((check) => check.id === 'reproducible')!);

let work: string;
let server: { host: string; stop: () => Promise<unknown> };
let tag: string;
let digest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-comply-reproduce-'));
  const repo = join(work, 'repo');
  await cp(fixtureRepo, repo, { recursive: true });
  await writeFile(join(work, 'a.yaml'), imageConfig(repo));
  expect((await kiln(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
  await mkdir(join(work, 'other'));
  expect((await kiln(['generate-key-pair', '--output-key-prefix', 'other/cosign'], { cwd: work, env })).code).toBe(0);
  const started = await startKiln(await mkdtemp(join(work, 'kiln-data-')));
  server = { host: started.host, stop: () => started.stop() };
  tag = `${server.host}/team/app:1.0`;
  const published = await kiln(['image', 'publish', 'a.yaml', tag, '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env });
  expect(published.code, published.stderr).toBe(0);
  digest = (JSON.parse(published.stdout) as { index: { digest: string } }).index.digest;
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln comply check --reproduce', () => {
  it('passes reproducible when the rebuild from the verified provenance has the published digest', async () => {
    const result = await kiln(['comply', 'check', tag, '--reproduce', '--key', 'cosign.pub', '--cache-dir', 'cache-reproduce', '--json'], { cwd: work });
    const [check] = reproducible(result.stdout);
    expect(check, result.stderr).toMatchObject({ status: 'pass', summary: `reproduced from provenance: the rebuild is ${digest}` });
    expect(check!.evidence).toEqual([{ digest, detail: expect.stringMatching(/^reproduced from provenance \(provenance sha256:[0-9a-f]{64}, verified by key /) }]);
  });

  it('is not-run, naming why, when the provenance does not verify with the key', async () => {
    const result = await kiln(['comply', 'check', tag, '--reproduce', '--key', 'other/cosign.pub', '--cache-dir', 'cache-reproduce', '--json'], { cwd: work });
    const [check] = reproducible(result.stdout);
    expect(check, result.stderr).toMatchObject({ status: 'not-run', summary: expect.stringMatching(/^not reproduced: [^ ]+@sha256:[0-9a-f]{64}: no SLSA provenance that verifies: /) });
    expect(check!.evidence).toEqual([{ digest, detail: 'published image' }]);
  });

  it('needs a key or a keyless identity, and is not-run on a local file', async () => {
    expect((await kiln(['comply', 'check', tag, '--reproduce'], { cwd: work })).code).toBe(2);
    const signingKeyOnly = await kiln(['comply', 'check', tag, '--reproduce', '--attest', '--key', 'cosign.key'], { cwd: work });
    expect(signingKeyOnly.code).toBe(2);
    expect(signingKeyOnly.stderr).toContain('give --verify-key cosign.pub (--key is the signing key with --attest)');
    const layout = join(work, 'layout');
    expect((await kiln(['image', 'build', 'a.yaml', 'kiln.test/team/app:1.0', 'a.tar', '--oci-layout', layout, '--cache-dir', 'cache'], { cwd: work, env })).code).toBe(0);
    const result = await kiln(['comply', 'check', layout, '--reproduce', '--key', 'cosign.pub', '--json'], { cwd: work });
    const [check] = reproducible(result.stdout);
    expect(check, result.stderr).toMatchObject({ status: 'not-run', summary: expect.stringContaining('is a local file: only a registry reference has provenance to rebuild from') });
  });
});
