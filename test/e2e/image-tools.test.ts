// `kiln image diff`, `kiln image reproduce` and `kiln image publish --keyless` end to end: images built
// from the bundled fixture repository, published to Kiln's own registry on loopback, provenance
// verified with a cosign key or a keyless identity (Fulcio and Rekor stand-ins from @sigstore/mock),
// rebuilt and compared; tampered inputs are named.
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';
import { startKiln } from './registry-support.ts';
import { KEYLESS_IDENTITY as IDENTITY, KEYLESS_ISSUER as ISSUER, KEYLESS_TOKEN as token, startSigstoreStandIn } from './sigstore-support.ts';
import type { SigstoreStandIn } from './sigstore-support.ts';

const fixtureRepo = join(import.meta.dirname, '..', 'fixtures', 'apk', 'apko-cli-packages');
const env = { COSIGN_PASSWORD: 'image-tools-pw', SOURCE_DATE_EPOCH: '1700000000' };

/** `kiln ARGS` in-process, with HOME and DOCKER_CONFIG in `cwd` and no vulnerability index. */
function kiln(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return runKiln(args, { cwd: options.cwd, env: { HOME: options.cwd, DOCKER_CONFIG: join(options.cwd, '.docker'), KILN_VULN_DB_DIR: join(options.cwd, 'no-vuln-db'), ...(options.env ?? {}) } });
}

const imageConfig = (repo: string, certs: string, uid = 65532) => `contents:
  repositories:
    - ${repo}
  keyring:
    - ${join(repo, 'melange.rsa.pub')}
  packages:
    - replayout
    - ${certs}
accounts:
  groups:
    - groupname: nonroot
      gid: 65532
  users:
    - username: nonroot
      uid: ${uid}
      gid: 65532
  run-as: nonroot
entrypoint:
  command: /bin/sh -l
archs:
  - x86_64
`;

interface Diff {
  onlyBefore: string[];
  onlyAfter: string[];
  platforms: {
    platform: string;
    identical: boolean;
    before: { size: { layers: number; compressed: number; uncompressed: number } };
    packages: { added: { name: string }[]; removed: { name: string }[]; upgraded: unknown[] };
    files: { added: { path: string; size: number; digest?: string }[]; removed: { path: string }[]; changed: { path: string; what: string[] }[] };
    config: { field: string }[];
    cves: { notScanned?: string };
    layers: unknown[];
  }[];
}

let work: string;
let repo: string;
let server: { host: string; stop: () => Promise<unknown> };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-image-tools-'));
  // A private copy of the repository: the tamper test changes a package in it.
  repo = join(work, 'repo');
  await cp(fixtureRepo, repo, { recursive: true });
  await writeFile(join(work, 'a.yaml'), imageConfig(repo, 'custom-ca-certs-1'));
  await writeFile(join(work, 'b.yaml'), imageConfig(repo, 'custom-ca-certs-2'));
  expect((await kiln(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
  await mkdir(join(work, 'other'));
  expect((await kiln(['generate-key-pair', '--output-key-prefix', 'other/cosign'], { cwd: work, env })).code).toBe(0);
  const started = await startKiln(await mkdtemp(join(work, 'kiln-data-')));
  server = { host: started.host, stop: () => started.stop() };
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln image diff', () => {
  beforeAll(async () => {
    for (const name of ['a', 'b']) {
      const built = await kiln(['image', 'build', `${name}.yaml`, `kiln.test/diff/${name}:1`, `${name}.tar`, '--oci-layout', `${name}-layout`, '--cache-dir', 'cache'], { cwd: work, env });
      expect(built.code, built.stderr).toBe(0);
    }
  });

  it('names the packages and files added and removed, the sizes, and says CVEs were not scanned without an index', async () => {
    const result = await kiln(['image', 'diff', 'oci:a-layout', 'docker-archive:b.tar', '--json'], { cwd: work });
    expect(result.code, result.stderr).toBe(0);
    const diff = JSON.parse(result.stdout) as Diff;
    expect(diff.onlyBefore).toEqual([]);
    expect(diff.onlyAfter).toEqual([]);
    expect(diff.platforms.map((p) => p.platform)).toEqual(['linux/amd64']);
    const [platform] = diff.platforms;
    expect(platform!.identical).toBe(false);
    expect(platform!.packages.added.map((p) => p.name)).toEqual(['custom-ca-certs-2']);
    expect(platform!.packages.removed.map((p) => p.name)).toEqual(['custom-ca-certs-1']);
    expect(platform!.packages.upgraded).toEqual([]);
    expect(platform!.files.added.map((f) => f.path)).toEqual([
      'usr/local/share/ca-certificates/cert-c.crt',
      'usr/local/share/ca-certificates/cert-d.crt',
      'var/lib/db/sbom/custom-ca-certs-2-1.0.0-r0.spdx.json',
    ]);
    expect(platform!.files.added[0]!.size).toBe(672);
    expect(platform!.files.removed.map((f) => f.path)).toEqual([
      'usr/local/share/ca-certificates/cert-a.crt',
      'usr/local/share/ca-certificates/cert-b.crt',
      'var/lib/db/sbom/custom-ca-certs-1-1.0.0-r0.spdx.json',
    ]);
    expect(platform!.files.changed.map((f) => f.path)).toContain('lib/apk/db/installed');
    expect(platform!.before.size.compressed).toBeGreaterThan(0);
    expect(platform!.before.size.uncompressed).toBeGreaterThan(platform!.before.size.compressed);
    expect(platform!.cves).toEqual({ notScanned: 'no vulnerability index (kiln vuln db update)' });
  });

  it('prints a table by default and finds an image identical to itself', async () => {
    const table = await kiln(['image', 'diff', 'a-layout', 'b.tar'], { cwd: work });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('packages: 1 added, 1 removed, 0 upgraded');
    expect(table.stdout).toContain('  + custom-ca-certs-2 1.0.0-r0');
    expect(table.stdout).toContain('  - usr/local/share/ca-certificates/cert-a.crt (file, 2.0 KiB)');
    expect(table.stdout).toContain('cves: not scanned: no vulnerability index (kiln vuln db update)');
    const same = await kiln(['image', 'diff', 'a-layout', 'a.tar', '--json'], { cwd: work });
    expect(same.code, same.stderr).toBe(0);
    const diff = JSON.parse(same.stdout) as Diff;
    // The layout and the archive of one build hold the same config and layers.
    expect(diff.platforms[0]!.identical).toBe(true);
    expect(diff.platforms[0]!.files).toEqual({ added: [], removed: [], changed: [] });
  });

  it('with a vulnerability index, names the CVEs fixed and introduced', async () => {
    // A secdb written for this test: each certificate package has a CVE fixed only in a later release.
    const secdb = {
      apkurl: '{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
      archs: ['x86_64'],
      reponame: 'os',
      urlprefix: 'https://packages.example.invalid',
      packages: [
        { pkg: { name: 'custom-ca-certs-1', secfixes: { '1.0.1-r0': ['CVE-2099-3101'] } } },
        { pkg: { name: 'custom-ca-certs-2', secfixes: { '1.0.1-r0': ['CVE-2099-3102'] } } },
        { pkg: { name: 'replayout', secfixes: { '1.0.1-r0': ['CVE-2099-3103'] } } },
      ],
    };
    await writeFile(join(work, 'secdb.json'), JSON.stringify(secdb));
    await writeFile(join(work, 'feeds.yaml'), `feeds:\n  - {name: diff-test, type: secdb, path: secdb.json, ecosystem: wolfi}\n`);
    const update = await kiln(['vuln', 'db', 'update', '--config', 'feeds.yaml', '--db-dir', 'vuln-db'], { cwd: work });
    expect(update.code, update.stderr).toBe(0);
    const result = await kiln(['image', 'diff', 'a-layout', 'b.tar', '--db-dir', 'vuln-db', '--distro', 'wolfi', '--json'], { cwd: work });
    expect(result.code, result.stderr).toBe(0);
    const cves = (JSON.parse(result.stdout) as Diff).platforms[0]!.cves;
    expect(cves).toEqual({ fixed: ['CVE-2099-3101'], introduced: ['CVE-2099-3102'], open: { critical: 0, high: 0, medium: 0, low: 0, unknown: 2 } });
    const table = await kiln(['image', 'diff', 'a-layout', 'b.tar', '--db-dir', 'vuln-db', '--distro', 'wolfi'], { cwd: work });
    expect(table.stdout).toContain('cves: 1 fixed, 1 introduced; open after: 0 critical, 0 high, 0 medium, 0 low, 2 unknown\n  fixed CVE-2099-3101\n  new   CVE-2099-3102\n');
    expect((await kiln(['image', 'diff', 'a-layout', 'b.tar', '--distro', 'plan9'], { cwd: work })).code).toBe(2);
  });

  it('exits 1 naming an unreadable image, 2 on bad usage', async () => {
    const missing = await kiln(['image', 'diff', 'a-layout', 'oci:nowhere'], { cwd: work });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('kiln: oci:nowhere: no readable index.json (not an OCI image layout)');
    const typo = await kiln(['image', 'diff', 'a-layout', './b-typo.tar'], { cwd: work });
    expect([typo.code, typo.stderr]).toEqual([1, 'kiln: ./b-typo.tar: no such file or directory\n']);
    const platform = await kiln(['image', 'diff', 'a-layout', 'b.tar', '--platform', 'linux/s390x'], { cwd: work });
    expect(platform.code).toBe(1);
    expect(platform.stderr).toContain('holds no image for platform linux/s390x');
    expect((await kiln(['image', 'diff', 'a-layout'], { cwd: work })).code).toBe(2);
  });
});

interface Published {
  index: { digest: string };
  refs: string[];
}

describe('kiln image reproduce', () => {
  let tag: string;
  let digest: string;

  beforeAll(async () => {
    tag = `${server.host}/team/app:1.0`;
    const published = await kiln(['image', 'publish', 'a.yaml', tag, '--key', 'cosign.key', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(published.code, published.stderr).toBe(0);
    digest = (JSON.parse(published.stdout) as Published).index.digest;
  });

  it('rebuilds the published image from its verified provenance to the same digest', async () => {
    const result = await kiln(['image', 'reproduce', tag, '--key', 'cosign.pub', '--cache-dir', 'cache-reproduce'], { cwd: work });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`reproduced ${digest}\n`);
    const json = await kiln(['image', 'reproduce', `${server.host}/team/app@${digest}`, '--key', 'cosign.pub', '--cache-dir', 'cache-reproduce', '--json'], { cwd: work });
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { reproduced: boolean; digest: string; rebuilt: string; inputs: { archs: string[]; sourceDateEpoch: number } };
    expect(out).toMatchObject({ reproduced: true, digest, rebuilt: digest, inputs: { archs: ['amd64'], sourceDateEpoch: 1700000000 } });
  });

  it('diffs a registry reference against an OCI layout: the published image is the one built locally', async () => {
    const result = await kiln(['image', 'diff', tag, 'oci:a-layout', '--json'], { cwd: work });
    expect(result.code, result.stderr).toBe(0);
    const diff = JSON.parse(result.stdout) as Diff;
    expect(diff.platforms.map((p) => [p.platform, p.identical])).toEqual([['linux/amd64', true]]);
  });

  it('reproduces an image whose configuration includes another by absolute path', async () => {
    await mkdir(join(work, 'wrapped'), { recursive: true });
    await writeFile(join(work, 'wrapped', 'c.yaml'), `include: ${join(work, 'a.yaml')}\n`);
    const other = `${server.host}/team/included:1.0`;
    const published = await kiln(['image', 'publish', 'wrapped/c.yaml', other, '--key', 'cosign.key', '--sbom-attest=false', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(published.code, published.stderr).toBe(0);
    expect((JSON.parse(published.stdout) as Published).index.digest).toBe(digest);
    const result = await kiln(['image', 'reproduce', other, '--key', 'cosign.pub', '--cache-dir', 'cache'], { cwd: work });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`reproduced ${digest}\n`);
  });

  it('refuses a provenance that does not verify with the key given', async () => {
    const result = await kiln(['image', 'reproduce', tag, '--key', 'other/cosign.pub'], { cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`kiln: ${server.host}/team/app@${digest}: no SLSA provenance that verifies`);
    expect((await kiln(['image', 'reproduce', tag], { cwd: work })).code).toBe(2);
    // Only when asked, and said: the attached provenance without its signature checked.
    const unchecked = await kiln(['image', 'reproduce', tag, '--insecure-ignore-signature', '--cache-dir', 'cache'], { cwd: work });
    expect(unchecked.code, unchecked.stderr).toBe(0);
    expect(unchecked.stdout).toBe(`reproduced ${digest}\n`);
    expect(unchecked.stderr).toMatch(/^warning: provenance sha256:[0-9a-f]{64}: its signature was not verified \(--insecure-ignore-signature\)\n$/);
  });

  it('names the files and config that differ when the provenance records another configuration', async () => {
    // The same image pushed without provenance, then a signed provenance whose configuration
    // (uid 65533) and records were changed consistently: it verifies, but does not rebuild the image.
    const other = `${server.host}/team/tampered:1.0`;
    const pushed = await kiln(['image', 'publish', 'a.yaml', other, '--key', 'cosign.key', '--provenance=false', '--sbom-attest=false', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect((JSON.parse(pushed.stdout) as Published).index.digest).toBe(digest);
    const verified = await kiln(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance1', '--json', `${server.host}/team/app@${digest}`], { cwd: work });
    expect(verified.code, verified.stderr).toBe(0);
    type Predicate = { buildDefinition: { externalParameters: { config: { digest: { sha256: string }; files: { digest: { sha256: string }; content: string }[] } }; internalParameters: { lock: { config: { checksum: string } } } } };
    const predicate = (JSON.parse(verified.stdout) as { verified: { attestations: { statement: { predicate: Predicate } }[] }[] }).verified[0]!.attestations[0]!.statement.predicate;
    const text = imageConfig(repo, 'custom-ca-certs-1', 65533);
    const sha = createHash('sha256').update(text).digest('hex');
    predicate.buildDefinition.externalParameters.config.files[0] = { ...predicate.buildDefinition.externalParameters.config.files[0]!, digest: { sha256: sha }, content: Buffer.from(text).toString('base64') };
    predicate.buildDefinition.externalParameters.config.digest = { sha256: sha };
    predicate.buildDefinition.internalParameters.lock.config.checksum = `sha256-${createHash('sha256').update(text).digest('base64')}`;
    await writeFile(join(work, 'tampered.json'), JSON.stringify(predicate));
    const attested = await kiln(['attest', '--key', 'cosign.key', '--type', 'slsaprovenance1', '--predicate', 'tampered.json', `${other.replace(':1.0', '')}@${digest}`], { cwd: work, env });
    expect(attested.code, attested.stderr).toBe(0);

    const result = await kiln(['image', 'reproduce', other, '--key', 'cosign.pub', '--cache-dir', 'cache'], { cwd: work });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^not reproduced: ${other.replace(/[.]/g, '\\.')} is ${digest}, the rebuild from provenance sha256:[0-9a-f]{64} is sha256:[0-9a-f]{64}\n`));
    expect(result.stdout).toMatch(/linux\/amd64: layer 0 differs: sha256:[0-9a-f]{64} published, sha256:[0-9a-f]{64} rebuilt/);
    expect(result.stdout).toMatch(/linux\/amd64: etc\/passwd: content \(layer 0\)/);
    expect(result.stdout).toMatch(/linux\/amd64: home\/nonroot: owner 65532:65532 → 65533:65532 \(layer 0\)/);
    expect(result.stderr).toMatch(/^kiln: .*: rebuilt sha256:[0-9a-f]{64}, published sha256:/);
    const json = await kiln(['image', 'reproduce', other, '--key', 'cosign.pub', '--cache-dir', 'cache', '--json'], { cwd: work });
    expect(json.code).toBe(1);
    const out = JSON.parse(json.stdout) as { reproduced: boolean; diff: Diff };
    expect(out.reproduced).toBe(false);
    expect(out.diff.platforms[0]!.files.changed.map((f) => f.path)).toEqual(expect.arrayContaining(['etc/passwd', 'home/nonroot']));
    expect(out.diff.platforms[0]!.packages).toEqual({ added: [], removed: [], upgraded: [] });
  });

  it('names the package whose repository copy changed since the build', async () => {
    // The repository now serves other bytes under custom-ca-certs-1-1.0.0-r0.apk.
    await cp(join(repo, 'x86_64', 'custom-ca-certs-2-1.0.0-r0.apk'), join(repo, 'x86_64', 'custom-ca-certs-1-1.0.0-r0.apk'));
    try {
      const result = await kiln(['image', 'reproduce', tag, '--key', 'cosign.pub', '--cache-dir', 'cache-fresh'], { cwd: work });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^kiln: provenance sha256:[0-9a-f]{64}: a recorded input is no longer what it was: .*custom-ca-certs-1-1\.0\.0-r0\.apk/);
    } finally {
      await cp(join(fixtureRepo, 'x86_64', 'custom-ca-certs-1-1.0.0-r0.apk'), join(repo, 'x86_64', 'custom-ca-certs-1-1.0.0-r0.apk'));
    }
  });
});

describe('kiln image publish --keyless', () => {
  let sigstore: SigstoreStandIn;
  let base: string;

  beforeAll(async () => {
    sigstore = await startSigstoreStandIn(join(work, 'trusted-root.json'));
    base = sigstore.url;
  });

  afterAll(async () => {
    await sigstore?.close();
  });

  it('signs and attests with a Fulcio certificate and Rekor entries; the identity verifies and reproduce accepts it', async () => {
    const tag = `${server.host}/team/keyless:1.0`;
    // The stand-in Rekor stores proposed entries verbatim, which matches the real one only for intoto entries.
    const published = await kiln(['image', 'publish', 'b.yaml', tag, '--keyless', '--identity-token', token, '--fulcio-url', base, '--rekor-url', base, '--rekor-entry-type', 'intoto', '--cache-dir', 'cache', '--json'], { cwd: work, env });
    expect(published.code, published.stderr).toBe(0);
    const out = JSON.parse(published.stdout) as Published & { signatures: { digest: string; signatureTag?: string; bundle?: { viaApi: boolean } }[]; attestations: { predicateType: string; bundle?: { viaApi: boolean } }[] };
    expect(out.signatures.map((s) => s.signatureTag)).toEqual([undefined, undefined]);
    expect(out.signatures.every((s) => s.bundle?.viaApi === true)).toBe(true);
    expect(out.attestations.map((a) => a.predicateType).sort()).toEqual(['https://cyclonedx.org/bom', 'https://slsa.dev/provenance/v1', 'https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', 'https://spdx.dev/Document']);

    const identity = ['--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json'];
    const verified = await kiln(['verify', ...identity, '--json', tag], { cwd: work });
    expect(verified.code, verified.stderr).toBe(0);
    const signature = (JSON.parse(verified.stdout) as { verified: { signatures: { source: string; identity: unknown }[] }[] }).verified[0]!.signatures[0]!;
    expect(signature).toMatchObject({ source: 'bundle', identity: { subjectAlternativeName: IDENTITY, issuer: ISSUER } });
    const wrong = await kiln(['verify', '--certificate-identity', 'https://git.example/other', '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted-root.json', tag], { cwd: work });
    expect(wrong.code).toBe(1);

    const reproduced = await kiln(['image', 'reproduce', tag, ...identity, '--cache-dir', 'cache', '--json'], { cwd: work });
    expect(reproduced.code, reproduced.stderr).toBe(0);
    expect(JSON.parse(reproduced.stdout)).toMatchObject({ reproduced: true, digest: out.index.digest, verifiedBy: `${IDENTITY} (${ISSUER})` });
  });

  it('refuses --key with --keyless, and keyless without a token', async () => {
    expect((await kiln(['image', 'publish', 'b.yaml', `${server.host}/team/x:1`, '--keyless', '--key', 'cosign.key'], { cwd: work, env })).code).toBe(2);
    const noToken = await kiln(['image', 'publish', 'b.yaml', `${server.host}/team/x:1`, '--keyless', '--fulcio-url', base], { cwd: work, env });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('keyless publishing needs an OIDC identity token');
  });
});
