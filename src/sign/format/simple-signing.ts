import type { Digest } from '../../lib/index.ts';
import { isDigest } from '../../lib/index.ts';
import { SignError } from '../errors.ts';

/** Media type of cosign's signed payload layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The only accepted `critical.type`. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/** What a simple-signing payload says. */
export interface SimpleSigningPayload {
  dockerReference: string;
  dockerManifestDigest: Digest;
  /** `optional`: annotations given at signing (`-a k=v`), or null. */
  optional: Record<string, unknown> | null;
}

/** The payload cosign signs for an image digest, lower-case keys, compact JSON. */
export function buildSimpleSigningPayload(dockerReference: string, digest: Digest, annotations?: Record<string, string>): Uint8Array {
  const payload = {
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: SIMPLE_SIGNING_TYPE },
    optional: annotations && Object.keys(annotations).length ? annotations : null,
  };
  return new TextEncoder().encode(JSON.stringify(payload));
}

function field(object: unknown, name: string): unknown {
  if (!object || typeof object !== 'object') return undefined;
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : (object as Record<string, unknown>)[key];
}

/** Parses payload bytes with Go's case-insensitive key matching (older cosign wrote `Critical`). */
export function parseSimpleSigningPayload(bytes: Uint8Array, source: string): SimpleSigningPayload {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${source}: payload is not JSON`, { cause: error, detail: { source } });
  }
  const critical = field(json, 'critical');
  const type = field(critical, 'type');
  if (type !== SIMPLE_SIGNING_TYPE) {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${source}: critical.type is ${JSON.stringify(type)}, expected ${JSON.stringify(SIMPLE_SIGNING_TYPE)}`, { detail: { source } });
  }
  const digest = field(field(critical, 'image'), 'docker-manifest-digest');
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${source}: critical.image.docker-manifest-digest is missing or malformed`, { detail: { source } });
  }
  const reference = field(field(critical, 'identity'), 'docker-reference');
  const optional = field(json, 'optional');
  return {
    dockerReference: typeof reference === 'string' ? reference : '',
    dockerManifestDigest: digest,
    optional: optional && typeof optional === 'object' ? (optional as Record<string, unknown>) : null,
  };
}
