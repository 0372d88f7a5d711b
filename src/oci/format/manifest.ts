import { algorithmOf, isDigest } from '../../lib/index.ts';
import type { Digest, DigestAlgorithm } from '../../lib/index.ts';
import { OciError } from '../errors.ts';
import type { ImageIndex, ImageManifest } from './image.ts';
import { MANIFEST_MEDIA_TYPES, isIndexMediaType, isNonDistributableLayer } from './media-types.ts';

// Validation of manifest and index documents received from outside (a push, an upstream registry):
// the one parser the registry and the pull-through cache use.

/** The digest algorithms the OCI image spec registers for descriptors. */
export const REGISTERED_DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

/** A valid digest (lib's grammar and lengths) of a registered algorithm. */
export function isRegisteredDigest(value: string): value is Digest {
  return isDigest(value) && REGISTERED_DIGEST_ALGORITHMS.includes(algorithmOf(value));
}

/** What a registry needs to know about a manifest: the blobs and child manifests it refers to. */
export interface ParsedManifest {
  mediaType: string;
  blobs: Digest[];
  children: Digest[];
  subject?: Digest;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Why a manifest was rejected (code OCI_MANIFEST_INVALID): `field` names the JSON path at fault. */
export class ManifestProblem extends OciError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('OCI_MANIFEST_INVALID', message, { detail: { field } });
    this.field = field;
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function descriptor(value: unknown, field: string): { mediaType: string; digest: Digest; size: number } {
  if (!isObject(value)) throw new ManifestProblem(field, `${field} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) throw new ManifestProblem(`${field}.mediaType`, `${field}.mediaType must be a media type string`);
  if (typeof digest !== 'string' || !isRegisteredDigest(digest)) throw new ManifestProblem(`${field}.digest`, `${field}.digest is not a supported digest: ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ManifestProblem(`${field}.size`, `${field}.size must be a non-negative integer`);
  if (value.annotations !== undefined) stringMap(value.annotations, `${field}.annotations`);
  return { mediaType, digest, size };
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((item) => typeof item === 'string')) throw new ManifestProblem(field, `${field} must map strings to strings`);
  return value as Record<string, string>;
}

/** Validates manifest bytes pushed with `contentType` (parameters already stripped): JSON, schema
 *  version 2, a supported media type agreeing with the body, the right shape for its kind (no
 *  "type confusion" between image manifests and indexes), descriptors with supported digests. Unknown
 *  fields, `data`, `artifactType`, `subject` and non-distributable layers are accepted. Throws
 *  ManifestProblem. */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  return validate(bytes, contentType).parsed;
}

/** A manifest or index document validated as parseManifest validates it, typed by its kind. */
export type ManifestDocument = { mediaType: string; index: ImageIndex; manifest?: undefined } | { mediaType: string; manifest: ImageManifest; index?: undefined };

/** Validates a manifest or index read from outside (a layout, an archive, a registry) and returns
 *  the document itself, typed. With `contentTypeIsFallback`, a media type the document declares wins
 *  over `contentType` (a pulling client's lenience towards registries' headers). Throws ManifestProblem. */
export function readManifestDocument(bytes: Uint8Array, contentType: string | undefined, contentTypeIsFallback = false): ManifestDocument {
  const { parsed, body } = validate(bytes, contentType, contentTypeIsFallback);
  return isIndexMediaType(parsed.mediaType) ? { mediaType: parsed.mediaType, index: body as unknown as ImageIndex } : { mediaType: parsed.mediaType, manifest: body as unknown as ImageManifest };
}

function validate(bytes: Uint8Array, contentType: string | undefined, contentTypeIsFallback = false): { parsed: ParsedManifest; body: Json } {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new ManifestProblem('$', `manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(body)) throw new ManifestProblem('$', 'manifest must be a JSON object');
  if (body.schemaVersion !== 2) throw new ManifestProblem('schemaVersion', `schemaVersion must be 2, got ${JSON.stringify(body.schemaVersion)}`);
  const declared = body.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw new ManifestProblem('mediaType', 'mediaType must be a string');
  const mediaType = (declared as string | undefined) ?? contentType;
  if (!mediaType || !MANIFEST_MEDIA_TYPES.has(mediaType)) throw new ManifestProblem('mediaType', `unsupported manifest media type ${JSON.stringify(mediaType ?? null)}`);
  if (declared !== undefined && contentType !== undefined && contentType !== declared && !contentTypeIsFallback) {
    throw new ManifestProblem('mediaType', `Content-Type ${contentType} does not match the manifest's mediaType ${declared}`);
  }
  const parsed: ParsedManifest = { mediaType, blobs: [], children: [] };
  if (isIndexMediaType(mediaType)) {
    if (body.config !== undefined || body.layers !== undefined) throw new ManifestProblem('config', 'an index must not have config or layers');
    if (!Array.isArray(body.manifests)) throw new ManifestProblem('manifests', 'an index must have a manifests array');
    body.manifests.forEach((item, i) => {
      const child = descriptor(item, `manifests[${i}]`);
      // Children are manifests; descriptors of other kinds (rare) are required as blobs.
      if (MANIFEST_MEDIA_TYPES.has(child.mediaType)) parsed.children.push(child.digest);
      else parsed.blobs.push(child.digest);
    });
  } else {
    if (body.manifests !== undefined) throw new ManifestProblem('manifests', 'an image manifest must not have manifests');
    const config = descriptor(body.config, 'config');
    parsed.blobs.push(config.digest);
    if (!Array.isArray(body.layers)) throw new ManifestProblem('layers', 'an image manifest must have a layers array');
    body.layers.forEach((item, i) => {
      const layer = descriptor(item, `layers[${i}]`);
      if (!isNonDistributableLayer(layer.mediaType)) parsed.blobs.push(layer.digest);
    });
    if (typeof body.artifactType !== 'string') parsed.artifactType = config.mediaType;
  }
  if (body.artifactType !== undefined) {
    if (typeof body.artifactType !== 'string') throw new ManifestProblem('artifactType', 'artifactType must be a string');
    parsed.artifactType = body.artifactType;
  }
  if (body.subject !== undefined) parsed.subject = descriptor(body.subject, 'subject').digest;
  if (body.annotations !== undefined) parsed.annotations = stringMap(body.annotations, 'annotations');
  return { parsed, body };
}
