import { AttestError } from '../errors.ts';

/** cosign's `--type` names and the predicate type URIs they stand for. */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  openvex: 'https://openvex.dev/ns',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  link: 'https://in-toto.io/Link/v1',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};

/** Resolves a `--type` value (cosign name or URI) to the predicate type URI. */
export function predicateTypeUri(type: string): string {
  const known = PREDICATE_TYPES[type.toLowerCase()];
  if (known) return known;
  if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(type)) return type;
  throw new AttestError('PREDICATE_TYPE_UNKNOWN', `--type ${JSON.stringify(type)}: use one of ${Object.keys(PREDICATE_TYPES).join(', ')} or a URI`, { detail: { type } });
}

/** True when an attestation's predicate type satisfies a requested one; OpenVEX documents may
 *  carry the versioned context URI. */
export function predicateTypeMatches(actual: string, wanted: string): boolean {
  if (actual === wanted) return true;
  if (wanted === 'https://openvex.dev/ns') return actual.startsWith('https://openvex.dev/ns');
  return false;
}
