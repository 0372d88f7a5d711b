import { attestImage } from '../attest/index.ts';
import type { AttestedManifest } from '../attest/index.ts';
import type { Digest } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import type { ImageSigner } from '../sign/index.ts';
import { ComplianceError } from './errors.ts';
import type { ImageCheckReport } from './format/check-model.ts';
import { assessmentResults } from './format/oscal.ts';

// Attaches the check results of images read from a registry to those images as signed in-toto
// attestations (cosign-compatible: `.att` tag and/or Sigstore bundle referrer): one with Kiln's
// hardening-check predicate, one with the OSCAL assessment-results of the same run.

/** Predicate type of the hardening-check results: `{image, checks, counts, isBlocking}` of one image
 *  (docs/compliance.md). */
export const HARDENING_CHECKS_PREDICATE = 'https://kiln.dev/attestations/hardening-checks/v1';
/** Predicate type of an OSCAL assessment-results document about one image. */
export const OSCAL_ASSESSMENT_RESULTS_PREDICATE = 'https://kiln.dev/attestations/oscal-assessment-results/v1';

/** What {@link attestCheckResults} needs. */
export interface AttestResultsOptions {
  client: RegistryClient;
  reports: readonly ImageCheckReport[];
  signer: ImageSigner;
  run: { start: string; end: string; toolVersion: string };
  format?: Parameters<typeof attestImage>[0]['format'];
  witnesses?: Parameters<typeof attestImage>[0]['witnesses'];
}

/** Attests each image's results to its manifest digest. COMPLY_ATTEST_UNSUPPORTED unless every
 *  report is of an image read from a registry. */
export async function attestCheckResults(options: AttestResultsOptions): Promise<AttestedManifest[]> {
  const out: AttestedManifest[] = [];
  for (const report of options.reports) {
    const repository = report.image.repository;
    if (!repository || !report.image.manifestDigest) {
      throw new ComplianceError('COMPLY_ATTEST_UNSUPPORTED', `${report.image.name}: results can only be attested to an image read from a registry (give a registry reference, not a file)`, { detail: { image: report.image.name } });
    }
    const slash = repository.indexOf('/');
    const reference = { registry: repository.slice(0, slash), repository: repository.slice(slash + 1), digest: report.image.manifestDigest as Digest };
    const common = { client: options.client, reference, signer: options.signer, ...(options.format ? { format: options.format } : {}), ...(options.witnesses ? { witnesses: options.witnesses } : {}) };
    out.push(...await attestImage({ ...common, predicateType: HARDENING_CHECKS_PREDICATE, predicate: { image: report.image, checks: report.checks, counts: report.counts, isBlocking: report.isBlocking } }));
    const results = assessmentResults({ reports: [report], ...options.run, files: { componentDefinition: 'component-definition.json', assessmentResults: 'assessment-results.json', poam: 'poam.json' } });
    out.push(...await attestImage({ ...common, predicateType: OSCAL_ASSESSMENT_RESULTS_PREDICATE, predicate: results }));
  }
  return out;
}
