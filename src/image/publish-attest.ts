import { createHash } from 'node:crypto';
import type { Digest } from '../lib/index.ts';
import { apkPurl } from '../sbom/index.ts';
import type { SbomFormat } from '../sbom/index.ts';
import type { BuildImageResult } from './build-image.ts';

// What `kiln image publish --key` attaches to a published image, as plain data: the SLSA v1
// provenance input (the attest domain turns it into the predicate) and which SBOM document (SPDX,
// CycloneDX) goes to which manifest. Pure; the CLI composes it with the signing and attesting services.

/** SLSA build type of a Kiln image build. */
export const KILN_IMAGE_BUILD_TYPE = 'https://kiln.dev/build/image/v1';
/** Builder identity of the `kiln image publish` command. */
export const KILN_IMAGE_BUILDER_ID = 'https://kiln.dev/builders/kiln-image-publish';

/** A ResourceDescriptor (structurally the attest domain's SlsaResource). */
export interface ProvenanceResource {
  uri?: string;
  name?: string;
  digest?: Record<string, string>;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

/** Structurally the attest domain's SlsaBuildInput. */
export interface PublishProvenanceInput {
  buildType: string;
  externalParameters: Record<string, unknown>;
  internalParameters: Record<string, unknown>;
  resolvedDependencies: ProvenanceResource[];
  builder: { id: string; version: Record<string, string> };
  startedOn?: Date;
  finishedOn?: Date;
}

/** Facts the build result does not carry. */
export interface PublishProvenanceFacts {
  /** Kiln's version (the CLI's). */
  kilnVersion: string;
  /** The configuration file as given on the command line. */
  configPath: string;
  /** `sha256:<hex>` of the configuration file's bytes. */
  configDigest: Digest;
  /** `sha256-<base64>` over the configuration and its includes (the lock file's config checksum). */
  configChecksum?: string;
  /** Tags the index was pushed to. */
  tags: readonly string[];
  /** SOURCE_DATE_EPOCH as given, when set. */
  sourceDateEpoch?: string;
  /** When publishing started (wall clock); the build date itself is the image's creation time. */
  startedOn?: Date;
  finishedOn?: Date;
  /** What `kiln image reproduce` rebuilds from: every configuration file read (main first, then
   *  each include in load order) and the build flags that change the image. With it the provenance
   *  also records the lock (packages by checksum, keys by content). */
  reproducible?: ReproducibleFacts;
}

/** The build inputs beyond the lock that a rebuild needs. */
export interface ReproducibleFacts {
  configFiles: ReadonlyArray<{ path: string; bytes: Uint8Array }>;
  build: ReproducibleBuildFlags;
}

/** Build flags that change the image (apko's names), as recorded in the provenance. */
export interface ReproducibleBuildFlags {
  /** Architectures built (OCI names), in index order. */
  archs: string[];
  annotations?: Record<string, string>;
  /** `--build-date` as given. */
  buildDate?: string;
  repositoryAppend?: string[];
  keyringAppend?: string[];
  packageAppend?: string[];
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sha256Map(digest: string): Record<string, string> {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return { [algorithm]: hex };
}

/** Digest-set key of an apk's datahash: the SHA-256 of its data member (what apk verifies), not of
 *  the .apk file, so it must not pass for `sha256`, which a verifier would compare with the file's. */
export const APK_DATAHASH_DIGEST = 'apkDatahashSha256';

/** The SLSA v1 provenance input of a published build: config digest and path, every resolved
 *  package per architecture (its SBOM purl, version, `C:` identity, data hash, URL), the repositories
 *  and keyring names, the build date and the image digests. */
export function publishProvenanceInput(result: BuildImageResult, facts: PublishProvenanceFacts): PublishProvenanceInput {
  const packages: ProvenanceResource[] = [];
  for (const output of result.arches) {
    const inSbom = new Map(output.sbom.packages.map((pkg) => [pkg.name, pkg]));
    for (const pkg of output.packages) {
      // The purl the image SBOM gives the package (namespace, distro and upstream included).
      const listed = inSbom.get(pkg.record.name) ?? { name: pkg.record.name, version: pkg.record.version, arch: pkg.record.arch ?? output.arch.apk, ...(pkg.record.origin ? { origin: pkg.record.origin } : {}) };
      packages.push({
        uri: apkPurl(listed, output.sbom.os),
        name: pkg.record.name,
        ...(pkg.datahash ? { digest: { [APK_DATAHASH_DIGEST]: pkg.datahash } } : {}),
        annotations: { version: pkg.record.version, arch: output.arch.apk, identity: pkg.record.identity, ...(pkg.datahash ? { datahash: pkg.datahash } : {}), url: pkg.url },
      });
    }
  }
  const lock = result.lock.contents;
  const repositories = lock.repositories.map((repository) => ({ name: repository.name, url: repository.url, architecture: repository.architecture }));
  const keyring = lock.keyring.map((key) => ({ name: key.name.slice(key.name.lastIndexOf('/') + 1), url: key.url }));
  const reproducible = facts.reproducible;
  const files = reproducible?.configFiles.map((file) => ({ path: file.path, digest: { sha256: sha256Hex(file.bytes) }, content: Buffer.from(file.bytes).toString('base64') }));
  const keys: ProvenanceResource[] = reproducible
    ? lock.keyring.map((key) => ({ uri: key.url, name: key.name.slice(key.name.lastIndexOf('/') + 1), digest: { sha256: sha256Hex(Buffer.from(key.content ?? '', 'utf8')) }, annotations: { kind: 'apk-key' } }))
    : [];
  return {
    buildType: KILN_IMAGE_BUILD_TYPE,
    externalParameters: {
      config: { path: facts.configPath, digest: sha256Map(facts.configDigest), ...(facts.configChecksum ? { checksum: facts.configChecksum } : {}), ...(files ? { files } : {}) },
      tags: [...facts.tags],
      ...(facts.sourceDateEpoch !== undefined ? { sourceDateEpoch: facts.sourceDateEpoch } : {}),
      ...(reproducible ? { build: reproducible.build } : {}),
    },
    internalParameters: {
      buildDate: result.created,
      repositories,
      keyring,
      index: result.index.index.digest,
      images: Object.fromEntries(result.arches.map((output) => [output.arch.oci, output.result.image.manifest.digest])),
      packages: Object.fromEntries(
        result.arches.map((output) => [
          output.arch.apk,
          output.packages.map((pkg) => ({ name: pkg.record.name, version: pkg.record.version, identity: pkg.record.identity, ...(pkg.datahash ? { datahash: pkg.datahash } : {}) })),
        ]),
      ),
      ...(reproducible ? { lock: result.lock } : {}),
    },
    resolvedDependencies: [{ uri: facts.configPath, name: 'config', digest: sha256Map(facts.configDigest) }, ...packages, ...keys],
    builder: { id: KILN_IMAGE_BUILDER_ID, version: { kiln: facts.kilnVersion } },
    ...(facts.startedOn ? { startedOn: facts.startedOn } : {}),
    ...(facts.finishedOn ? { finishedOn: facts.finishedOn } : {}),
  };
}

/** Which SBOM document is attested on which manifest, per format. SPDX: each arch image gets its own,
 *  the index the index document. CycloneDX: each arch image gets its own (the build writes no
 *  CycloneDX document of the index). */
export function publishSbomTargets(result: BuildImageResult, format: SbomFormat = 'spdx'): Array<{ digest: Digest; arch?: string; document: Record<string, unknown> }> {
  const targets: Array<{ digest: Digest; arch?: string; document: Record<string, unknown> }> = format === 'spdx' ? [{ digest: result.index.index.digest, document: result.spdx.index }] : [];
  for (const output of result.arches) {
    const document = format === 'spdx' ? result.spdx.perArch.get(output.arch.apk) : result.cyclonedx.get(output.arch.apk);
    if (document) targets.push({ digest: output.result.image.manifest.digest, arch: output.arch.oci, document });
  }
  return targets;
}
