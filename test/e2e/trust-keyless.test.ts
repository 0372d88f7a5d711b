// Keyless signing and attestation through Fulcio and Rekor stand-ins (@sigstore/mock handlers served
// on loopback; the stand-in Rekor stores proposed entries verbatim, which matches what the real one
// stores only for `intoto` entries, hence --rekor-entry-type intoto), with verification that enforces the certificate identity and issuer.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initializeCA, initializeCTLog } from '@sigstore/mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { pushTestImage, startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';
import { kiln } from './trust-helpers.ts';
import type { Descriptor, ImageManifest } from '../../src/oci/index.ts';
import { KEYLESS_IDENTITY as IDENTITY, KEYLESS_ISSUER as ISSUER, KEYLESS_TOKEN as token, startSigstoreStandIn } from './sigstore-support.ts';
import type { SigstoreStandIn } from './sigstore-support.ts';

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyPair384 = () => generateKeyPairSync('ec', { namedCurve: 'P-384' });

describe('keyless sign / verify with local Fulcio and Rekor stand-ins', () => {
  let registry: TestRegistry;
  let sigstore: SigstoreStandIn;
  let dir: string;
  let base: string;
  let image: Descriptor;
  let ref: string;

  beforeAll(async () => {
    registry = await startDockerRegistry();
    dir = await mkdtemp(join(tmpdir(), 'kiln-trust-keyless-'));
    sigstore = await startSigstoreStandIn(join(dir, 'trusted-root.json'));
    base = sigstore.url;
    image = await pushTestImage(new RegistryClient(), { registry: registry.host, repository: 'team/app', tag: 'v1' });
    ref = `${registry.host}/team/app:v1`;
  });
  afterAll(async () => {
    await registry?.stop();
    await sigstore?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const verifyArgs = (identity: string, issuer: string) => ['verify', '--certificate-identity', identity, '--certificate-oidc-issuer', issuer, '--trusted-root', 'trusted-root.json', '--json', ref];

  it('signs with a Fulcio certificate and a Rekor entry, stored as a bundle, and verifies the identity', async () => {
    const signed = await kiln(['sign', '--identity-token', token, '--fulcio-url', base, '--rekor-url', base, '--rekor-entry-type', 'intoto', '--json', ref], { cwd: dir });
    expect(signed.code, signed.stderr).toBe(0);
    const out = JSON.parse(signed.stdout) as { signed: { digest: string; signatureTag?: string; bundle: { viaApi: boolean } }[] };
    expect(out.signed[0]!.digest).toBe(image.digest);
    expect(out.signed[0]!.signatureTag).toBeUndefined();

    const verified = await kiln(verifyArgs(IDENTITY, ISSUER), { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    const signature = (JSON.parse(verified.stdout) as { verified: { signatures: { source: string; identity: { subjectAlternativeName: string; issuer: string } }[] }[] }).verified[0]!.signatures[0]!;
    expect(signature.source).toBe('bundle');
    expect(signature.identity).toEqual({ subjectAlternativeName: IDENTITY, issuer: ISSUER });

    const regexp = await kiln(['verify', '--certificate-identity-regexp', '^https://git\\.example/team/', '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', ref], { cwd: dir });
    expect(regexp.code, regexp.stderr).toBe(0);
  });

  it('refuses another identity, another issuer, and a key where a certificate signed', async () => {
    const wrongIdentity = await kiln(verifyArgs('https://git.example/attacker/app/.ci/release.yml@refs/heads/main', ISSUER), { cwd: dir });
    expect(wrongIdentity.code).toBe(1);
    expect(wrongIdentity.stderr).toContain('does not match');
    expect(wrongIdentity.stderr).toContain(IDENTITY);
    const wrongIssuer = await kiln(verifyArgs(IDENTITY, 'https://accounts.example'), { cwd: dir });
    expect(wrongIssuer.code).toBe(1);
    expect(wrongIssuer.stderr).toContain('issuer');
    expect((await kiln(['generate-key-pair'], { cwd: dir, env: { COSIGN_PASSWORD: '' } })).code).toBe(0);
    const withKey = await kiln(['verify', '--key', 'cosign.pub', ref], { cwd: dir });
    expect(withKey.code).toBe(1);
    expect(withKey.stderr).toContain('certificate (keyless)');
  });

  it('rejects a signature whose certificate does not chain to the trusted root', async () => {
    const other = keyPair();
    const foreignCa = await initializeCA(other, await initializeCTLog(keyPair()));
    const root = JSON.parse(await readFile(join(dir, 'trusted-root.json'), 'utf8')) as { certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[] };
    root.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes = Buffer.from(foreignCa.rootCertificate as Uint8Array).toString('base64');
    await writeFile(join(dir, 'foreign-root.json'), JSON.stringify(root));
    const result = await kiln(['verify', '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'foreign-root.json', ref], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CERTIFICATE|certificate|chain/);
  });

  it('attests keylessly and verify-attestation enforces the identity', async () => {
    await writeFile(join(dir, 'vex.json'), JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://kiln.dev/vex/2', author: 'ci', timestamp: '2026-01-01T00:00:00Z', version: 1, statements: [] }));
    const attested = await kiln(['attest', '--identity-token', token, '--fulcio-url', base, '--rekor-url', base, '--rekor-entry-type', 'intoto', '--type', 'openvex', '--predicate', 'vex.json', ref], { cwd: dir });
    expect(attested.code, attested.stderr).toBe(0);
    const ok = await kiln(['verify-attestation', '--type', 'openvex', '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', ref], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await kiln(['verify-attestation', '--type', 'openvex', '--certificate-identity', 'someone@example.com', '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', ref], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('does not match');
  });

  it("dates a keyless attestation by its verified Rekor integrated time, and maxAge measures from it", async () => {
    const client = new RegistryClient();
    const repo = { registry: registry.host, repository: 'team/app' };
    const referrers = (await client.referrers(repo, image.digest)).manifests.filter((m) => m.annotations?.['dev.sigstore.bundle.predicateType'] === 'https://openvex.dev/ns');
    expect(referrers).toHaveLength(1);
    const layer = ((await client.getManifest({ ...repo, digest: referrers[0]!.digest })).manifest as ImageManifest).layers[0]!;
    const bundle = JSON.parse(Buffer.from(await client.getBlob(repo, layer.digest)).toString()) as { verificationMaterial: { tlogEntries: { integratedTime: string }[] } };
    const logged = new Date(Number(bundle.verificationMaterial.tlogEntries[0]!.integratedTime) * 1000).toISOString();

    const verified = await kiln(['verify-attestation', '--type', 'openvex', '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', '--json', ref], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    const attestation = (JSON.parse(verified.stdout) as { verified: { attestations: { attestedAt: { time: string; source: string } }[] }[] }).verified[0]!.attestations[0]!;
    expect(attestation.attestedAt).toEqual({ time: logged, source: 'transparency-log' });

    await writeFile(join(dir, 'policy-age.yaml'), `authorities:\n  ci:\n    keyless: { identity: '${IDENTITY}', issuer: '${ISSUER}', trustedRoot: trusted-root.json }\nattestations:\n  - { type: openvex, maxAge: 1h }\n`);
    const fresh = await kiln(['policy', 'verify', '--policy', 'policy-age.yaml', '--json', ref], { cwd: dir });
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    expect((JSON.parse(fresh.stdout) as { reports: { checks: { detail: string }[] }[] }).reports[0]!.checks[0]!.detail).toBe(`1 valid by ci, newest attested ${logged} (transparency log)`);
  });

  it('enforces a keyless authority in kiln policy verify', async () => {
    const policy = (identity: string) =>
      `authorities:\n  ci:\n    keyless: { identity: '${identity}', issuer: '${ISSUER}', trustedRoot: trusted-root.json }\nsignatures: { required: [ci] }\n`;
    await writeFile(join(dir, 'policy-ok.yaml'), policy(IDENTITY));
    const ok = await kiln(['policy', 'verify', '--policy', 'policy-ok.yaml', ref], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('✓ signature by ci');
    await writeFile(join(dir, 'policy-bad.yaml'), policy('https://git.example/other'));
    const bad = await kiln(['policy', 'verify', '--policy', 'policy-bad.yaml', ref], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('✗ signature by ci');
    expect(bad.stderr).toContain('does not match');
  });

  it('writes and verifies cosign v2 legacy keyless signatures (.sig layer with certificate and Rekor bundle)', async () => {
    const client = new RegistryClient();
    const target = await pushTestImage(client, { registry: registry.host, repository: 'team/legacy', tag: 'v1' });
    const legacyRef = `${registry.host}/team/legacy:v1`;
    const signed = await kiln(['sign', '--identity-token', token, '--fulcio-url', base, '--rekor-url', base, '--new-bundle-format=false', legacyRef], { cwd: dir });
    expect(signed.code, signed.stderr).toBe(0);
    const repo = { registry: registry.host, repository: 'team/legacy' };
    const sig = (await client.getManifest({ ...repo, tag: `sha256-${target.digest.slice(7)}.sig` })).manifest as ImageManifest;
    const annotations = sig.layers[0]!.annotations!;
    expect(annotations['dev.sigstore.cosign/certificate']).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const rekor = JSON.parse(annotations['dev.sigstore.cosign/bundle']!) as { SignedEntryTimestamp: string; Payload: { body: string; logID: string } };
    expect(JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString()).kind).toBe('hashedrekord');
    expect((await client.referrers(repo, target.digest)).manifests).toEqual([]);

    const args = (identity: string) => ['verify', '--certificate-identity', identity, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', '--json', legacyRef];
    const ok = await kiln(args(IDENTITY), { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const signature = (JSON.parse(ok.stdout) as { verified: { signatures: { source: string; identity: { subjectAlternativeName: string } }[] }[] }).verified[0]!.signatures[0]!;
    expect(signature.source).toBe('tag');
    expect(signature.identity.subjectAlternativeName).toBe(IDENTITY);
    const wrong = await kiln(args('https://git.example/other'), { cwd: dir });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('does not match');

    // A forged Signed Entry Timestamp (one byte flipped) makes the transparency-log proof fail.
    const set = Buffer.from(rekor.SignedEntryTimestamp, 'base64');
    set[set.length - 1]! ^= 0x01;
    const forged = { ...rekor, SignedEntryTimestamp: set.toString('base64') };
    await client.putManifestJson({ ...repo, tag: `sha256-${target.digest.slice(7)}.sig` }, { ...sig, layers: [{ ...sig.layers[0]!, annotations: { ...annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(forged) } }] });
    const tampered = await kiln(args(IDENTITY), { cwd: dir });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/TLOG_[A-Z_]+/);
  });

  it('requires a transparency-log entry unless told to ignore it, then checks the certificate at the current time', async () => {
    for (const [repository, format] of [['team/notlog', '--new-bundle-format=true'], ['team/notlog-legacy', '--new-bundle-format=false']] as const) {
      const target = `${registry.host}/${repository}:v1`;
      await pushTestImage(new RegistryClient(), { registry: registry.host, repository, tag: 'v1' });
      const signed = await kiln(['sign', '--identity-token', token, '--fulcio-url', base, '--tlog-upload=false', format, target], { cwd: dir });
      expect(signed.code, signed.stderr).toBe(0);
      const args = ['verify', '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', target];
      const strict = await kiln(args, { cwd: dir });
      expect(strict.code).toBe(1);
      expect(strict.stderr).toMatch(/tlog|timestamp/i);
      const ignored = await kiln([...args, '--insecure-ignore-tlog', '--json'], { cwd: dir });
      expect(ignored.code, `${format}: ${ignored.stderr}`).toBe(0);
      const signature = (JSON.parse(ignored.stdout) as { verified: { signatures: { identity: { subjectAlternativeName: string }; timestamps?: unknown[] }[] }[] }).verified[0]!.signatures[0]!;
      expect(signature.identity.subjectAlternativeName).toBe(IDENTITY);
      // The time the chain was checked at is nobody's attestation: no timestamp is reported.
      expect(signature.timestamps).toBeUndefined();
      // The chain is still checked: a root that did not issue the certificate fails.
      const other = await initializeCA(keyPair(), await initializeCTLog(keyPair()));
      const root = JSON.parse(await readFile(join(dir, 'trusted-root.json'), 'utf8')) as { certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[] };
      root.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes = Buffer.from(other.rootCertificate as Uint8Array).toString('base64');
      await writeFile(join(dir, 'other-root.json'), JSON.stringify(root));
      const foreign = await kiln([...args.slice(0, -2), 'other-root.json', target, '--insecure-ignore-tlog'], { cwd: dir });
      expect(foreign.code, `${format}: ${foreign.stdout}`).toBe(1);
      expect(foreign.stderr).toMatch(/CERTIFICATE|certificate/);
    }
  });

  it('verifies key-signed bundles that carry a Rekor entry, checking the entry when a trusted root is given', async () => {
    const repository = 'team/key-rekor';
    await pushTestImage(new RegistryClient(), { registry: registry.host, repository, tag: 'v1' });
    const target = `${registry.host}/${repository}:v1`;
    const p384 = keyPair384();
    await writeFile(join(dir, 'p384.key'), p384.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'p384.pub'), p384.publicKey.export({ type: 'spki', format: 'pem' }));
    const signed = await kiln(['sign', '--key', 'p384.key', '--rekor-url', base, '--rekor-entry-type', 'intoto', '--new-bundle-format=true', target], { cwd: dir });
    expect(signed.code, signed.stderr).toBe(0);

    // Without a trusted root the entry cannot be checked; a key needs none, so the key decides.
    const offline = await kiln(['verify', '--key', 'p384.pub', '--json', target], { cwd: dir });
    expect(offline.code, offline.stderr).toBe(0);
    const offlineSignature = (JSON.parse(offline.stdout) as { verified: { signatures: { source: string; timestamps?: unknown[] }[] }[] }).verified[0]!.signatures[0]!;
    expect(offlineSignature.source).toBe('bundle');
    expect(offlineSignature.timestamps).toBeUndefined();

    // With the log's trusted root the entry is checked, and its time counts.
    const checked = await kiln(['verify', '--key', 'p384.pub', '--trusted-root', 'trusted-root.json', '--json', target], { cwd: dir });
    expect(checked.code, checked.stderr).toBe(0);
    const checkedSignature = (JSON.parse(checked.stdout) as { verified: { signatures: { timestamps?: { source: string }[] }[] }[] }).verified[0]!.signatures[0]!;
    expect(checkedSignature.timestamps?.map((timestamp) => timestamp.source)).toEqual(['transparency-log']);

    // A trusted root whose Rekor did not log it rejects the entry.
    const root = JSON.parse(await readFile(join(dir, 'trusted-root.json'), 'utf8')) as { tlogs: { publicKey: { rawBytes: string } }[] };
    root.tlogs[0]!.publicKey.rawBytes = keyPair().publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    await writeFile(join(dir, 'other-log-root.json'), JSON.stringify(root));
    const foreign = await kiln(['verify', '--key', 'p384.pub', '--trusted-root', 'other-log-root.json', target], { cwd: dir });
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/TLOG_/);

    // Another key does not verify it.
    await writeFile(join(dir, 'other384.pub'), keyPair384().publicKey.export({ type: 'spki', format: 'pem' }));
    const wrongKey = await kiln(['verify', '--key', 'other384.pub', target], { cwd: dir });
    expect(wrongKey.code).toBe(1);
  });

  it('needs a token for keyless signing and says so', async () => {
    const result = await kiln(['sign', '--fulcio-url', base, ref], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SIGSTORE_ID_TOKEN');
  });
});
