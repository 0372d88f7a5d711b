import { z } from 'zod';
import type { CheckStatus, ImageCheckReport } from './check-model.ts';
import { CHECKS } from './checks.ts';
import { CONTROL_TITLES } from './controls.ts';
import type { ControlId } from './controls.ts';

// Pure: a compliance policy (`kiln comply check --policy FILE`) and its evaluation against check
// reports. A required check must `pass` (or be `not-applicable` to the image); `allowed` (a dev
// variant's shell), `not-run` and `fail` do not meet a requirement — evidence that was not gathered
// is never taken for a pass.
//
//   require: all                 # every check must pass or be not-applicable
//   checks: [non-root-user]      # these checks must pass
//   controls: [ac-6, cm-7]       # every check citing these controls must pass, and one that can
//                                # establish it (not FIPS-configured alone for sc-13) must have run
//   allow-dev: true              # dev variants may be `allowed` a shell, package manager, compiler

const CHECK_IDS = Object.values(CHECKS).map((check) => check.id);

/** Schema of a policy file (YAML or JSON). */
export const compliancePolicySchema = z.strictObject({
  require: z.enum(['all', 'listed']).default('listed'),
  checks: z.array(z.string().refine((id) => CHECK_IDS.includes(id), { error: (issue) => `${String(issue.input)} is not a check id (${CHECK_IDS.join(', ')})` })).default([]),
  controls: z.array(z.string().transform((id) => id.toLowerCase()).refine((id) => id in CONTROL_TITLES, { error: (issue) => `${String(issue.input)} is not a control any Kiln check cites` })).default([]),
  'allow-dev': z.boolean().default(false),
});

/** A compliance policy: which checks must pass. */
export type CompliancePolicy = z.infer<typeof compliancePolicySchema>;

/** One requirement a report did not meet. */
export interface PolicyViolation {
  image: string;
  platform: string;
  /** `check:<id>` or `control:<id>`, and why. */
  requirement: string;
  reason: string;
}

const MEETS = (status: CheckStatus, isDevAllowed: boolean) => status === 'pass' || status === 'not-applicable' || (isDevAllowed && status === 'allowed');

/** Every requirement of the policy that a report does not meet (empty when all are met). */
export function evaluatePolicy(policy: CompliancePolicy, reports: readonly ImageCheckReport[]): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const report of reports) {
    const where = { image: report.image.name, platform: report.image.platform };
    const isDevAllowed = policy['allow-dev'] && report.image.variant.kind === 'dev';
    const required = new Set(policy.require === 'all' ? report.checks.map((check) => check.id) : policy.checks);
    for (const check of report.checks) {
      if (required.has(check.id) && !MEETS(check.status, isDevAllowed)) violations.push({ ...where, requirement: `check:${check.id}`, reason: `${check.status}: ${check.summary}` });
    }
    for (const control of policy.controls) {
      const citing = report.checks.filter((check) => (check.controls as readonly string[]).includes(control));
      const failing = citing.filter((check) => !MEETS(check.status, isDevAllowed));
      if (failing.length) violations.push({ ...where, requirement: `control:${control}`, reason: failing.map((check) => `${check.id} ${check.status}`).join(', ') });
      else if (!citing.some((check) => check.status === 'pass')) violations.push({ ...where, requirement: `control:${control}`, reason: 'no check citing it passed on this image' });
      else if (!citing.some((check) => check.status === 'pass' && !check.cannotEstablish?.[control as ControlId])) {
        // a pass that only supports the control (FIPS-configured for SC-13) does not meet it
        violations.push({ ...where, requirement: `control:${control}`, reason: citing.map((check) => check.cannotEstablish?.[control as ControlId]).find((why) => why !== undefined)! });
      }
    }
  }
  return violations;
}
