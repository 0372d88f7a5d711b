// `kiln image publish --key`: the published index and each arch image are signed, carry an SPDX SBOM
// attestation and a SLSA v1 provenance attestation, each arch image also a CycloneDX SBOM attestation; checked with the trust commands against Kiln's
// own registry (referrers API: bundles as referrers) and Debian's docker-registry (tags only).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry-client/index.ts';
import type { Digest } from '../../src/lib/index.ts';
import { kiln, startRegistryUnderTest } from './trust-helpers.ts';
import type { ImageManifest } from '../../src/oci/index.ts';

const exec = promisify(execFile);
const fixtureRepo = join(import.meta.dirname, '..', 'fixtures', 'apk', 'apko-cli-packages');
const env = { COSIGN_PASSWORD: 'publish-signed-pw', SOURCE_DATE_EPOCH: '1700000000' };

// The same image as examples/demo-image.yaml, with absolute fixture paths.
const config = `contents:
  repositories:
    - ${fixtureRepo}
  keyring:
    - ${join(fixtureRepo, 'melange.rsa.pub')}
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
entrypoint:
  command: /bin/sh -l
work-dir: /home/nonroot
archs:
  - x86_64
  - aarch64
`;

interface IndexRecord {
  version: string;
  identity: string;
}

/** Package name → version and C: identity, read straight from the fixture's APKINDEX. */
async function apkIndex(arch: string): Promise<Map<string, IndexRecord>> {
  const { stdout } = await exec('tar', ['-xzOf', join(fixtureRepo, arch, 'APKINDEX.tar.gz'), 'APKINDEX']);
  const records = new Map<string, IndexRecord>();
  for (const block of stdout.split('\n\n')) {
    const fields = new Map(block.split('\n').filter((line) => line[1] === ':').map((line) => [line[0]!, line.slice(2)]));
    if (fields.has('P')) records.set(fields.get('P')!, { version: fields.get('V')!, identity: fields.get('C')! });
  }
  return records;
}

interface Published {
  index: { digest: string };
  images: { arch: string; digest: string }[];
  refs: string[];
  signatures: { digest: string; signatureTag?: string; signatureReference?: string; bundle?: { viaApi: boolean }; unchanged?: string[] }[];
  attestations: { digest: string; predicateType: string; attestationReference?: string; bundle?: { viaApi: boolean }; unchanged?: string[] }[];
}

interface Statement {
  subject: { digest: { sha256: string } }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

type Provenance = {
  buildDefinition: { externalParameters: { config: { path: string; digest: { sha256: string } } }; internalParameters: { buildDate: string; repositories: { name: string; url: string; architecture: string }[]; keyring: { name: string; url: string }[]; images: Record<string, string>; packages: Record<string, { name: string; version: string; identity: string; datahash?: string }[]> }; resolvedDependencies: { uri: string; digest?: { sha256: string } }[] };
  runDetails: { builder: { id: string; version: { kiln: string } } };
};

let work: string;
let configDigest: string;
const indexes = new Map<string, Map<string, IndexRecord>>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-image-publish-signed-'));
  await writeFile(join(work, 'image.yaml'), config);
  configDigest = createHash('sha256').update(config).digest('hex');
  expect((await kiln(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
  await mkdir(join(work, 'other'));
  expect((await kiln(['generate-key-pair', '--output-key-prefix', 'other/cosign'], { cwd: work, env })).code).toBe(0);
  for (const arch of ['x86_64', 'aarch64']) indexes.set(arch, await apkIndex(arch));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each([
  { name: "Kiln's registry (referrers API)", kind: 'kiln' as const },
  { name: "Debian's docker-registry (tag fallback)", kind: 'distribution' as const },
])('kiln image publish --key against $name', ({ kind }) => {
  let host: string;
  let stop: () => Promise<unknown>;
  let published: Published;
  let tag: string;

  beforeAll(async () => {
    ({ host, stop } = await startRegistryUnderTest(kind, await mkdtemp(join(work, 'kiln-data-'))));
    tag = `${host}/team/app:1.0`;
    const result = await kiln(['image', 'publish', 'image.yaml', tag, '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    published = JSON.parse(result.stdout) as Published;
  });

  afterAll(async () => {
    await stop?.();
  });

  it('reports a signature for the index and each arch image and both attestation kinds', () => {
    const digests = [published.index.digest, ...published.images.map((image) => image.digest)];
    expect(published.images.map((image) => image.arch)).toEqual(['amd64', 'arm64']);
    expect(published.signatures.map((s) => s.digest)).toEqual(digests);
    for (const signature of published.signatures) {
      expect(signature.signatureTag).toBe(`sha256-${signature.digest.slice(7)}.sig`);
      expect(signature.signatureReference).toBe(`${host}/team/app:sha256-${signature.digest.slice(7)}.sig`);
      if (kind === 'kiln') expect(signature.bundle?.viaApi).toBe(true);
      else expect(signature.bundle).toBeUndefined();
    }
    const byType = (type: string) => published.attestations.filter((a) => a.predicateType === type).map((a) => a.digest);
    expect(byType('https://spdx.dev/Document')).toEqual(digests);
    expect(byType('https://slsa.dev/provenance/v1')).toEqual(digests);
    expect(byType('https://cyclonedx.org/bom')).toEqual(published.images.map((image) => image.digest));
    for (const attestation of published.attestations) expect(attestation.attestationReference).toBe(`${host}/team/app:sha256-${attestation.digest.slice(7)}.att`);
  });

  it('verifies with cosign.pub for the index tag and every arch digest; another key fails', async () => {
    const refs = [tag, ...published.images.map((image) => `${host}/team/app@${image.digest}`)];
    for (const ref of refs) {
      const verified = await kiln(['verify', '--key', 'cosign.pub', '--json', ref], { cwd: work });
      expect(verified.code, verified.stderr).toBe(0);
      const sources = (JSON.parse(verified.stdout) as { verified: { signatures: { source: string }[] }[] }).verified[0]!.signatures.map((s) => s.source).sort();
      expect(sources).toEqual(kind === 'kiln' ? ['bundle', 'tag'] : ['tag']);
      const wrong = await kiln(['verify', '--key', 'other/cosign.pub', ref], { cwd: work });
      expect(wrong.code).toBe(1);
      const wrongAttestation = await kiln(['verify-attestation', '--key', 'other/cosign.pub', '--type', 'slsaprovenance1', ref], { cwd: work });
      expect(wrongAttestation.code).toBe(1);
    }
  });

  it('provenance on the index and each image records the config digest and the resolved packages', async () => {
    const refs = [tag, ...published.images.map((image) => `${host}/team/app@${image.digest}`)];
    for (const ref of refs) {
      const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance1', '--json', ref], { cwd: work });
      expect(verified.code, verified.stderr).toBe(0);
      const attestations = (JSON.parse(verified.stdout) as { verified: { attestations: { statement: Statement; source: string }[] }[] }).verified[0]!.attestations;
      expect(attestations.map((a) => a.source).sort()).toEqual(kind === 'kiln' ? ['bundle', 'tag'] : ['tag']);
      const statement = attestations[0]!.statement;
      const expectedDigest = ref === tag ? published.index.digest : ref.slice(ref.indexOf('@') + 1);
      expect(statement.subject.map((s) => `sha256:${s.digest.sha256}`)).toEqual([expectedDigest]);
      const provenance = statement.predicate as unknown as Provenance;
      expect(provenance.buildDefinition.externalParameters.config).toMatchObject({ path: 'image.yaml', digest: { sha256: configDigest } });
      expect(provenance.runDetails.builder.version.kiln).toMatch(/^\d+\.\d+\.\d+/);
      const internal = provenance.buildDefinition.internalParameters;
      expect(internal.buildDate).toBe('2023-11-14T22:13:20Z');
      expect(internal.keyring).toEqual([{ name: 'melange.rsa.pub', url: expect.stringContaining('apko-cli-packages/melange.rsa.pub') as string }]);
      expect(internal.repositories.map((r) => r.architecture).sort()).toEqual(['aarch64', 'x86_64']);
      for (const repository of internal.repositories) expect(repository.name).toBe(join(fixtureRepo, repository.architecture));
      expect(Object.values(internal.images).sort()).toEqual(published.images.map((image) => image.digest).sort());
      expect(Object.keys(internal.packages).sort()).toEqual(['aarch64', 'x86_64']);
      for (const [arch, packages] of Object.entries(internal.packages)) {
        const names = packages.map((p) => p.name);
        expect(names).toEqual(expect.arrayContaining(['replayout', 'custom-ca-certs-1']));
        expect(names).not.toContain('custom-ca-certs-2');
        for (const pkg of packages) {
          const record = indexes.get(arch)!.get(pkg.name);
          expect(record, `${pkg.name} is in the ${arch} APKINDEX with the locked version and identity`).toEqual({ version: pkg.version, identity: pkg.identity });
          expect(pkg.datahash).toMatch(/^[0-9a-f]{64}$/);
        }
      }
      expect(provenance.buildDefinition.resolvedDependencies[0]).toMatchObject({ uri: 'image.yaml', digest: { sha256: configDigest } });
    }
  });

  it('each arch image carries its own SPDX SBOM attestation listing the installed packages', async () => {
    for (const image of published.images) {
      const ref = `${host}/team/app@${image.digest}`;
      const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdxjson', '--json', ref], { cwd: work });
      expect(verified.code, verified.stderr).toBe(0);
      const statement = (JSON.parse(verified.stdout) as { verified: { attestations: { statement: Statement }[] }[] }).verified[0]!.attestations[0]!.statement;
      expect(statement.predicateType).toBe('https://spdx.dev/Document');
      const document = statement.predicate as { spdxVersion: string; packages: { name: string; versionInfo?: string; externalRefs?: { referenceLocator: string }[] }[] };
      expect(document.spdxVersion).toBe('SPDX-2.3');
      const apkArch = image.arch === 'amd64' ? 'x86_64' : 'aarch64';
      const purls = document.packages.flatMap((p) => p.externalRefs ?? []).map((r) => r.referenceLocator).filter((l) => l.startsWith('pkg:apk/'));
      for (const name of ['replayout', 'custom-ca-certs-1']) {
        const version = indexes.get(apkArch)!.get(name)!.version;
        expect(purls.some((purl) => purl.includes(`/${name}@${version}`) && purl.includes(`arch=${apkArch}`)), `${name}@${version} ${apkArch} in ${purls.join(' ')}`).toBe(true);
      }
    }
  });

  it('each arch image carries its own CycloneDX SBOM attestation; --sbom-formats spdx leaves it out', async () => {
    for (const image of published.images) {
      const ref = `${host}/team/app@${image.digest}`;
      const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'cyclonedx', '--json', ref], { cwd: work });
      expect(verified.code, verified.stderr).toBe(0);
      const attestations = (JSON.parse(verified.stdout) as { verified: { attestations: { statement: Statement; source: string }[] }[] }).verified[0]!.attestations;
      expect(attestations.map((a) => a.source).sort()).toEqual(kind === 'kiln' ? ['bundle', 'tag'] : ['tag']);
      const statement = attestations[0]!.statement;
      expect(statement.predicateType).toBe('https://cyclonedx.org/bom');
      expect(statement.subject.map((s) => `sha256:${s.digest.sha256}`)).toEqual([image.digest]);
      const document = statement.predicate as { bomFormat: string; specVersion: string; components: { name: string; version: string; purl?: string }[] };
      expect([document.bomFormat, document.specVersion]).toEqual(['CycloneDX', '1.6']);
      const apkArch = image.arch === 'amd64' ? 'x86_64' : 'aarch64';
      for (const name of ['replayout', 'custom-ca-certs-1']) {
        const version = indexes.get(apkArch)!.get(name)!.version;
        expect(document.components.some((c) => c.name === name && c.version === version && c.purl?.includes(`arch=${apkArch}`)), `${name}@${version} ${apkArch}`).toBe(true);
      }
      const wrong = await kiln(['verify-attestation', '--key', 'other/cosign.pub', '--type', 'cyclonedx', ref], { cwd: work });
      expect(wrong.code).toBe(1);
      const downloaded = await kiln(['download', 'attestation', '--predicate-type', 'cyclonedx', ref], { cwd: work });
      expect(downloaded.code, downloaded.stderr).toBe(0);
      const envelopes = downloaded.stdout.trim().split('\n').map((line) => JSON.parse(line) as { payload: string });
      expect(envelopes.length).toBeGreaterThan(0);
      for (const envelope of envelopes) {
        const downloadedStatement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Statement;
        expect([downloadedStatement.predicateType, `sha256:${downloadedStatement.subject[0]!.digest.sha256}`]).toEqual(['https://cyclonedx.org/bom', image.digest]);
      }
    }

    const spdxOnly = `${host}/team/spdx-only:1.0`;
    const result = await kiln(['image', 'publish', 'image.yaml', spdxOnly, '--sbom-formats', 'spdx', '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Published;
    expect([...new Set(summary.attestations.map((a) => a.predicateType))].sort()).toEqual(['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document']);
    const missing = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'cyclonedx', `${host}/team/spdx-only@${summary.images[0]!.digest}`], { cwd: work });
    expect(missing.code).toBe(1);
  });

  it('passes a policy requiring the signature and both attestation types', async () => {
    await writeFile(
      join(work, `policy-${kind}.yaml`),
      `authorities:\n  release: { key: cosign.pub }\nsignatures: { required: [release] }\nattestations:\n  - { type: slsaprovenance1, authorities: [release] }\n  - { type: spdxjson, authorities: [release] }\n`,
    );
    for (const ref of [tag, `${host}/team/app@${published.images[1]!.digest}`]) {
      const result = await kiln(['policy', 'verify', '--policy', `policy-${kind}.yaml`, '--json', ref], { cwd: work });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as { passed: boolean; reports: { checks: { passed: boolean }[] }[] };
      expect(report.passed).toBe(true);
      expect(report.reports[0]!.checks.map((c) => c.passed)).toEqual([true, true, true]);
    }
  });

  it('re-publishing the same digest adds no signature, attestation or bundle referrer', async () => {
    const client = new RegistryClient();
    const repo = { registry: host, repository: 'team/app' };
    const digests = [published.index.digest, ...published.images.map((image) => image.digest)] as Digest[];
    const snapshot = async () =>
      Promise.all(
        digests.map(async (digest) => ({
          sig: (await client.getManifest({ ...repo, tag: `sha256-${digest.slice(7)}.sig` })).digest,
          att: (await client.getManifest({ ...repo, tag: `sha256-${digest.slice(7)}.att` })).digest,
          attLayers: ((await client.getManifest({ ...repo, tag: `sha256-${digest.slice(7)}.att` })).manifest as ImageManifest).layers.map((layer) => layer.annotations?.predicateType),
          referrers: (await client.referrers(repo, digest)).manifests.map((m) => m.digest).sort(),
        })),
      );
    const before = await snapshot();
    for (const [index, entry] of before.entries()) {
      // the index has no CycloneDX document (the build writes one per arch image)
      expect([...entry.attLayers].sort()).toEqual(index === 0 ? ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document'] : ['https://cyclonedx.org/bom', 'https://slsa.dev/provenance/v1', 'https://spdx.dev/Document']);
      expect(entry.referrers).toHaveLength(kind === 'kiln' ? (index === 0 ? 3 : 4) : 0);
    }
    const again = await kiln(['image', 'publish', 'image.yaml', tag, '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as Published;
    expect(summary.index.digest).toBe(published.index.digest);
    const unchanged = kind === 'kiln' ? ['tag', 'bundle'] : ['tag'];
    expect(summary.signatures.map((entry) => entry.unchanged)).toEqual(digests.map(() => unchanged));
    expect(summary.attestations.map((entry) => entry.unchanged)).toEqual(summary.attestations.map(() => unchanged));
    expect(summary.attestations).toHaveLength(8);
    expect(await snapshot()).toEqual(before);
  });

  it('publishing without --key attaches nothing', async () => {
    const plain = `${host}/team/plain:1.0`;
    const result = await kiln(['image', 'publish', 'image.yaml', plain, '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Published;
    expect(summary.signatures).toBeUndefined();
    expect(summary.attestations).toBeUndefined();
    for (const ref of [plain, ...summary.images.map((image) => `${host}/team/plain@${image.digest}`)]) {
      const tree = await kiln(['tree', '--json', ref], { cwd: work });
      expect(tree.code, tree.stderr).toBe(0);
      const parsed = JSON.parse(tree.stdout) as { signatures?: unknown; attestations?: unknown; sboms?: unknown; referrers: unknown[] };
      expect(parsed.signatures).toBeUndefined();
      expect(parsed.attestations).toBeUndefined();
      expect(parsed.referrers).toEqual([]);
      const verified = await kiln(['verify', '--key', 'cosign.pub', ref], { cwd: work });
      expect(verified.code).toBe(1);
    }
  });

  it('--sbom-attest=false and --provenance=false leave those attestations out; a wrong password pushes nothing', async () => {
    const only = `${host}/team/provenance-only:1.0`;
    // `--provenance CONFIG`: the optional-value flag takes the config word, which is given back
    const result = await kiln(['image', 'publish', '--provenance', 'image.yaml', only, '--sbom-attest=false', '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Published;
    expect(summary.signatures).toHaveLength(3);
    expect([...new Set(summary.attestations.map((a) => a.predicateType))]).toEqual(['https://slsa.dev/provenance/v1']);
    const sbom = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdxjson', only], { cwd: work });
    expect(sbom.code).toBe(1);

    const signedOnly = await kiln(['image', 'publish', 'image.yaml', `${host}/team/signed-only:1.0`, '--key', 'cosign.key', '--provenance=false', '--sbom-attest=false', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(signedOnly.code, signedOnly.stderr).toBe(0);
    expect((JSON.parse(signedOnly.stdout) as Published).attestations).toEqual([]);

    const denied = `${host}/team/denied:1.0`;
    const wrong = await kiln(['image', 'publish', 'image.yaml', denied, '--key', 'cosign.key', '--cache-dir', 'cache'], { cwd: work, env: { ...env, COSIGN_PASSWORD: 'not-the-password' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('cosign.key');
    const tree = await kiln(['tree', denied], { cwd: work });
    expect(tree.code).not.toBe(0);
  });

  it('COSIGN_REPOSITORY stores the signatures and attestations in another repository', async () => {
    const image = `${host}/team/stored-elsewhere:1.0`;
    const store = { COSIGN_REPOSITORY: `${host}/team/signatures` };
    const result = await kiln(['image', 'publish', 'image.yaml', image, '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env: { ...env, ...store } });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Published;
    expect(summary.signatures.map((s) => s.signatureReference)).toEqual([summary.index.digest, ...summary.images.map((i) => i.digest)].map((d) => `${host}/team/signatures:sha256-${d.slice(7)}.sig`));
    const elsewhere = await kiln(['verify', '--key', 'cosign.pub', image], { cwd: work, env: store });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    const attested = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance1', image], { cwd: work, env: store });
    expect(attested.code, attested.stderr).toBe(0);
    const inPlace = await kiln(['verify', '--key', 'cosign.pub', image], { cwd: work });
    expect(inPlace.code).toBe(1);
  });
});
