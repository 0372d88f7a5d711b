import { json } from '@sigstore/core';
import type { Digest } from '../../lib/index.ts';
import { SignError } from '../errors.ts';

/** in-toto Statement v1 type URI (v0.1 is accepted on read). */
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
/** Predicate type cosign v3 uses for image signatures stored as bundles. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** An in-toto ResourceDescriptor as used in `subject`. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
  [field: string]: unknown;
}

/** An in-toto Statement. */
export interface Statement {
  _type: string;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: unknown;
}

/** A Statement v1 about one image digest. */
export function buildStatement(name: string, digest: Digest, predicateType: string, predicate: unknown, subjectAnnotations?: Record<string, string>): Statement {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return {
    _type: STATEMENT_V1,
    subject: [{ name, digest: { [algorithm]: hex }, ...(subjectAnnotations && Object.keys(subjectAnnotations).length ? { annotations: subjectAnnotations } : {}) }],
    predicateType,
    predicate,
  };
}

/** Parses statement bytes and checks the `_type`. */
export function parseStatement(bytes: Uint8Array, source: string): Statement {
  let json: Statement;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Statement;
  } catch (error) {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${source}: in-toto statement is not JSON`, { cause: error, detail: { source } });
  }
  if (!json || (json._type !== STATEMENT_V1 && json._type !== STATEMENT_V01) || !Array.isArray(json.subject) || typeof json.predicateType !== 'string') {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${source}: not an in-toto statement (_type ${JSON.stringify(json?._type)})`, { detail: { source } });
  }
  return json;
}

/** True when some subject's digest names `digest` (binding by digest only, as cosign does). */
export function statementCovers(statement: Statement, digest: Digest): boolean {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return statement.subject.some((subject) => subject.digest?.[algorithm] === hex);
}

/** True when two values are equal as JSON documents: object key order ignored (RFC 8785 canonical
 *  form), and compared as serialised, so an `undefined` field equals a missing one. */
export function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown) => json.canonicalize(value === undefined ? null : JSON.parse(JSON.stringify(value)));
  return canonical(a) === canonical(b);
}
