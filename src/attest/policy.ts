import type { Digest } from '../lib/index.ts';
import type { ImageReference } from '../oci/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { verifyImage } from '../sign/index.ts';
import { checkVulnerabilityBounds, COSIGN_VULN_PREDICATE_TYPE } from '../vuln/index.ts';
import type { TrustPolicy } from '../sign/index.ts';
import { AttestError } from './errors.ts';
import type { AttestationTime } from './format/attestation-time.ts';
import { checkHardeningResults, HARDENING_CHECKS_PREDICATE_TYPE, newestAttested } from './format/policy.ts';
import type { Policy } from './format/policy.ts';
import { verifyAttestations } from './verify-attestation.ts';

/** One requirement of a policy and whether the image met it. */
export interface PolicyCheck {
  requirement: string;
  passed: boolean;
  detail: string;
}

/** The outcome of {@link evaluatePolicy}. */
export interface PolicyReport {
  image: string;
  digest: Digest;
  passed: boolean;
  checks: PolicyCheck[];
}

/** Options of {@link evaluatePolicy}: the policy plus each authority's loaded trust material. */
export interface EvaluatePolicyOptions {
  client: RegistryClient;
  reference: ImageReference;
  policy: Policy;
  /** Trust material per authority name (keys loaded, trusted roots parsed by the caller). */
  trust: Record<string, TrustPolicy>;
  now: Date;
  signatureRepository?: RepositoryRef;
}

const TIME_SOURCES: Record<AttestationTime['source'], string> = {
  'transparency-log': 'transparency log',
  'timestamp-authority': 'timestamp authority',
  statement: 'signed statement',
  predicate: 'predicate',
};

function describeTime(time: AttestationTime): string {
  return `${time.time.toISOString()} (${TIME_SOURCES[time.source]})`;
}

function message(error: unknown): string {
  return (error as Error).message.replace(/\n\s*/g, '; ');
}

/** Checks every requirement of a policy against an image and reports each; never stops at the
 *  first failure, so the report lists everything that is wrong. */
export async function evaluatePolicy(options: EvaluatePolicyOptions): Promise<PolicyReport> {
  const { client, reference, policy, trust, now } = options;
  const digest = (await client.resolve(reference)).digest;
  const pinned: ImageReference = { registry: reference.registry, repository: reference.repository, digest };
  const repo = options.signatureRepository ? { signatureRepository: options.signatureRepository } : {};
  const checks: PolicyCheck[] = [];
  for (const name of policy.requiredSignatures) {
    const requirement = `signature by ${name}`;
    try {
      const verified = await verifyImage({ client, reference: pinned, policy: trust[name]!, ...repo });
      checks.push({ requirement, passed: true, detail: `${verified.length} valid (${[...new Set(verified.map((s) => s.source))].join(', ')})` });
    } catch (error) {
      checks.push({ requirement, passed: false, detail: message(error) });
    }
  }
  for (const rule of policy.attestations) {
    const requirement = `attestation ${rule.type} by ${rule.authorities.join(' or ')}${rule.maxAge ? ` within ${rule.maxAge}` : ''}`;
    const reasons: string[] = [];
    let satisfied: string | undefined;
    for (const name of rule.authorities) {
      try {
        const verified = await verifyAttestations({ client, reference: pinned, policy: trust[name]!, predicateType: rule.predicateType, ...repo });
        if (rule.maxAgeMs === undefined) {
          satisfied = `${verified.length} valid by ${name}`;
          break;
        }
        // maxAge measures from when the attestation was made (docs/policy.md): a verified log or
        // timestamp-authority time, else the signed statement time, else the predicate's own time.
        // A time more than five minutes ahead of `now` is clock skew or a forgery, never fresh.
        const fresh = verified.map((a) => a.attestedAt).filter((t): t is AttestationTime => t !== undefined && now.getTime() - t.time.getTime() <= rule.maxAgeMs! && t.time.getTime() <= now.getTime() + 5 * 60_000);
        if (fresh.length) {
          const newest = fresh.sort((a, b) => b.time.getTime() - a.time.getTime())[0]!;
          satisfied = `${fresh.length} valid by ${name}, newest attested ${describeTime(newest)}`;
          break;
        }
        const times = verified.map((a) => (a.attestedAt ? describeTime(a.attestedAt) : 'no signed time'));
        reasons.push(`${name}: ${verified.length} valid but none attested within ${rule.maxAge} (${times.join(', ')})`);
      } catch (error) {
        reasons.push(`${name}: ${message(error)}`);
      }
    }
    checks.push({ requirement, passed: satisfied !== undefined, detail: satisfied ?? reasons.join(' | ') });
  }
  if (policy.vulnerabilities) {
    const bounds = policy.vulnerabilities;
    const limits = [
      ...(bounds.maxCritical !== undefined ? [`critical <= ${bounds.maxCritical}`] : []),
      ...(bounds.maxHigh !== undefined ? [`high <= ${bounds.maxHigh}`] : []),
      ...(bounds.maxMedium !== undefined ? [`medium <= ${bounds.maxMedium}`] : []),
      ...(bounds.maxLow !== undefined ? [`low <= ${bounds.maxLow}`] : []),
      ...(bounds.maxTotal !== undefined ? [`total <= ${bounds.maxTotal}`] : []),
      ...(bounds.maxScanAge !== undefined ? [`scanned within ${bounds.maxScanAge}`] : []),
    ];
    const requirement = `vulnerabilities ${limits.join(', ') || 'attested'} by ${bounds.authorities.join(' or ')}`;
    const reasons: string[] = [];
    // The newest scan of every authority together decides: an old attestation with fewer findings,
    // from this authority or another, must not hide a new one.
    const candidates: Array<{ name: string; predicate: unknown; finished: number }> = [];
    for (const name of bounds.authorities) {
      try {
        const verified = await verifyAttestations({ client, reference: pinned, policy: trust[name]!, predicateType: COSIGN_VULN_PREDICATE_TYPE, ...repo });
        if (verified.length === 0) reasons.push(`${name}: no valid vulnerability attestation`);
        for (const attestation of verified) {
          const finished = Date.parse(String((attestation.statement.predicate as { metadata?: { scanFinishedOn?: unknown } } | undefined)?.metadata?.scanFinishedOn ?? '')) || 0;
          candidates.push({ name, predicate: attestation.statement.predicate, finished });
        }
      } catch (error) {
        reasons.push(`${name}: ${message(error)}`);
      }
    }
    const newest = candidates.sort((a, b) => b.finished - a.finished)[0];
    let outcome: { passed: boolean; detail: string } | undefined;
    if (newest) {
      const { maxScanAgeMs, authorities: _authorities, maxScanAge: _maxScanAge, ...counts } = bounds;
      const checked = checkVulnerabilityBounds(newest.predicate, { ...counts, ...(maxScanAgeMs !== undefined ? { maxScanAgeMs } : {}) }, now);
      outcome = { passed: checked.passed, detail: `${newest.name}: ${checked.detail}` };
    }
    checks.push({ requirement, passed: outcome?.passed ?? false, detail: outcome?.detail ?? reasons.join(' | ') });
  }
  if (policy.hardening) {
    const rule = policy.hardening;
    const requirement = `hardening checks ${rule.require === 'all' ? 'all' : rule.require.join(', ')} pass${rule.allowDev ? ' (dev variants allowed)' : ''} by ${rule.authorities.join(' or ')}`;
    // `kiln comply check --attest` attaches each platform's results to that platform's manifest:
    // for an index every platform image must carry a satisfying attestation.
    const targets = await platformImages(client, pinned);
    if (!targets) {
      checks.push({ requirement, ...(await hardeningOutcome(options, pinned, rule)) });
    } else {
      const outcomes = [];
      for (const target of targets) outcomes.push({ target, outcome: await hardeningOutcome(options, { ...pinned, digest: target.digest }, rule) });
      const passed = outcomes.length > 0 && outcomes.every((item) => item.outcome.passed);
      const detail = outcomes.length
        ? outcomes.map((item) => `${item.target.platform} (${item.target.digest}): ${item.outcome.detail}`).join(' | ')
        : `index ${digest} lists no platform image`;
      checks.push({ requirement, passed, detail });
    }
  }
  const image = `${reference.registry}/${reference.repository}@${digest}`;
  return { image, digest, passed: checks.every((check) => check.passed), checks };
}

/** The images of an index, nested indexes followed, leaving out only the entries that say they are
 *  attestation manifests (`vnd.docker.reference.type: attestation-manifest`, as buildx writes
 *  them): an entry without a platform may still be pulled, so it is checked like any other. Undefined
 *  when the digest is a single image. */
async function platformImages(client: RegistryClient, pinned: ImageReference, depth = 0): Promise<Array<{ platform: string; digest: Digest }> | undefined> {
  const pulled = await client.getManifest(pinned);
  const manifests = (pulled.manifest as { manifests?: unknown }).manifests;
  if (!Array.isArray(manifests)) return undefined;
  const out: Array<{ platform: string; digest: Digest }> = [];
  for (const item of manifests as Array<{ digest?: Digest; mediaType?: string; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string; variant?: string } }>) {
    if (!item.digest) continue;
    if (item.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const platform = [item.platform?.os ?? 'unknown', item.platform?.architecture ?? 'unknown', ...(item.platform?.variant ? [item.platform.variant] : [])].join('/');
    const nested = depth < 4 ? await platformImages(client, { ...pinned, digest: item.digest }, depth + 1) : undefined;
    if (nested) out.push(...nested);
    else out.push({ platform, digest: item.digest });
  }
  return out;
}

/** Whether the newest valid hardening-check attestation on one image satisfies the rule. */
async function hardeningOutcome(options: EvaluatePolicyOptions, pinned: ImageReference, rule: NonNullable<Policy['hardening']>): Promise<{ passed: boolean; detail: string }> {
  const { client, trust } = options;
  const repo = options.signatureRepository ? { signatureRepository: options.signatureRepository } : {};
  const reasons: string[] = [];
  const candidates: Array<{ name: string; attestation: Awaited<ReturnType<typeof verifyAttestations>>[number] }> = [];
  for (const name of rule.authorities) {
    try {
      const verified = await verifyAttestations({ client, reference: pinned, policy: trust[name]!, predicateType: HARDENING_CHECKS_PREDICATE_TYPE, ...repo });
      candidates.push(...verified.map((attestation) => ({ name, attestation })));
    } catch (error) {
      reasons.push(`${name}: ${message(error)}`);
    }
  }
  // The newest valid run decides: an old passing attestation must not hide a newer failing one.
  const newest = newestAttested(candidates, (candidate) => candidate.attestation.attestedAt?.time);
  if (!newest) return { passed: false, detail: `no valid hardening-check attestation (${HARDENING_CHECKS_PREDICATE_TYPE}; attach one with kiln comply check --attest): ${reasons.join(' | ')}` };
  const outcome = checkHardeningResults(newest.attestation.statement.predicate, rule);
  const when = newest.attestation.attestedAt ? `, attested ${describeTime(newest.attestation.attestedAt)}` : '';
  return { passed: outcome.passed, detail: `${newest.name}${when}: ${outcome.detail}` };
}

/** Throws POLICY_FAILED listing each failed requirement when the report did not pass. */
export function assertPolicyPassed(report: PolicyReport): void {
  if (report.passed) return;
  const failed = report.checks.filter((check) => !check.passed);
  throw new AttestError('POLICY_FAILED', `${report.image} does not satisfy the policy:\n  ${failed.map((check) => `${check.requirement}: ${check.detail}`).join('\n  ')}`, {
    detail: { digest: report.digest, failed: failed.map((check) => check.requirement) },
  });
}
