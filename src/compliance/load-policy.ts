import { loadYamlBounded, readInputText } from '../lib/index.ts';
import { ComplianceError } from './errors.ts';
import { compliancePolicySchema } from './format/policy.ts';
import type { CompliancePolicy } from './format/policy.ts';

/** Reads a compliance policy (YAML or JSON) through the bounded loader; COMPLY_POLICY_INVALID names
 *  the file and the field at fault. */
export async function loadCompliancePolicy(path: string): Promise<CompliancePolicy> {
  const value = loadYamlBounded(await readInputText(path, { what: 'compliance policy' }), path);
  const parsed = compliancePolicySchema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '') || 'document';
    throw new ComplianceError('COMPLY_POLICY_INVALID', `${path}: ${field}: ${issue.message}`, { detail: { file: path, field } });
  }
  if (parsed.data.require === 'listed' && !parsed.data.checks.length && !parsed.data.controls.length) {
    throw new ComplianceError('COMPLY_POLICY_INVALID', `${path}: the policy requires nothing (give require: all, checks or controls)`, { detail: { file: path } });
  }
  return parsed.data;
}
