import { sameJson } from '../../sign/index.ts';
import { parseJsonBounded } from '../../lib/index.ts';
import { AttestError } from '../errors.ts';

function fail(source: string, why: string): never {
  throw new AttestError('PREDICATE_INVALID', `${source}: ${why}`, { detail: { source } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses predicate file bytes and checks the minimum each well-known type requires, so a wrong
 *  file is caught before it is signed. `custom` wraps non-JSON text as cosign does. */
export function parsePredicate(bytes: Uint8Array, predicateType: string, source: string, now: Date): unknown {
  const text = new TextDecoder().decode(bytes);
  if (predicateType === 'https://cosign.sigstore.dev/attestation/v1') {
    return { Data: text, Timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }
  let json: unknown;
  try {
    // SBOMs can be large: the size bound is the one for attestation payloads, depth the usual one.
    json = parseJsonBounded(text, source, { maxBytes: 256 * 1024 * 1024 });
  } catch (error) {
    throw new AttestError('PREDICATE_INVALID', (error as Error).message, { cause: error, detail: { source } });
  }
  if (!isObject(json)) fail(source, 'predicate must be a JSON object');
  validatePredicate(json, predicateType, source);
  return json;
}

/** Type-specific checks (SLSA v1, SPDX 2.x, CycloneDX, OpenVEX); other types only need an object. */
export function validatePredicate(json: Record<string, unknown>, predicateType: string, source: string): void {
  switch (predicateType) {
    case 'https://slsa.dev/provenance/v1': {
      const definition = json.buildDefinition;
      const run = json.runDetails;
      if (!isObject(definition) || typeof definition.buildType !== 'string') fail(source, 'SLSA v1 provenance needs buildDefinition.buildType');
      if (!isObject(definition.externalParameters)) fail(source, 'SLSA v1 provenance needs buildDefinition.externalParameters (an object)');
      if (!isObject(run) || !isObject(run.builder) || typeof run.builder.id !== 'string') fail(source, 'SLSA v1 provenance needs runDetails.builder.id');
      return;
    }
    case 'https://slsa.dev/provenance/v0.2':
      if (!isObject(json.builder) || typeof json.builder.id !== 'string' || typeof json.buildType !== 'string') fail(source, 'SLSA v0.2 provenance needs builder.id and buildType');
      return;
    case 'https://spdx.dev/Document':
      if (typeof json.spdxVersion !== 'string' || !json.spdxVersion.startsWith('SPDX-')) fail(source, 'SPDX document needs spdxVersion "SPDX-2.x"');
      if (json.SPDXID !== 'SPDXRef-DOCUMENT') fail(source, 'SPDX document needs SPDXID "SPDXRef-DOCUMENT"');
      if (!isObject(json.creationInfo) || typeof json.creationInfo.created !== 'string') fail(source, 'SPDX document needs creationInfo.created');
      return;
    case 'https://cyclonedx.org/bom':
      if (json.bomFormat !== 'CycloneDX' || typeof json.specVersion !== 'string') fail(source, 'CycloneDX BOM needs bomFormat "CycloneDX" and specVersion');
      return;
    case 'https://openvex.dev/ns':
      if (typeof json['@context'] !== 'string' || !json['@context'].startsWith('https://openvex.dev/ns')) fail(source, 'OpenVEX document needs @context https://openvex.dev/ns/v0.2.0');
      if (typeof json['@id'] !== 'string' || typeof json.author !== 'string' || typeof json.timestamp !== 'string' || !Array.isArray(json.statements)) {
        fail(source, 'OpenVEX document needs @id, author, timestamp and statements');
      }
      return;
    default:
      return;
  }
}

/** The time a predicate says it was produced (signed content only), for policy age checks. */
export function predicateTime(predicateType: string, predicate: unknown): Date | undefined {
  if (!isObject(predicate)) return undefined;
  let value: unknown;
  if (predicateType === 'https://slsa.dev/provenance/v1') {
    const metadata = isObject(predicate.runDetails) && isObject(predicate.runDetails.metadata) ? predicate.runDetails.metadata : {};
    value = metadata.finishedOn ?? metadata.startedOn;
  } else if (predicateType === 'https://slsa.dev/provenance/v0.2') {
    const metadata = isObject(predicate.metadata) ? predicate.metadata : {};
    value = metadata.buildFinishedOn ?? metadata.buildStartedOn;
  } else if (predicateType === 'https://spdx.dev/Document') {
    value = isObject(predicate.creationInfo) ? predicate.creationInfo.created : undefined;
  } else if (predicateType === 'https://cyclonedx.org/bom') {
    value = isObject(predicate.metadata) ? predicate.metadata.timestamp : undefined;
  } else if (predicateType.startsWith('https://openvex.dev/ns')) {
    value = predicate.last_updated ?? predicate.timestamp;
  } else {
    value = predicate.Timestamp ?? predicate.timestamp;
  }
  if (typeof value !== 'string') return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** Predicate fields that record only when or in which run a predicate was produced, not what it
 *  says: attesting a predicate that differs from an existing one only there makes no new attestation. */
function withoutRunFields(predicateType: string, predicate: unknown): unknown {
  if (!isObject(predicate)) return predicate;
  if (predicateType === 'https://cosign.sigstore.dev/attestation/v1') {
    // cosign's custom predicate: `Timestamp` is the attest time cosign (and Kiln) writes.
    const { Timestamp: _time, ...rest } = predicate;
    return rest;
  }
  if (predicateType === 'https://slsa.dev/provenance/v1' && isObject(predicate.runDetails)) {
    const { metadata: _metadata, ...runDetails } = predicate.runDetails;
    return { ...predicate, runDetails };
  }
  if (predicateType === 'https://slsa.dev/provenance/v0.2' && isObject(predicate.metadata)) {
    const { buildInvocationId: _id, buildStartedOn: _start, buildFinishedOn: _finish, ...metadata } = predicate.metadata;
    return { ...predicate, metadata };
  }
  return predicate;
}

/** True when two predicates of `predicateType` state the same thing, so the second is no new
 *  attestation: equal as JSON apart from the fields that only record the run (cosign's custom
 *  `Timestamp`; SLSA v1 `runDetails.metadata`; SLSA v0.2 `metadata.buildInvocationId`,
 *  `buildStartedOn`, `buildFinishedOn`). A rebuild of the same digest from the same definition by the
 *  same builder is the same provenance; a different SBOM, VEX or definition is not. */
export function samePredicate(predicateType: string, a: unknown, b: unknown): boolean {
  return sameJson(withoutRunFields(predicateType, a), withoutRunFields(predicateType, b));
}
