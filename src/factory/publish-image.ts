// Publishes one built catalog image: the index and its images pushed once, the moving tags set, the
// dated tag set only when absent (dated tags never move), then signatures and attestations (SPDX and
// CycloneDX SBOMs per image, SLSA provenance, the scan result and OpenVEX) with the factory's key.
// Given the build's reproducible inputs, the provenance records them as `kiln image publish` does, so
// `kiln image reproduce` rebuilds a factory-published image.
import { createHash } from 'node:crypto';
import type { Witness } from '@sigstore/sign';
import { attestImage, buildSlsaProvenanceV1, predicateTypeUri, SLSA_PROVENANCE_V1 } from '../attest/index.ts';
import { publishIndex, publishProvenanceInput, publishSbomTargets } from '../image/index.ts';
import type { BuildImageResult, ReproducibleFacts } from '../image/index.ts';
import type { Digest } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { signImage } from '../sign/index.ts';
import type { ImageSigner, SignatureFormat } from '../sign/index.ts';
import { FactoryError } from './errors.ts';
import type { ImageTags } from './format/tags.ts';

/** What to publish. */
export interface PublishRequest {
  image: string;
  /** Registry host (`127.0.0.1:5000`). */
  registry: string;
  tags: ImageTags;
  result: BuildImageResult;
  config: { path: string; bytes: Uint8Array; checksum?: string };
  /** What `kiln image reproduce` rebuilds from: every configuration file the build loaded (the file
   *  the build was pointed at first, then each include in load order) and the build flags that change
   *  the image. Recorded in the provenance with the lock (packages by checksum, keys by content);
   *  the provenance's config path and digest are then those of the first file, which reproduce
   *  checks them against. Without it the provenance records only `config`. */
  reproducible?: ReproducibleFacts;
  /** SOURCE_DATE_EPOCH the build ran with, when set (reproduce rebuilds with it). */
  sourceDateEpoch?: string;
  kilnVersion: string;
  /** Scan result (cosign vuln predicate) and OpenVEX document, when the image was scanned. */
  scan?: { vuln: Record<string, unknown>; openvex: Record<string, unknown> };
  startedOn: Date;
  now: Date;
}

/** What was pushed. */
export interface PublishOutcome {
  digest: string;
  repository: string;
  /** Tags now pointing at the digest. */
  tags: string[];
  /** A dated tag that already existed for another digest and was left as it was. */
  keptDatedTag?: string;
  signatures: number;
  attestations: number;
}

/** Port: publishes a built image (the factory's registry side). */
export interface ImagePublisher {
  publish(request: PublishRequest): Promise<PublishOutcome>;
  /** Checks, before a run builds anything, that publishing can sign (throws saying why not). */
  ready?(): Promise<void>;
  /** Attests a new scan result and OpenVEX to an image already published (its digest unchanged). */
  attestScan?(request: AttestScanRequest): Promise<{ attestations: number }>;
}

/** What {@link ImagePublisher.attestScan} attests, and where. */
export interface AttestScanRequest {
  image: string;
  registry: string;
  repository: string;
  digest: string;
  scan: { vuln: Record<string, unknown>; openvex: Record<string, unknown> };
  now: Date;
}

/** A publisher over a registry client, signing with `signer` when given. */
export function registryImagePublisher(client: RegistryClient, signer?: { signer: ImageSigner; format?: SignatureFormat; witnesses?: Witness[]; ready?: () => Promise<void> }): ImagePublisher {
  return {
    ...(signer?.ready ? { ready: signer.ready } : {}),
    async attestScan(request) {
      // Unsigned publishing attaches no attestations; the run still records the new scan.
      if (!signer) return { attestations: 0 };
      const where = `${request.registry}/${request.repository}`;
      const reference = { registry: request.registry, repository: request.repository, digest: request.digest as Digest };
      const common = { client, signer: signer.signer, format: signer.format ?? 'auto', witnesses: signer.witnesses ?? [], now: request.now } as const;
      let attestations = 0;
      for (const [what, type, predicate] of [['scan result', 'vuln', request.scan.vuln], ['OpenVEX document', 'openvex', request.scan.openvex]] as const) {
        try {
          attestations += (await attestImage({ ...common, reference, predicateType: predicateTypeUri(type), predicate })).length;
        } catch (error) {
          throw new FactoryError('FACTORY_PUBLISH_FAILED', `image ${request.image}: attesting the ${what} in ${where}: ${(error as Error).message.split('\n')[0]}`, { cause: error, detail: { image: request.image, repository: where, digest: request.digest, code: (error as { code?: string }).code } });
        }
      }
      return { attestations };
    },
    async publish(request) {
      const repo = { registry: request.registry, repository: request.tags.repository };
      const where = `${request.registry}/${request.tags.repository}`;
      const digest = request.result.index.index.digest;
      const step = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
        try {
          return await action();
        } catch (error) {
          throw new FactoryError('FACTORY_PUBLISH_FAILED', `image ${request.image}: ${what} ${where}: ${(error as Error).message.split('\n')[0]}`, { cause: error, detail: { image: request.image, repository: where, digest, code: (error as { code?: string }).code } });
        }
      };
      const dated = await step('reading the dated tag of', () => client.headManifest({ ...repo, tag: request.tags.dated }));
      const tags = [...request.tags.moving, ...(dated ? [] : [request.tags.dated])];
      await step('pushing to', () => publishIndex(client, request.result.index, tags.map((tag) => ({ ...repo, tag }))));
      const outcome: PublishOutcome = { digest, repository: where, tags: dated && dated.digest === digest ? [...tags, request.tags.dated] : tags, signatures: 0, attestations: 0, ...(dated && dated.digest !== digest ? { keptDatedTag: request.tags.dated } : {}) };
      if (!signer) return outcome;
      const reference = { ...repo, digest: digest as Digest };
      const common = { client, signer: signer.signer, format: signer.format ?? 'auto', witnesses: signer.witnesses ?? [], now: request.now } as const;
      const signed = await step('signing', () => signImage({ ...common, reference, recursive: true }));
      outcome.signatures = signed.length;
      let attested = 0;
      for (const format of ['spdx', 'cyclonedx'] as const) {
        const predicateType = predicateTypeUri(format === 'spdx' ? 'spdxjson' : 'cyclonedx');
        for (const target of publishSbomTargets(request.result, format)) {
          attested += (await step('attesting the SBOM in', () => attestImage({ ...common, reference: { ...repo, digest: target.digest }, predicateType, predicate: target.document }))).length;
        }
      }
      const provenance = factoryProvenance(request, tags.map((tag) => `${where}:${tag}`));
      attested += (await step('attesting the provenance in', () => attestImage({ ...common, reference, recursive: true, predicateType: SLSA_PROVENANCE_V1, predicate: provenance }))).length;
      if (request.scan) {
        attested += (await step('attesting the scan result in', () => attestImage({ ...common, reference, predicateType: predicateTypeUri('vuln'), predicate: request.scan!.vuln }))).length;
        attested += (await step('attesting the OpenVEX document in', () => attestImage({ ...common, reference, predicateType: predicateTypeUri('openvex'), predicate: request.scan!.openvex }))).length;
      }
      outcome.attestations = attested;
      return outcome;
    },
  };
}

/** The SLSA v1 provenance predicate of a factory publish to `tags` (full references). With
 *  `request.reproducible` it is the predicate `kiln image reproduce` plans a rebuild from. */
export function factoryProvenance(request: PublishRequest, tags: readonly string[]): Record<string, unknown> {
  const main = request.reproducible?.configFiles[0] ?? request.config;
  return buildSlsaProvenanceV1(
    publishProvenanceInput(request.result, {
      kilnVersion: request.kilnVersion,
      configPath: main.path,
      configDigest: `sha256:${createHash('sha256').update(main.bytes).digest('hex')}` as Digest,
      ...(request.config.checksum ? { configChecksum: request.config.checksum } : {}),
      tags,
      ...(request.sourceDateEpoch !== undefined ? { sourceDateEpoch: request.sourceDateEpoch } : {}),
      startedOn: request.startedOn,
      finishedOn: request.now,
      ...(request.reproducible ? { reproducible: request.reproducible } : {}),
    }),
  );
}
