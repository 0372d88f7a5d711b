// Signing or attesting what the same key already signed is a no-op, as in cosign: no second `.sig`
// or `.att` layer and no second bundle referrer, although ECDSA makes every new signature differ.
// Against Kiln's registry (referrers API) and Debian's docker-registry (referrers tag fallback).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/lib/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { pushTestImage } from '../../src/registry-client/testing.ts';
import { kiln, startRegistryUnderTest } from './trust-helpers.ts';
import { MediaTypes } from '../../src/oci/index.ts';
import type { Descriptor, ImageManifest } from '../../src/oci/index.ts';

const env = { COSIGN_PASSWORD: 'idempotent-pw' };
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const SPDX = 'https://spdx.dev/Document';
const CUSTOM = 'https://cosign.sigstore.dev/attestation/v1';

interface Stored {
  digest: string;
  unchanged?: string[];
  signatureManifest?: string;
  attestationManifest?: string;
  bundle?: { digest: string };
}

const spdx = (name: string) =>
  JSON.stringify({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name, documentNamespace: `https://kiln.dev/spdx/${name}`, creationInfo: { created: '1970-01-01T00:00:00Z', creators: ['Tool: kiln'] }, packages: [] });

describe.each([
  { name: "Kiln's registry (referrers API)", kind: 'kiln' as const },
  { name: "Debian's docker-registry (tag fallback)", kind: 'distribution' as const },
])('signing and attesting twice against $name', ({ kind }) => {
  const client = new RegistryClient();
  let dir: string;
  let host: string;
  let stop: () => Promise<unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-trust-idempotent-'));
    ({ host, stop } = await startRegistryUnderTest(kind, join(dir, 'data')));
    await mkdir(join(dir, 'other'));
    expect((await kiln(['generate-key-pair'], { cwd: dir, env })).code).toBe(0);
    expect((await kiln(['generate-key-pair', '--output-key-prefix', 'other/cosign'], { cwd: dir, env })).code).toBe(0);
    await writeFile(join(dir, 'sbom.json'), spdx('app'));
    await writeFile(join(dir, 'sbom-2.json'), spdx('app-2'));
    await writeFile(join(dir, 'note.txt'), 'reviewed by the release team\n');
  });
  afterAll(async () => {
    await stop?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function layers(repository: string, digest: string, suffix: 'sig' | 'att'): Promise<Descriptor[]> {
    const pulled = await client.getManifestIfExists({ registry: host, repository, tag: `sha256-${digest.slice(7)}.${suffix}` }, [MediaTypes.ociManifest]);
    return pulled ? (pulled.manifest as ImageManifest).layers : [];
  }
  async function bundles(repository: string, digest: Digest, predicateType: string): Promise<string[]> {
    const { manifests } = await client.referrers({ registry: host, repository }, digest);
    return manifests.filter((m) => m.artifactType === BUNDLE && m.annotations?.['dev.sigstore.bundle.predicateType'] === predicateType).map((m) => m.digest);
  }
  async function run(args: string[], key = 'cosign.key'): Promise<Stored> {
    const result = await kiln([...args, '--key', key, '--json'], { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { signed?: Stored[]; attested?: Stored[] };
    return (out.signed ?? out.attested)![0]!;
  }
  const attestations = async (repository: string, digest: string, predicateType: string) => (await layers(repository, digest, 'att')).filter((l) => l.annotations?.predicateType === predicateType);

  it('kiln sign twice with the same key leaves one .sig layer and one bundle; other annotations or another key add one each', async () => {
    const image = await pushTestImage(client, { registry: host, repository: 'team/app', tag: 'v1' });
    const ref = `${host}/team/app:v1`;
    const first = await run(['sign', ref]);
    expect(first.unchanged).toBeUndefined();
    const [layer] = await layers('team/app', image.digest, 'sig');
    const signBundles = await bundles('team/app', image.digest, SIGN_PREDICATE);
    expect(signBundles).toHaveLength(kind === 'kiln' ? 1 : 0);

    const second = await run(['sign', ref]);
    expect(await layers('team/app', image.digest, 'sig')).toEqual([layer]);
    expect(await bundles('team/app', image.digest, SIGN_PREDICATE)).toEqual(signBundles);
    expect(second.unchanged).toEqual(kind === 'kiln' ? ['tag', 'bundle'] : ['tag']);
    expect(second.signatureManifest).toBe(first.signatureManifest);
    if (kind === 'kiln') expect(second.bundle?.digest).toBe(first.bundle?.digest);
    const plain = await kiln(['sign', '--key', 'cosign.key', ref], { cwd: dir, env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(`Signature already present in ${host}/team/app:sha256-${image.digest.slice(7)}.sig; unchanged\n`);
    if (kind === 'kiln') expect(plain.stderr).toContain(`Bundle referrer already present: ${first.bundle!.digest} for ${image.digest}\n`);
    expect(plain.stderr).not.toContain('Pushing');

    // Another payload (annotations are signed into it) is a new signature, once.
    await run(['sign', '-a', 'env=prod', ref]);
    expect(await layers('team/app', image.digest, 'sig')).toHaveLength(2);
    expect((await run(['sign', '-a', 'env=prod', ref])).unchanged).toEqual(kind === 'kiln' ? ['tag', 'bundle'] : ['tag']);
    expect(await layers('team/app', image.digest, 'sig')).toHaveLength(2);
    // Another key signing the same payload is a new signature.
    const other = await run(['sign', ref], 'other/cosign.key');
    expect(other.unchanged).toBeUndefined();
    expect(await layers('team/app', image.digest, 'sig')).toHaveLength(3);
    expect(await bundles('team/app', image.digest, SIGN_PREDICATE)).toHaveLength(kind === 'kiln' ? 3 : 0);

    for (const key of ['cosign.pub', 'other/cosign.pub']) expect((await kiln(['verify', '--key', key, ref], { cwd: dir })).code).toBe(0);
  });

  it('kiln attest twice with the same predicate leaves one attestation per form; a changed predicate adds one; --replace attests anew', async () => {
    const image = await pushTestImage(client, { registry: host, repository: 'team/attested', tag: 'v1' });
    const ref = `${host}/team/attested:v1`;
    const first = await run(['attest', '--type', 'spdxjson', '--predicate', 'sbom.json', ref]);
    expect(first.unchanged).toBeUndefined();
    const [layer] = await attestations('team/attested', image.digest, SPDX);
    const sbomBundles = await bundles('team/attested', image.digest, SPDX);
    expect(sbomBundles).toHaveLength(kind === 'kiln' ? 1 : 0);

    const second = await run(['attest', '--type', 'spdxjson', '--predicate', 'sbom.json', ref]);
    expect(await layers('team/attested', image.digest, 'att')).toEqual([layer]);
    expect(await bundles('team/attested', image.digest, SPDX)).toEqual(sbomBundles);
    expect(second.unchanged).toEqual(kind === 'kiln' ? ['tag', 'bundle'] : ['tag']);
    expect(second.attestationManifest).toBe(first.attestationManifest);
    const plain = await kiln(['attest', '--key', 'cosign.key', '--type', 'spdxjson', '--predicate', 'sbom.json', ref], { cwd: dir, env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(`Attestation (${SPDX}) already present in ${host}/team/attested:sha256-${image.digest.slice(7)}.att; unchanged\n`);
    expect(plain.stderr).not.toContain('Pushing');

    // cosign's custom predicate records the attest time in `Timestamp`; the same text is the same attestation.
    await run(['attest', '--type', 'custom', '--predicate', 'note.txt', ref]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await run(['attest', '--type', 'custom', '--predicate', 'note.txt', ref])).unchanged).toEqual(kind === 'kiln' ? ['tag', 'bundle'] : ['tag']);
    expect(await attestations('team/attested', image.digest, CUSTOM)).toHaveLength(1);

    // Different content is a new attestation.
    expect((await run(['attest', '--type', 'spdxjson', '--predicate', 'sbom-2.json', ref])).unchanged).toBeUndefined();
    expect(await attestations('team/attested', image.digest, SPDX)).toHaveLength(2);
    expect(await bundles('team/attested', image.digest, SPDX)).toHaveLength(kind === 'kiln' ? 2 : 0);

    // --replace always attests: the SBOM layers give way to one new layer.
    expect((await run(['attest', '--replace', '--type', 'spdxjson', '--predicate', 'sbom.json', ref])).unchanged).toBeUndefined();
    const replaced = await attestations('team/attested', image.digest, SPDX);
    expect(replaced).toHaveLength(1);
    expect(replaced[0]!.digest).not.toBe(layer!.digest);
    expect(await attestations('team/attested', image.digest, CUSTOM)).toHaveLength(1);
  });

  it('bundle-only signatures and attestations (--new-bundle-format) are not duplicated either', async () => {
    const image = await pushTestImage(client, { registry: host, repository: 'team/bundled', tag: 'v1' });
    const ref = `${host}/team/bundled:v1`;
    const outcomes: unknown[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const signed = await run(['sign', '--new-bundle-format', ref]);
      const attested = await run(['attest', '--new-bundle-format', '--type', 'spdxjson', '--predicate', 'sbom.json', ref]);
      outcomes.push([signed.unchanged, attested.unchanged]);
    }
    expect(await bundles('team/bundled', image.digest, SIGN_PREDICATE)).toHaveLength(1);
    expect(await bundles('team/bundled', image.digest, SPDX)).toHaveLength(1);
    expect(outcomes).toEqual([
      [undefined, undefined],
      [['bundle'], ['bundle']],
    ]);
    expect(await layers('team/bundled', image.digest, 'sig')).toEqual([]);
    const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdxjson', '--json', ref], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
  });
});
