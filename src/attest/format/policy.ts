import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AttestError } from '../errors.ts';
import { predicateTypeUri } from './predicate-types.ts';

const keyless = z
  .object({
    identity: z.string().optional(),
    identityRegExp: z.string().optional(),
    issuer: z.string().optional(),
    issuerRegExp: z.string().optional(),
    trustedRoot: z.string(),
    ignoreTlog: z.boolean().optional(),
    ignoreSct: z.boolean().optional(),
  })
  .strict();

const authority = z
  .object({ key: z.string().optional(), keyless: keyless.optional() })
  .strict()
  .refine((value) => (value.key === undefined) !== (value.keyless === undefined), { message: 'an authority has exactly one of key or keyless' });

const policySchema = z
  .object({
    apiVersion: z.literal('kiln.dev/v1').optional(),
    authorities: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), authority),
    signatures: z.object({ required: z.array(z.string()).default([]) }).strict().optional(),
    attestations: z
      .array(
        z
          .object({
            type: z.string(),
            authorities: z.array(z.string()).optional(),
            maxAge: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

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
    raw = parseYaml(text);
  } catch (error) {
    throw new AttestError('POLICY_INVALID', `${source}: not YAML/JSON (${(error as Error).message})`, { cause: error, detail: { source } });
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
  if (!Object.keys(authorities).length) throw new AttestError('POLICY_INVALID', `${source}: authorities is empty`, { detail: { source } });
  if (!requiredSignatures.length && !attestations.length) throw new AttestError('POLICY_INVALID', `${source}: requires nothing (no signatures.required and no attestations)`, { detail: { source } });
  return { authorities, requiredSignatures, attestations };
}
