// Sign and verify round trips against Debian's docker-registry (no referrers API: .sig tag and the
// referrers tag fallback), with an independent check of the signature by skopeo + openssl.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { decryptPrivateKey, publicKeyToPem } from '../../src/sign/index.ts';
import { pushTestImage, pushTestIndex, startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';
import { distributionBlobPath, kiln } from './trust-helpers.ts';
import type { Descriptor, ImageManifest } from '../../src/oci/index.ts';

const PASSWORD = 'correct horse battery staple';

describe('kiln sign / verify against docker-registry', () => {
  let registry: TestRegistry;
  let dir: string;
  const client = new RegistryClient();
  let image: Descriptor;
  let index: { index: Descriptor; children: Descriptor[] };
  const env = { COSIGN_PASSWORD: PASSWORD };

  beforeAll(async () => {
    registry = await startDockerRegistry();
    dir = await mkdtemp(join(tmpdir(), 'kiln-trust-sign-'));
    image = await pushTestImage(client, { registry: registry.host, repository: 'team/app', tag: 'v1' });
    index = await pushTestIndex(client, { registry: registry.host, repository: 'team/multi', tag: 'v1' }, 'v1');
    const generated = await kiln(['generate-key-pair'], { cwd: dir, env });
    expect(generated.code, generated.stderr).toBe(0);
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes cosign.key (0600, encrypted) and cosign.pub, and refuses to overwrite them', async () => {
    const key = await readFile(join(dir, 'cosign.key'), 'utf8');
    expect(key).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    expect(key).not.toContain('BEGIN PRIVATE KEY');
    expect(await readFile(join(dir, 'cosign.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(execFileSync('stat', ['-c', '%a', join(dir, 'cosign.key')]).toString().trim()).toBe('600');
    const again = await kiln(['generate-key-pair'], { cwd: dir, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });

  it('signs by tag, verifies with the public key, and the signature checks out with skopeo + openssl alone', async () => {
    const ref = `${registry.host}/team/app:v1`;
    const signed = await kiln(['sign', '--key', 'cosign.key', '--tlog-upload=false', ref], { cwd: dir, env });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stderr).toContain(`sha256-${image.digest.slice(7)}.sig`);

    const verified = await kiln(['verify', '--key', 'cosign.pub', ref], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    const payloads = JSON.parse(verified.stdout) as { critical: { image: { 'docker-manifest-digest': string }; type: string } }[];
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.critical.image['docker-manifest-digest']).toBe(image.digest);

    // Independent check: no Kiln code below this line.
    const sigTag = `sha256-${image.digest.slice(7)}.sig`;
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/team/app:${sigTag}`]).toString();
    const sigManifest = JSON.parse(raw) as { layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    expect(sigManifest.layers).toHaveLength(1);
    const layer = sigManifest.layers[0]!;
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = Buffer.from(await (await fetch(`http://${registry.host}/v2/team/app/blobs/${layer.digest}`)).arrayBuffer());
    expect(`sha256:${createHash('sha256').update(payload).digest('hex')}`).toBe(layer.digest);
    expect((JSON.parse(payload.toString()) as { critical: { image: Record<string, string> } }).critical.image['docker-manifest-digest']).toBe(image.digest);
    await writeFile(join(dir, 'payload.json'), payload);
    await writeFile(join(dir, 'payload.sig'), Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64'));
    const openssl = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'cosign.pub'), '-signature', join(dir, 'payload.sig'), join(dir, 'payload.json')]).toString();
    expect(openssl.trim()).toBe('Verified OK');
    // The manifest the payload names is byte-for-byte the image skopeo pulls.
    const imageRaw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/team/app:v1`]);
    expect(`sha256:${createHash('sha256').update(imageRaw).digest('hex')}`).toBe(image.digest);
  });

  it('fails closed with a wrong key, naming the image and the reason', async () => {
    const other = await mkdtemp(join(tmpdir(), 'kiln-trust-other-'));
    try {
      expect((await kiln(['generate-key-pair'], { cwd: other, env: { COSIGN_PASSWORD: '' } })).code).toBe(0);
      const result = await kiln(['verify', '--key', join(other, 'cosign.pub'), `${registry.host}/team/app:v1`], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(image.digest);
      expect(result.stderr).toContain('does not verify with the given key');
      expect(result.stdout).toBe('');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('reports an unsigned image as having no signatures (exit 1)', async () => {
    await pushTestImage(client, { registry: registry.host, repository: 'team/unsigned', tag: 'v1' });
    const result = await kiln(['verify', '--key', 'cosign.pub', `${registry.host}/team/unsigned:v1`], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no signatures found');
  });

  it('fails closed when the payload, the signature annotation or stored bytes are tampered with', async () => {
    const repo = { registry: registry.host, repository: 'team/tamper' };
    const target = await pushTestImage(client, { ...repo, tag: 'v1' });
    expect((await kiln(['sign', '--key', 'cosign.key', `${registry.host}/team/tamper:v1`], { cwd: dir, env })).code).toBe(0);
    const sigTag = `sha256-${target.digest.slice(7)}.sig`;
    const original = await client.getManifest({ ...repo, tag: sigTag });
    const manifest = original.manifest as ImageManifest;
    const layer = manifest.layers[0]!;
    const payload = Buffer.from(await client.getBlob(repo, layer.digest));
    const verify = () => kiln(['verify', '--key', 'cosign.pub', `${registry.host}/team/tamper:v1`], { cwd: dir });
    expect((await verify()).code).toBe(0);

    // 1. One byte of the payload changed (a new blob, same signature).
    const changed = Buffer.from(payload.toString().replace('"optional":null', '"optional":{"x":1}'));
    const changedLayer = await client.pushBlob(repo, changed, { mediaType: layer.mediaType });
    await client.putManifestJson({ ...repo, tag: sigTag }, { ...manifest, layers: [{ ...layer, digest: changedLayer.digest, size: changed.length }] });
    let result = await verify();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not verify');

    // 2. One byte of the signature annotation changed.
    const signature = Buffer.from(layer.annotations!['dev.cosignproject.cosign/signature']!, 'base64');
    signature[signature.length - 1]! ^= 0x01;
    await client.putManifestJson({ ...repo, tag: sigTag }, { ...manifest, layers: [{ ...layer, annotations: { ...layer.annotations, 'dev.cosignproject.cosign/signature': signature.toString('base64') } }] });
    result = await verify();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not verify');

    // 3. The payload blob altered in the registry's storage: the digest check stops it before use.
    await client.putManifest({ ...repo, tag: sigTag }, original.bytes, original.mediaType);
    expect((await verify()).code).toBe(0);
    const path = distributionBlobPath(registry.dataDir, layer.digest);
    const stored = await readFile(path);
    await copyFile(path, `${path}.bak`);
    stored[stored.length - 3]! ^= 0x20;
    await writeFile(path, stored);
    result = await verify();
    await copyFile(`${path}.bak`, path);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(layer.digest);

    // 4. The image manifest's bytes altered in storage (its tag still resolves to the signed digest).
    const manifestPath = distributionBlobPath(registry.dataDir, target.digest);
    const manifestBytes = await readFile(manifestPath);
    await writeFile(manifestPath, Buffer.from(manifestBytes.toString().replace('"schemaVersion":2', '"schemaVersion": 2')));
    result = await verify();
    await writeFile(manifestPath, manifestBytes);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`expected ${target.digest}`);
    expect((await verify()).code).toBe(0);

    // 5. The image tag moved to a different manifest (one changed layer byte): that digest is unsigned.
    await pushTestImage(client, { ...repo, tag: 'v1' }, { content: 'hello from amd64!\n' });
    result = await verify();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no signatures found');
  });

  it('reads a key cosign wrote (cosign test vector) and signs an index recursively; both levels verify', async () => {
    await copyFile(join(import.meta.dirname, '..', 'fixtures', 'cosign-keys', 'sigstore-p256.key'), join(dir, 'upstream.key'));
    const key = await kiln(['sign', '--key', 'upstream.key', '--recursive', '--json', `${registry.host}/team/multi:v1`], { cwd: dir, env: { COSIGN_PASSWORD: 'hello' } });
    expect(key.code, key.stderr).toBe(0);
    const signed = JSON.parse(key.stdout) as { signed: { digest: string }[] };
    expect(signed.signed.map((entry) => entry.digest)).toEqual([index.index.digest, ...index.children.map((child) => child.digest)]);
    const upstream = await decryptPrivateKey(await readFile(join(dir, 'upstream.key'), 'utf8'), 'hello');
    await writeFile(join(dir, 'upstream.pub'), publicKeyToPem(upstream));
    for (const digest of [index.index.digest, index.children[1]!.digest]) {
      const verified = await kiln(['verify', '--key', 'upstream.pub', `${registry.host}/team/multi@${digest}`], { cwd: dir });
      expect(verified.code, verified.stderr).toBe(0);
      expect((JSON.parse(verified.stdout) as { critical: { image: Record<string, string> } }[])[0]!.critical.image['docker-manifest-digest']).toBe(digest);
    }
    expect((await kiln(['verify', '--key', 'cosign.pub', `${registry.host}/team/multi:v1`], { cwd: dir })).code).toBe(1);
    const wrongPassword = await kiln(['sign', '--key', 'upstream.key', `${registry.host}/team/multi:v1`], { cwd: dir, env: { COSIGN_PASSWORD: 'nope' } });
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toContain('wrong password or corrupted key');
    expect(wrongPassword.stderr).not.toContain('nope');
  });

  it('checks -a annotations in the signed payload', async () => {
    await pushTestImage(client, { registry: registry.host, repository: 'team/annotated', tag: 'v1' });
    const ref = `${registry.host}/team/annotated:v1`;
    expect((await kiln(['sign', '--key', 'cosign.key', '-a', 'env=prod', '-a', 'team=core', ref], { cwd: dir, env })).code).toBe(0);
    const ok = await kiln(['verify', '--key', 'cosign.pub', '-a', 'env=prod', ref], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { optional: Record<string, string> }[])[0]!.optional).toEqual({ env: 'prod', team: 'core' });
    const wrong = await kiln(['verify', '--key', 'cosign.pub', '-a', 'env=dev', ref], { cwd: dir });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('annotation env="prod", required "dev"');
  });

  it('stores and finds signatures in COSIGN_REPOSITORY', async () => {
    const target = await pushTestImage(client, { registry: registry.host, repository: 'team/elsewhere', tag: 'v1' });
    const ref = `${registry.host}/team/elsewhere:v1`;
    const repoEnv = { COSIGN_REPOSITORY: `${registry.host}/signatures/store` };
    expect((await kiln(['sign', '--key', 'cosign.key', ref], { cwd: dir, env: { ...env, ...repoEnv } })).code).toBe(0);
    const tags = await client.listTags({ registry: registry.host, repository: 'signatures/store' });
    expect(tags).toContain(`sha256-${target.digest.slice(7)}.sig`);
    expect(await client.listTags({ registry: registry.host, repository: 'team/elsewhere' })).toEqual(['v1']);
    expect((await kiln(['verify', '--key', 'cosign.pub', ref], { cwd: dir, env: repoEnv })).code).toBe(0);
    expect((await kiln(['verify', '--key', 'cosign.pub', ref], { cwd: dir })).code).toBe(1);
  });

  it('asks for a password instead of hanging when there is no terminal', async () => {
    const result = await kiln(['sign', '--key', 'cosign.key', `${registry.host}/team/app:v1`], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('COSIGN_PASSWORD');
  });
});
