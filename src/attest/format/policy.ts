import { z } from 'zod';
import { loadYamlBounded } from '../../lib/index.ts';
import { AttestError } from '../errors.ts';
import { predicateTypeUri } from './predicate-types.ts';

// The one source of the policy file's shape: parsePolicy validates with it and
// schemas/policy.schema.json is its JSON Schema export (policyJsonSchema; a test keeps the file in
// step). docs/policy.md describes every key.

// A check id of `kiln comply check` (docs/compliance.md). Only the form is checked here: the check
// list belongs to src/compliance, which imports this domain, and an id the attestation lacks fails
// the requirement by name.
const CHECK_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const keyless = z
  .object({
    identity: z.string().optional().meta({ description: "the certificate's identity (subject alternative name: email or URI) must equal this" }),
    identityRegExp: z.string().optional().meta({ description: 'the identity must match this regular expression (JavaScript syntax); used when identity is absent' }),
    issuer: z.string().optional().meta({ description: 'the OIDC issuer in the certificate must equal this' }),
    issuerRegExp: z.string().optional().meta({ description: 'the issuer must match this regular expression; used when issuer is absent' }),
    trustedRoot: z.string().meta({ description: 'Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys, TSAs); a path relative to the policy file' }),
    ignoreTlog: z.boolean().optional().meta({ description: 'do not require a transparency-log entry (default false: one is required)' }),
    ignoreSct: z.boolean().optional().meta({ description: 'do not require a certificate transparency SCT (default false: one is required)' }),
  })
  .strict()
  .meta({
    description: 'keyless (Fulcio certificate) signer: an identity and an issuer, each given exactly or as a regular expression, under a trusted root',
    allOf: [{ anyOf: [{ required: ['identity'] }, { required: ['identityRegExp'] }] }, { anyOf: [{ required: ['issuer'] }, { required: ['issuerRegExp'] }] }],
  });

const authority = z
  .object({
    key: z.string().optional().meta({ description: 'PEM public key file (cosign.pub); a path relative to the policy file' }),
    keyless: keyless.optional(),
  })
  .strict()
  .refine((value) => (value.key === undefined) !== (value.keyless === undefined), { message: 'an authority has exactly one of key or keyless' })
  .meta({ description: 'who may sign: exactly one of key or keyless', oneOf: [{ required: ['key'] }, { required: ['keyless'] }] });

const policySchema = z
  .object({
    apiVersion: z.literal('kiln.dev/v1').optional().meta({ description: 'policy format version; only kiln.dev/v1 exists' }),
    authorities: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), authority)
      .meta({ description: 'named signers (letters, digits, _ . -); the rules below refer to them by name; at least one' }),
    signatures: z
      .object({ required: z.array(z.string()).default([]).meta({ description: 'authorities that must each have signed the image (cosign signature: .sig tag or bundle referrer)' }) })
      .strict()
      .optional()
      .meta({ description: 'image signature requirements' }),
    attestations: z
      .array(
        z
          .object({
            type: z.string().meta({ description: 'predicate type: a cosign name (slsaprovenance1, slsaprovenance, spdxjson, cyclonedx, openvex, vuln, link, custom) or a predicate type URI' }),
            authorities: z.array(z.string()).optional().meta({ description: 'authorities any one of which must have signed a matching attestation (default: every authority defined)' }),
            maxAge: z
              .string()
              .regex(/^(\d+[smhdw])+$/, 'a duration like 30d, 720h or 1w2d (units s, m, h, d, w)')
              .optional()
              .meta({ description: 'the newest valid attestation must have been made within this long before the check, e.g. 30d, 720h, 1w2d; measured from the attestation time (docs/policy.md)' }),
          })
          .strict()
          .meta({ description: 'one required attestation type' }),
      )
      .optional()
      .meta({ description: 'attestations the image must carry' }),
    vulnerabilities: z
      .object({
        authorities: z.array(z.string()).optional().meta({ description: 'authorities any one of which must have signed the vulnerability attestation (default: every authority defined)' }),
        maxCritical: z.number().int().min(0).optional().meta({ description: 'most critical vulnerabilities allowed' }),
        maxHigh: z.number().int().min(0).optional().meta({ description: 'most high vulnerabilities allowed' }),
        maxMedium: z.number().int().min(0).optional().meta({ description: 'most medium vulnerabilities allowed' }),
        maxLow: z.number().int().min(0).optional().meta({ description: 'most low vulnerabilities allowed' }),
        maxTotal: z.number().int().min(0).optional().meta({ description: 'most vulnerabilities of any severity allowed (0: zero known CVEs)' }),
        maxScanAge: z
          .string()
          .regex(/^(\d+[smhdw])+$/, 'a duration like 30d, 720h or 1w2d (units s, m, h, d, w)')
          .optional()
          .meta({ description: 'the scan (metadata.scanFinishedOn of the newest valid attestation) must be at most this old, e.g. 1d' }),
      })
      .strict()
      .optional()
      .meta({ description: 'CVE bounds checked against the newest valid cosign vulnerability attestation (kiln scan --format cosign-vuln, attached with kiln attest --type vuln)' }),
    hardening: z
      .object({
        require: z
          .union([
            z.literal('all'),
            z
              .array(z.string().regex(CHECK_ID, 'a check id like non-root-user (docs/compliance.md lists them)'))
              .min(1)
              .meta({ description: 'these checks must pass (or be not-applicable)' }),
          ])
          .meta({ description: 'all: every check in the attestation must pass or be not-applicable; or a list of check ids that must' }),
        allowDev: z.boolean().optional().meta({ description: 'in a dev variant, a check that is `allowed` (a shell, package manager, compiler) meets the requirement (default false)' }),
        authorities: z.array(z.string()).optional().meta({ description: 'authorities any one of which must have signed the hardening-check attestation (default: every authority defined)' }),
      })
      .strict()
      .optional()
      .meta({ description: 'hardening checks that must pass, read from the newest valid hardening-check attestation (kiln comply check --attest; predicate type https://kiln.dev/attestations/hardening-checks/v1)' }),
  })
  .strict()
  .meta({ title: 'Kiln supply-chain policy', description: 'policy file of `kiln policy verify` (YAML or JSON): who must have signed an image and which attestations it must carry' });

/** JSON Schema (draft 2020-12) of the policy file, for editors and CI validation. */
export function policyJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(policySchema, { io: 'input' }), $id: 'https://kiln.dev/schemas/policy.schema.json' };
}

/** A keyless authority: who must have signed, under which trusted root. */
export interface KeylessAuthority {
  identity: string | RegExp;
  issuer: string | RegExp;
  /** Path of the trusted root JSON, relative to the policy file. */
  trustedRoot: string;
  ignoreTlog: boolean;
  ignoreSct: boolean;
}

/** A parsed, checked policy: which authorities must sign, which attestations must exist and how old they may be. */
export interface Policy {
  authorities: Record<string, { key?: string; keyless?: KeylessAuthority }>;
  requiredSignatures: string[];
  attestations: { predicateType: string; type: string; authorities: string[]; maxAgeMs?: number; maxAge?: string }[];
  /** CVE bounds over the newest valid vuln attestation, when the policy sets any. */
  vulnerabilities?: { authorities: string[]; maxCritical?: number; maxHigh?: number; maxMedium?: number; maxLow?: number; maxTotal?: number; maxScanAge?: string; maxScanAgeMs?: number };
  /** Hardening checks that must pass, over the newest valid hardening-check attestation. */
  hardening?: HardeningRule;
}

/** A policy's `hardening` section: which checks of `kiln comply check` must pass, attested by whom. */
interface HardeningRule {
  authorities: string[];
  /** `all` checks of the attestation, or these ids. */
  require: 'all' | string[];
  /** A dev variant's `allowed` result meets the requirement. */
  allowDev: boolean;
}

/** Predicate type of `kiln comply check --attest`'s results (src/compliance/attest-results.ts
 *  defines the same value and a test keeps the two equal: compliance imports this domain, so this
 *  domain cannot import it). */
export const HARDENING_CHECKS_PREDICATE_TYPE = 'https://kiln.dev/attestations/hardening-checks/v1';

/** The item attested last, by the time a policy's maxAge measures (docs/policy.md); one with no
 *  time counts as oldest, and of equal times the first given wins. Undefined for none. */
export function newestAttested<T>(items: readonly T[], attestedAt: (item: T) => Date | undefined): T | undefined {
  let newest: T | undefined;
  const time = (item: T) => attestedAt(item)?.getTime() ?? Number.NEGATIVE_INFINITY;
  for (const item of items) if (newest === undefined || time(item) > time(newest)) newest = item;
  return newest;
}

/** Whether one hardening-check predicate (`{image, checks, counts, isBlocking}`) meets a rule, and
 *  why. A required check must be `pass` or `not-applicable` (or `allowed`, with allowDev, in a dev
 *  variant); `not-run` and `fail` never meet it, and a named check the predicate lacks fails. */
export function checkHardeningResults(predicate: unknown, rule: Pick<HardeningRule, 'require' | 'allowDev'>): { passed: boolean; detail: string } {
  const value = (predicate ?? {}) as { image?: { variant?: { kind?: unknown } }; checks?: unknown };
  if (!Array.isArray(value.checks)) return { passed: false, detail: 'the attestation has no checks list' };
  const statuses = new Map<string, string>();
  for (const check of value.checks as Array<{ id?: unknown; status?: unknown }>) {
    if (typeof check?.id === 'string') statuses.set(check.id, typeof check.status === 'string' ? check.status : 'unknown');
  }
  const isDevAllowed = rule.allowDev && value.image?.variant?.kind === 'dev';
  const meets = (status: string) => status === 'pass' || status === 'not-applicable' || (isDevAllowed && status === 'allowed');
  const required = rule.require === 'all' ? [...statuses.keys()] : rule.require;
  if (!required.length) return { passed: false, detail: 'the attestation lists no checks' };
  const unmet = required.filter((id) => !meets(statuses.get(id) ?? 'missing')).map((id) => `${id} ${statuses.has(id) ? statuses.get(id)! : 'not in the attestation'}`);
  if (unmet.length) return { passed: false, detail: `${unmet.length} of ${required.length} required checks unmet: ${unmet.join(', ')}` };
  const counts = (status: string) => required.filter((id) => statuses.get(id) === status).length;
  const parts = [`${counts('pass')} pass`, ...(counts('not-applicable') ? [`${counts('not-applicable')} not-applicable`] : []), ...(counts('allowed') ? [`${counts('allowed')} allowed (dev variant)`] : [])];
  return { passed: true, detail: `${required.length} required checks met: ${parts.join(', ')}` };
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `30d`, `720h`, `1w2d`, `90m` into milliseconds. */
export function parseDuration(text: string, source: string): number {
  const parts = [...text.matchAll(/(\d+)([smhdw])/g)];
  if (!parts.length || parts.map((part) => part[0]).join('') !== text) {
    throw new AttestError('POLICY_INVALID', `${source}: duration ${JSON.stringify(text)} is not like 30d, 720h or 1w2d`, { detail: { source } });
  }
  return parts.reduce((total, part) => total + Number(part[1]) * UNIT_MS[part[2]!]!, 0);
}

function regexpOf(value: string, source: string, field: string): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new AttestError('POLICY_INVALID', `${source}: ${field} is not a valid regular expression`, { cause: error, detail: { source } });
  }
}

/** Parses a policy document (YAML or JSON) and checks every cross-reference. */
export function parsePolicy(text: string, source: string): Policy {
  let raw: unknown;
  try {
    raw = loadYamlBounded(text, source);
  } catch (error) {
    // The bounded loader's message already names the file, line and what is wrong.
    throw new AttestError('POLICY_INVALID', (error as Error).message, { cause: error, detail: { source } });
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ');
    throw new AttestError('POLICY_INVALID', `${source}: ${issues}`, { detail: { source } });
  }
  const value = parsed.data;
  const authorities: Policy['authorities'] = {};
  for (const [name, entry] of Object.entries(value.authorities)) {
    if (entry.key !== undefined) {
      authorities[name] = { key: entry.key };
      continue;
    }
    const k = entry.keyless!;
    const identity = k.identity ?? (k.identityRegExp !== undefined ? regexpOf(k.identityRegExp, source, `authorities.${name}.keyless.identityRegExp`) : undefined);
    const issuer = k.issuer ?? (k.issuerRegExp !== undefined ? regexpOf(k.issuerRegExp, source, `authorities.${name}.keyless.issuerRegExp`) : undefined);
    if (identity === undefined || issuer === undefined) {
      throw new AttestError('POLICY_INVALID', `${source}: authorities.${name}.keyless needs identity (or identityRegExp) and issuer (or issuerRegExp)`, { detail: { source } });
    }
    authorities[name] = { keyless: { identity, issuer, trustedRoot: k.trustedRoot, ignoreTlog: k.ignoreTlog ?? false, ignoreSct: k.ignoreSct ?? false } };
  }
  const known = (name: string, where: string) => {
    if (!authorities[name]) throw new AttestError('POLICY_INVALID', `${source}: ${where} names authority ${JSON.stringify(name)}, which is not defined`, { detail: { source } });
    return name;
  };
  const requiredSignatures = (value.signatures?.required ?? []).map((name) => known(name, 'signatures.required'));
  const attestations = (value.attestations ?? []).map((entry, index) => {
    let predicateType: string;
    try {
      predicateType = predicateTypeUri(entry.type);
    } catch (error) {
      throw new AttestError('POLICY_INVALID', `${source}: attestations[${index}].type: ${(error as Error).message}`, { cause: error, detail: { source } });
    }
    return {
      predicateType,
      type: entry.type,
      authorities: (entry.authorities ?? Object.keys(authorities)).map((name) => known(name, `attestations[${index}].authorities`)),
      ...(entry.maxAge !== undefined ? { maxAge: entry.maxAge, maxAgeMs: parseDuration(entry.maxAge, `${source}: attestations[${index}].maxAge`) } : {}),
    };
  });
  const bounds = value.vulnerabilities;
  const vulnerabilities = bounds
    ? {
        authorities: (bounds.authorities ?? Object.keys(authorities)).map((name) => known(name, 'vulnerabilities.authorities')),
        ...(bounds.maxCritical !== undefined ? { maxCritical: bounds.maxCritical } : {}),
        ...(bounds.maxHigh !== undefined ? { maxHigh: bounds.maxHigh } : {}),
        ...(bounds.maxMedium !== undefined ? { maxMedium: bounds.maxMedium } : {}),
        ...(bounds.maxLow !== undefined ? { maxLow: bounds.maxLow } : {}),
        ...(bounds.maxTotal !== undefined ? { maxTotal: bounds.maxTotal } : {}),
        ...(bounds.maxScanAge !== undefined ? { maxScanAge: bounds.maxScanAge, maxScanAgeMs: parseDuration(bounds.maxScanAge, `${source}: vulnerabilities.maxScanAge`) } : {}),
      }
    : undefined;
  const hardening = value.hardening
    ? {
        authorities: (value.hardening.authorities ?? Object.keys(authorities)).map((name) => known(name, 'hardening.authorities')),
        require: value.hardening.require === 'all' ? ('all' as const) : [...new Set(value.hardening.require)],
        allowDev: value.hardening.allowDev ?? false,
      }
    : undefined;
  if (!Object.keys(authorities).length) throw new AttestError('POLICY_INVALID', `${source}: authorities is empty`, { detail: { source } });
  if (!requiredSignatures.length && !attestations.length && !vulnerabilities && !hardening) throw new AttestError('POLICY_INVALID', `${source}: requires nothing (no signatures.required, attestations, vulnerabilities or hardening)`, { detail: { source } });
  return { authorities, requiredSignatures, attestations, ...(vulnerabilities ? { vulnerabilities } : {}), ...(hardening ? { hardening } : {}) };
}
