import type { Digest } from '../../lib/index.ts';

/** An in-toto ResourceDescriptor for SLSA's dependency and byproduct lists. */
export interface SlsaResource {
  uri?: string;
  name?: string;
  digest?: Record<string, string>;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

/** What a builder knows about a build; turned into a SLSA v1 provenance predicate. */
export interface SlsaBuildInput {
  /** URI saying how to read the parameters, e.g. `https://kiln.dev/build/image/v1`. */
  buildType: string;
  /** Everything the user or trigger controlled (config path, ref, arguments). */
  externalParameters: Record<string, unknown>;
  /** Builder-controlled inputs. */
  internalParameters?: Record<string, unknown>;
  /** Sources and packages the build used (git commits, apk packages with digests). */
  resolvedDependencies?: SlsaResource[];
  /** Builder identity: the trusted platform's URI, with component versions. */
  builder: { id: string; version?: Record<string, string>; builderDependencies?: SlsaResource[] };
  invocationId?: string;
  startedOn?: Date;
  finishedOn?: Date;
  /** Outputs that are not the subject (SBOMs, logs). */
  byproducts?: SlsaResource[];
}

/** SLSA provenance v1 predicate type. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Builds a SLSA v1 provenance predicate (https://slsa.dev/spec/v1.0/provenance): pure, optional
 *  fields omitted when absent, times as RFC 3339 UTC without fractions. */
export function buildSlsaProvenanceV1(input: SlsaBuildInput): Record<string, unknown> {
  const metadata: Record<string, string> = {};
  if (input.invocationId) metadata.invocationId = input.invocationId;
  if (input.startedOn) metadata.startedOn = rfc3339(input.startedOn);
  if (input.finishedOn) metadata.finishedOn = rfc3339(input.finishedOn);
  return {
    buildDefinition: {
      buildType: input.buildType,
      externalParameters: input.externalParameters,
      ...(input.internalParameters ? { internalParameters: input.internalParameters } : {}),
      ...(input.resolvedDependencies?.length ? { resolvedDependencies: input.resolvedDependencies } : {}),
    },
    runDetails: {
      builder: {
        id: input.builder.id,
        ...(input.builder.version ? { version: input.builder.version } : {}),
        ...(input.builder.builderDependencies?.length ? { builderDependencies: input.builder.builderDependencies } : {}),
      },
      ...(Object.keys(metadata).length ? { metadata } : {}),
      ...(input.byproducts?.length ? { byproducts: input.byproducts } : {}),
    },
  };
}

/** A ResourceDescriptor for an OCI digest (`sha256:hex` → `{sha256: hex}`). */
export function digestResource(uri: string, digest: Digest, mediaType?: string): SlsaResource {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return { uri, digest: { [algorithm]: hex }, ...(mediaType ? { mediaType } : {}) };
}
