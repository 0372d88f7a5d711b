// Attestations (SLSA v1, SPDX, CycloneDX, OpenVEX) on docker-registry: .att layers and bundle
// referrers via the tag fallback; independent DSSE check with openssl; download and tree.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSlsaProvenanceV1 } from '../../src/attest/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { pushTestImage, startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';
import { kiln } from './trust-helpers.ts';
import type { Descriptor, ImageManifest } from '../../src/oci/index.ts';

const env = { COSIGN_PASSWORD: 'attest-pw' };

describe('kiln attest / verify-attestation / download / tree against docker-registry', () => {
  let registry: TestRegistry;
  let dir: string;
  let image: Descriptor;
  let ref: string;
  const client = new RegistryClient();

  beforeAll(async () => {
    registry = await startDockerRegistry();
    dir = await mkdtemp(join(tmpdir(), 'kiln-trust-attest-'));
    image = await pushTestImage(client, { registry: registry.host, repository: 'team/app', tag: 'v1' });
    ref = `${registry.host}/team/app:v1`;
    expect((await kiln(['generate-key-pair'], { cwd: dir, env })).code).toBe(0);
    const slsa = buildSlsaProvenanceV1({
      buildType: 'https://kiln.dev/build/image/v1',
      externalParameters: { config: 'app.yaml' },
      builder: { id: 'https://kiln.dev/builders/test' },
      finishedOn: new Date(),
    });
    await writeFile(join(dir, 'slsa.json'), JSON.stringify(slsa));
    await writeFile(
      join(dir, 'spdx.json'),
      JSON.stringify({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'sbom', documentNamespace: 'https://kiln.dev/spdx/test', creationInfo: { created: '2026-01-01T00:00:00Z', creators: ['Tool: kiln-0.1.0'] }, packages: [] }),
    );
    await writeFile(join(dir, 'cdx.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [] }));
    await writeFile(
      join(dir, 'vex.json'),
      JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://kiln.dev/vex/1', author: 'kiln', timestamp: '2026-01-01T00:00:00Z', version: 1, statements: [{ vulnerability: { name: 'CVE-2024-0001' }, products: [{ '@id': 'pkg:oci/app' }], status: 'not_affected', justification: 'component_not_present' }] }),
    );
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('attests four predicate types and verifies each by type', async () => {
    for (const [file, type] of [['slsa.json', 'slsaprovenance1'], ['spdx.json', 'spdxjson'], ['cdx.json', 'cyclonedx'], ['vex.json', 'openvex']]) {
      const result = await kiln(['attest', '--key', 'cosign.key', '--predicate', file!, '--type', type!, '--tlog-upload=false', ref], { cwd: dir, env });
      expect(result.code, result.stderr).toBe(0);
    }
    for (const [type, uri] of [['slsaprovenance1', 'https://slsa.dev/provenance/v1'], ['spdxjson', 'https://spdx.dev/Document'], ['cyclonedx', 'https://cyclonedx.org/bom'], ['openvex', 'https://openvex.dev/ns']]) {
      const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', type!, ref], { cwd: dir });
      expect(verified.code, verified.stderr).toBe(0);
      const envelopes = verified.stdout.trim().split('\n').map((line) => JSON.parse(line) as { payload: string });
      expect(envelopes).toHaveLength(1);
      const statement = JSON.parse(Buffer.from(envelopes[0]!.payload, 'base64').toString()) as { predicateType: string; subject: { digest: { sha256: string } }[] };
      expect(statement.predicateType).toBe(uri);
      expect(statement.subject[0]!.digest.sha256).toBe(image.digest.slice(7));
    }
  });

  it('the .att envelope verifies with openssl over a PAE computed here', async () => {
    const tag = `sha256-${image.digest.slice(7)}.att`;
    const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/team/app:${tag}`]).toString()) as ImageManifest;
    const layer = manifest.layers.find((entry) => entry.annotations?.predicateType === 'https://slsa.dev/provenance/v1')!;
    expect(layer.mediaType).toBe('application/vnd.dsse.envelope.v1+json');
    expect(layer.annotations?.['dev.cosignproject.cosign/signature']).toBe('');
    const body = Buffer.from(await (await fetch(`http://${registry.host}/v2/team/app/blobs/${layer.digest}`)).arrayBuffer());
    expect(`sha256:${createHash('sha256').update(body).digest('hex')}`).toBe(layer.digest);
    const envelope = JSON.parse(body.toString()) as { payloadType: string; payload: string; signatures: { sig: string }[] };
    const payload = Buffer.from(envelope.payload, 'base64');
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(envelope.payloadType)} ${envelope.payloadType} ${payload.length} `), payload]);
    await writeFile(join(dir, 'pae.bin'), pae);
    await writeFile(join(dir, 'pae.sig'), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
    expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'cosign.pub'), '-signature', join(dir, 'pae.sig'), join(dir, 'pae.bin')]).toString().trim()).toBe('Verified OK');
  });

  it('fails closed for a missing type, a wrong key and a tampered statement', async () => {
    const unattested = await pushTestImage(client, { registry: registry.host, repository: 'team/bare', tag: 'v1' });
    let result = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance1', `${registry.host}/team/bare:v1`], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no attestations of type https://slsa.dev/provenance/v1 found`);
    expect(result.stderr).toContain(unattested.digest);

    const other = await mkdtemp(join(tmpdir(), 'kiln-attest-other-'));
    expect((await kiln(['generate-key-pair'], { cwd: other, env })).code).toBe(0);
    result = await kiln(['verify-attestation', '--key', join(other, 'cosign.pub'), '--type', 'spdxjson', ref], { cwd: dir });
    await rm(other, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no envelope signature verifies');

    // Swap the SPDX statement's payload for one claiming another package list, keeping the signature.
    const repo = { registry: registry.host, repository: 'team/app' };
    const tag = `sha256-${image.digest.slice(7)}.att`;
    const original = await client.getManifest({ ...repo, tag });
    const manifest = original.manifest as ImageManifest;
    const index = manifest.layers.findIndex((layer) => layer.annotations?.predicateType === 'https://spdx.dev/Document');
    const envelope = JSON.parse(Buffer.from(await client.getBlob(repo, manifest.layers[index]!.digest)).toString()) as { payload: string };
    const statement = Buffer.from(envelope.payload, 'base64').toString().replace('"packages":[]', '"packages":[{"name":"x"}]');
    const forged = Buffer.from(JSON.stringify({ ...envelope, payload: Buffer.from(statement).toString('base64') }));
    const forgedLayer = await client.pushBlob(repo, forged);
    const layers = manifest.layers.map((layer, i) => (i === index ? { ...layer, digest: forgedLayer.digest, size: forged.length } : layer));
    await client.putManifestJson({ ...repo, tag }, { ...manifest, layers });
    result = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdxjson', ref], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no envelope signature verifies');
    await client.putManifest({ ...repo, tag }, original.bytes, original.mediaType);
    expect((await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdxjson', ref], { cwd: dir })).code).toBe(0);
  });

  it('stores bundle referrers through the tag fallback and verifies them', async () => {
    const result = await kiln(['attest', '--key', 'cosign.key', '--predicate', 'slsa.json', '--type', 'slsaprovenance1', '--new-bundle-format', '--json', `${registry.host}/team/bundled:v1`], {
      cwd: dir,
      env,
    }).catch(() => undefined);
    expect(result?.code).toBe(1);
    const target = await pushTestImage(client, { registry: registry.host, repository: 'team/bundled', tag: 'v1' });
    const attested = await kiln(['attest', '--key', 'cosign.key', '--predicate', 'slsa.json', '--type', 'slsaprovenance1', '--new-bundle-format', '--json', `${registry.host}/team/bundled:v1`], { cwd: dir, env });
    expect(attested.code, attested.stderr).toBe(0);
    const out = JSON.parse(attested.stdout) as { attested: { attestationTag?: string; bundle: { viaApi: boolean } }[] };
    expect(out.attested[0]!.attestationTag).toBeUndefined();
    expect(out.attested[0]!.bundle.viaApi).toBe(false);
    const signed = await kiln(['sign', '--key', 'cosign.key', '--new-bundle-format', `${registry.host}/team/bundled:v1`], { cwd: dir, env });
    expect(signed.code, signed.stderr).toBe(0);
    const verifySig = await kiln(['verify', '--key', 'cosign.pub', '--json', `${registry.host}/team/bundled:v1`], { cwd: dir });
    expect(verifySig.code, verifySig.stderr).toBe(0);
    expect((JSON.parse(verifySig.stdout) as { verified: { signatures: { source: string }[] }[] }).verified[0]!.signatures.map((s) => s.source)).toEqual(['bundle']);
    const verifyAtt = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance1', '--json', `${registry.host}/team/bundled:v1`], { cwd: dir });
    expect(verifyAtt.code, verifyAtt.stderr).toBe(0);
    const att = JSON.parse(verifyAtt.stdout) as { verified: { attestations: { source: string; statement: { subject: { digest: { sha256: string } }[] } }[] }[] };
    expect(att.verified[0]!.attestations[0]!.source).toBe('bundle');
    expect(att.verified[0]!.attestations[0]!.statement.subject[0]!.digest.sha256).toBe(target.digest.slice(7));
    const wrong = await kiln(['verify', '--key', join(import.meta.dirname, 'missing.pub'), `${registry.host}/team/bundled:v1`], { cwd: dir });
    expect(wrong.code).toBe(1);
  });

  it('downloads an SBOM attached the deprecated way (.sbom tag, unsigned)', async () => {
    const target = await pushTestImage(client, { registry: registry.host, repository: 'team/oldsbom', tag: 'v1' });
    const repo = { registry: registry.host, repository: 'team/oldsbom' };
    const sbom = Buffer.from('{"spdxVersion":"SPDX-2.2","SPDXID":"SPDXRef-DOCUMENT","name":"old"}');
    const layer = await client.pushBlob(repo, sbom, { mediaType: 'text/spdx+json' });
    const config = await client.pushBlob(repo, Buffer.from('{}'), { mediaType: 'application/vnd.oci.image.config.v1+json' });
    await client.putManifestJson({ ...repo, tag: `sha256-${target.digest.slice(7)}.sbom` }, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' }, layers: [{ ...layer, mediaType: 'text/spdx+json' }] });
    const result = await kiln(['download', 'sbom', `${registry.host}/team/oldsbom:v1`], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(sbom.toString());
    expect(result.stderr).toContain('not signature-verified');
    const tree = await kiln(['tree', `${registry.host}/team/oldsbom:v1`], { cwd: dir });
    expect(tree.stdout).toContain('SBOMs for an image tag');
    const verified = await kiln(['download', 'sbom', '--key', 'cosign.pub', `${registry.host}/team/oldsbom:v1`], { cwd: dir });
    expect(verified.code).toBe(1);
    expect(verified.stderr).toContain('no SBOM attached');
  });

  it('names an attached attestation that is not a DSSE envelope instead of failing inside', async () => {
    const target = await pushTestImage(client, { registry: registry.host, repository: 'team/junk', tag: 'v1' });
    const repo = { registry: registry.host, repository: 'team/junk' };
    const config = await client.pushBlob(repo, Buffer.from('{}'), { mediaType: 'application/vnd.oci.image.config.v1+json' });
    const attach = async (bytes: Buffer) => {
      const layer = await client.pushBlob(repo, bytes, { mediaType: 'application/vnd.dsse.envelope.v1+json' });
      await client.putManifestJson({ ...repo, tag: `sha256-${target.digest.slice(7)}.att` }, {
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
        layers: [{ ...layer, mediaType: 'application/vnd.dsse.envelope.v1+json', annotations: { predicateType: 'https://spdx.dev/Document' } }],
      });
      return layer.digest;
    };
    for (const [bytes, why] of [[Buffer.from('not json at all'), 'not valid JSON: Unexpected token'], [Buffer.from('{"payload": 1}'), 'is not a DSSE envelope (it needs payloadType, payload and signatures)']] as const) {
      const digest = await attach(bytes);
      const result = await kiln(['download', 'attestation', `${registry.host}/team/junk:v1`], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^kiln: \\.att layer ${digest}: ${why.replace(/[()]/g, '\\$&')}.*\\n$`));
    }
  });

  it('downloads attestations and the SBOM, and shows the tree', async () => {
    const downloaded = await kiln(['download', 'attestation', '--predicate-type', 'openvex', ref], { cwd: dir });
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(downloaded.stdout.trim().split('\n')).toHaveLength(1);
    const sbom = await kiln(['download', 'sbom', '--key', 'cosign.pub', ref], { cwd: dir });
    expect(sbom.code, sbom.stderr).toBe(0);
    expect((JSON.parse(sbom.stdout) as { spdxVersion: string }).spdxVersion).toBe('SPDX-2.3');
    const tree = await kiln(['tree', ref], { cwd: dir });
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toContain(`sha256-${image.digest.slice(7)}.att`);
    expect(tree.stdout).toContain('https://openvex.dev/ns');
    const json = await kiln(['tree', '--json', `${registry.host}/team/bundled:v1`], { cwd: dir });
    const parsed = JSON.parse(json.stdout) as { referrers: { artifactType: string }[]; referrersViaApi: boolean };
    expect(parsed.referrersViaApi).toBe(false);
    expect(parsed.referrers.map((r) => r.artifactType)).toEqual(['application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json']);
  });
});
