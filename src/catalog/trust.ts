import type { KeyObject } from 'node:crypto';
import { SLSA_PROVENANCE_V1, verifyAttestations } from '../attest/index.ts';
import type { VerifiedAttestation } from '../attest/index.ts';
import { HARDENING_CHECKS_PREDICATE } from '../compliance/index.ts';
import { BoundedMap, isKilnError } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { parseImageReference } from '../oci/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { verifyImage } from '../sign/index.ts';
import type { TrustBadge } from './format/model.ts';

/** What Kiln verified of one digest: its signature and each attestation that passed. */
export interface TrustReport {
  signature: TrustBadge;
  /** Attestations whose signature verified against a trusted key, with their statements. */
  attestations: VerifiedAttestation[];
  /** Set when attestations are attached but none verified: why. */
  attestationsRejected?: string;
}

/** Verifies the signatures and attestations of an image digest; the catalog's only source of a
 *  "verified" badge. */
export interface TrustVerifier {
  /** Checks `repository@digest`. `fingerprint` names what is attached (attachment tags and
   *  referrers); a result is reused while it is unchanged. Never throws for a failed check. */
  verify(repository: string, digest: string, fingerprint: string): Promise<TrustReport>;
  /** The result for `fingerprint` when already computed, without checking anything. */
  peek(fingerprint: string): TrustReport | undefined;
}

/** Predicate types the catalog names on its pages. */
export const PREDICATE_LABELS: Readonly<Record<string, string>> = {
  [SLSA_PROVENANCE_V1]: 'SLSA provenance v1',
  'https://slsa.dev/provenance/v0.2': 'SLSA provenance v0.2',
  'https://spdx.dev/Document': 'SPDX SBOM',
  'https://cyclonedx.org/bom': 'CycloneDX SBOM',
  'https://openvex.dev/ns': 'OpenVEX',
  [HARDENING_CHECKS_PREDICATE]: 'Kiln hardening checks',
};

function shortHint(hint: string | undefined): string {
  return hint ? `key ${Buffer.from(hint, 'base64').toString('hex').slice(0, 12)}` : 'keyless identity';
}

/** Options of {@link registryTrustVerifier}. */
export interface RegistryTrustOptions {
  /** Reads the registry the images are in (the catalog's own registry). */
  client: RegistryClient;
  /** `host:port` of that registry, as references name it. */
  registryHost: string;
  /** Public keys the catalog trusts; with none, nothing is ever shown as verified. */
  keys: readonly KeyObject[];
  logger: Logger;
}

/** Trust reports kept in memory at most. */
const TRUST_REPORTS_KEPT = 5000;

/** The trust verifier over Kiln's sign and attest verification, reading the registry over its API
 *  (every byte digest-checked by the client). Results are kept per attachment fingerprint: a memo that
 *  cannot change a result, because the subject and every attachment are content-addressed. */
export function registryTrustVerifier(options: RegistryTrustOptions): TrustVerifier {
  const results = new BoundedMap<string, Promise<TrustReport>>(TRUST_REPORTS_KEPT);
  const done = new BoundedMap<string, TrustReport>(TRUST_REPORTS_KEPT);
  const check = async (repository: string, digest: string): Promise<TrustReport> => {
    const reference = parseImageReference(`${options.registryHost}/${repository}@${digest}`);
    if (options.keys.length === 0) {
      return { signature: { state: 'not-verified', detail: 'no trusted key configured (kiln catalog serve --key)' }, attestations: [] };
    }
    const policy = { keys: options.keys };
    let signature: TrustBadge;
    try {
      const verified = await verifyImage({ client: options.client, reference, policy });
      signature = { state: 'verified', detail: `signed by ${shortHint(verified[0]?.keyHint)}` };
    } catch (error) {
      if (isKilnError(error) && error.code === 'SIGNATURE_NOT_FOUND') signature = { state: 'absent', detail: 'not signed' };
      else if (isKilnError(error) && error.code === 'SIGNATURE_INVALID') signature = { state: 'not-verified', detail: 'signed, but by no key the catalog trusts (or the signature is invalid)' };
      else {
        options.logger.warn({ err: error, repository, digest }, 'signature check failed');
        signature = { state: 'not-verified', detail: `could not check: ${(error as Error).message}` };
      }
    }
    try {
      const attestations = await verifyAttestations({ client: options.client, reference, policy });
      return { signature, attestations };
    } catch (error) {
      if (isKilnError(error) && error.code === 'ATTESTATION_NOT_FOUND') return { signature, attestations: [] };
      const why = isKilnError(error) && error.code === 'ATTESTATION_INVALID' ? 'attestations attached, but none signed by a key the catalog trusts' : `could not check: ${(error as Error).message}`;
      if (!(isKilnError(error) && error.code === 'ATTESTATION_INVALID')) options.logger.warn({ err: error, repository, digest }, 'attestation check failed');
      return { signature, attestations: [], attestationsRejected: why };
    }
  };
  return {
    peek: (fingerprint) => done.get(fingerprint),
    verify: (repository, digest, fingerprint) => {
      let pending = results.get(fingerprint);
      if (!pending) {
        pending = check(repository, digest).then((report) => {
          done.set(fingerprint, report);
          return report;
        });
        results.set(fingerprint, pending);
        // A failure to reach the registry is not remembered: the next request checks again.
        pending.catch(() => results.delete(fingerprint));
      }
      return pending;
    },
  };
}

/** The badge of one predicate type: verified when a verified attestation has it. */
export function attestationBadge(report: TrustReport, predicateType: string, isAttached: boolean): TrustBadge {
  const found = report.attestations.find((attestation) => attestation.predicateType === predicateType || attestation.predicateType.startsWith(predicateType));
  if (found) return { state: 'verified', detail: `attested by ${shortHint(found.keyHint)}` };
  if (report.attestationsRejected) return { state: 'not-verified', detail: report.attestationsRejected };
  return isAttached && report.attestations.length === 0 && report.signature.state !== 'absent' && report.signature.state !== 'verified'
    ? { state: 'not-verified', detail: report.signature.detail }
    : { state: 'absent', detail: 'none attached' };
}
