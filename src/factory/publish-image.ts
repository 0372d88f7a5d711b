// Publishes one built catalog image: the index and its images pushed once, the moving tags set, the
// dated tag set only when absent (dated tags never move), then signatures and attestations (SPDX SBOM
// per image, SLSA provenance, the scan result and OpenVEX) with the factory's key.
import { createHash } from 'node:crypto';
import { attestImage, buildSlsaProvenanceV1, predicateTypeUri, SLSA_PROVENANCE_V1 } from '../attest/index.ts';
import { publishIndex, publishProvenanceInput, publishSbomTargets } from '../image/index.ts';
import type { BuildImageResult } from '../image/index.ts';
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
}

/** A publisher over a registry client, signing with `signer` when given. */
export function registryImagePublisher(client: RegistryClient, signer?: { signer: ImageSigner; format?: SignatureFormat }): ImagePublisher {
  return {
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
      const common = { client, signer: signer.signer, format: signer.format ?? 'auto', now: request.now } as const;
      const signed = await step('signing', () => signImage({ ...common, reference, recursive: true }));
      outcome.signatures = signed.length;
      let attested = 0;
      for (const target of publishSbomTargets(request.result)) {
        attested += (await step('attesting the SBOM in', () => attestImage({ ...common, reference: { ...repo, digest: target.digest }, predicateType: predicateTypeUri('spdxjson'), predicate: target.document }))).length;
      }
      const provenance = buildSlsaProvenanceV1(
        publishProvenanceInput(request.result, {
          kilnVersion: request.kilnVersion,
          configPath: request.config.path,
          configDigest: `sha256:${createHash('sha256').update(request.config.bytes).digest('hex')}` as Digest,
          ...(request.config.checksum ? { configChecksum: request.config.checksum } : {}),
          tags: tags.map((tag) => `${where}:${tag}`),
          startedOn: request.startedOn,
          finishedOn: request.now,
        }),
      );
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
