// Sign and attest against Kiln's own registry (`kiln registry serve`), which has the OCI referrers
// API: signatures go both to the .sig tag and, as Sigstore bundles, to referrers found through the API.
import { sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSlsaProvenanceV1 } from '../../src/attest/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { COSIGN_SIG_ARTIFACT_TYPE, SIMPLE_SIGNING_MEDIA_TYPE, buildSimpleSigningPayload, decryptPrivateKey } from '../../src/sign/index.ts';
import { pushTestImage, pushTestIndex } from '../../src/registry-client/testing.ts';
import { startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';
import { kiln } from './trust-helpers.ts';
import { MediaTypes } from '../../src/oci/index.ts';
import type { Descriptor } from '../../src/oci/index.ts';

const env = { COSIGN_PASSWORD: 'kiln-registry-pw' };

describe('trust commands against kiln registry serve (referrers API)', () => {
  let server: ServerProcess;
  let dir: string;
  let image: Descriptor;
  const client = new RegistryClient();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-trust-kiln-registry-'));
    server = await startKiln(join(dir, 'data'));
    image = await pushTestImage(client, { registry: server.host, repository: 'team/app', tag: 'v1' });
    expect((await kiln(['generate-key-pair'], { cwd: dir, env })).code).toBe(0);
    await writeFile(join(dir, 'slsa.json'), JSON.stringify(buildSlsaProvenanceV1({ buildType: 'https://kiln.dev/build/image/v1', externalParameters: {}, builder: { id: 'https://kiln.dev/b' }, finishedOn: new Date() })));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signs into the .sig tag and a bundle referrer indexed by the registry, and verifies both', async () => {
    const ref = `${server.host}/team/app:v1`;
    const signed = await kiln(['sign', '--key', 'cosign.key', '--json', ref], { cwd: dir, env });
    expect(signed.code, signed.stderr + server.log()).toBe(0);
    const out = JSON.parse(signed.stdout) as { signed: { signatureTag: string; bundle: { viaApi: boolean; digest: string } }[] };
    expect(out.signed[0]!.signatureTag).toBe(`sha256-${image.digest.slice(7)}.sig`);
    expect(out.signed[0]!.bundle.viaApi).toBe(true);
    const referrers = await client.referrers({ registry: server.host, repository: 'team/app' }, image.digest);
    expect(referrers.viaApi).toBe(true);
    expect(referrers.manifests.map((m) => m.digest)).toEqual([out.signed[0]!.bundle.digest]);
    // No fallback tag was needed.
    expect(await client.headManifest({ registry: server.host, repository: 'team/app', tag: `sha256-${image.digest.slice(7)}` })).toBeUndefined();

    const verified = await kiln(['verify', '--key', 'cosign.pub', '--json', ref], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    const sources = (JSON.parse(verified.stdout) as { verified: { signatures: { source: string }[] }[] }).verified[0]!.signatures.map((s) => s.source);
    expect(sources.sort()).toEqual(['bundle', 'tag']);
  });

  it('attests through the referrers API and verifies; a wrong key fails for both forms', async () => {
    const ref = `${server.host}/team/app:v1`;
    const attested = await kiln(['attest', '--key', 'cosign.key', '--type', 'slsaprovenance1', '--predicate', 'slsa.json', '--json', ref], { cwd: dir, env });
    expect(attested.code, attested.stderr).toBe(0);
    const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance1', '--json', ref], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    const sources = (JSON.parse(verified.stdout) as { verified: { attestations: { source: string }[] }[] }).verified[0]!.attestations.map((a) => a.source);
    expect(sources.sort()).toEqual(['bundle', 'tag']);
    const tree = await kiln(['tree', '--json', ref], { cwd: dir });
    const parsed = JSON.parse(tree.stdout) as { referrersViaApi: boolean; referrers: { annotations: Record<string, string> }[] };
    expect(parsed.referrersViaApi).toBe(true);
    expect(parsed.referrers.map((r) => r.annotations['dev.sigstore.bundle.predicateType']).sort()).toEqual(['https://sigstore.dev/cosign/sign/v1', 'https://slsa.dev/provenance/v1']);

    const other = await mkdtemp(join(tmpdir(), 'kiln-trust-kr-other-'));
    expect((await kiln(['generate-key-pair'], { cwd: other, env })).code).toBe(0);
    const wrong = await kiln(['verify-attestation', '--key', join(other, 'cosign.pub'), ref], { cwd: dir });
    await rm(other, { recursive: true, force: true });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('bundle referrer');
    expect(wrong.stderr).toContain('not among the keys given');
  });

  it('reads cosign\'s experimental OCI 1.1 signature referrer (simple-signing layer, no tag)', async () => {
    const target = await pushTestImage(client, { registry: server.host, repository: 'team/oci11', tag: 'v1' });
    const repo = { registry: server.host, repository: 'team/oci11' };
    const key = await decryptPrivateKey(await readFile(join(dir, 'cosign.key'), 'utf8'), env.COSIGN_PASSWORD);
    const payload = buildSimpleSigningPayload(`${server.host}/team/oci11`, target.digest);
    const layer = await client.pushBlob(repo, payload, { mediaType: SIMPLE_SIGNING_MEDIA_TYPE });
    const config = await client.pushBlob(repo, Buffer.from('{}'), { mediaType: COSIGN_SIG_ARTIFACT_TYPE });
    const pushed = await client.pushReferrer(repo, {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: COSIGN_SIG_ARTIFACT_TYPE,
      config: { ...config, mediaType: COSIGN_SIG_ARTIFACT_TYPE },
      layers: [{ ...layer, annotations: { 'dev.cosignproject.cosign/signature': sign('sha256', payload, key).toString('base64') } }],
      subject: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    });
    expect(pushed.viaApi).toBe(true);
    const verified = await kiln(['verify', '--key', 'cosign.pub', '--json', `${server.host}/team/oci11:v1`], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    expect((JSON.parse(verified.stdout) as { verified: { signatures: { source: string }[] }[] }).verified[0]!.signatures.map((s) => s.source)).toEqual(['referrer']);
  });

  it('signs a two-architecture index recursively', async () => {
    const { index, children } = await pushTestIndex(client, { registry: server.host, repository: 'team/multi', tag: 'v1' }, 'v1');
    const signed = await kiln(['sign', '--key', 'cosign.key', '--recursive', `${server.host}/team/multi:v1`], { cwd: dir, env });
    expect(signed.code, signed.stderr).toBe(0);
    for (const digest of [index.digest, ...children.map((c) => c.digest)]) {
      const verified = await kiln(['verify', '--key', 'cosign.pub', `${server.host}/team/multi@${digest}`], { cwd: dir });
      expect(verified.code, verified.stderr).toBe(0);
    }
  });
});
