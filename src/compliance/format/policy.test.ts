import { describe, expect, it } from 'vitest';
import type { CheckResult, CheckStatus, ImageCheckReport } from './check-model.ts';
import { CHECKS } from './checks.ts';
import { escapeHtml, htmlSummary } from './html.ts';
import { compliancePolicySchema, evaluatePolicy } from './policy.ts';
import { responsibilityCsv, responsibilityMarkdown, responsibilityMatrix } from './responsibility.ts';

function report(statuses: Partial<Record<string, CheckStatus>>, variant: 'runtime' | 'dev' = 'runtime', name = 'example.com/app:1'): ImageCheckReport {
  const checks: CheckResult[] = Object.values(CHECKS).map((check) => ({ ...check, status: statuses[check.id] ?? 'pass', summary: `${check.id} summary`, evidence: [] }));
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, allowed: 0, 'not-run': 0, 'not-applicable': 0 };
  for (const check of checks) counts[check.status]++;
  return { image: { name, source: 'oci-layout', platform: 'linux/amd64', configDigest: `sha256:${'c'.repeat(64)}`, variant: variant === 'dev' ? { kind: 'dev', reason: 'name' } : { kind: 'runtime' } }, checks, counts, isBlocking: false };
}

const policy = (value: unknown) => compliancePolicySchema.parse(value);

describe('compliance policy', () => {
  it('require: all is met only when every check passes or is not applicable', () => {
    expect(evaluatePolicy(policy({ require: 'all' }), [report({ 'fips-configured': 'not-applicable' })])).toEqual([]);
    expect(evaluatePolicy(policy({ require: 'all' }), [report({ reproducible: 'not-run' })])).toEqual([
      { image: 'example.com/app:1', platform: 'linux/amd64', requirement: 'check:reproducible', reason: 'not-run: reproducible summary' },
    ]);
  });

  it('a control is not met by a pass that cannot establish it: fips-configured for SC-13', () => {
    expect(evaluatePolicy(policy({ controls: ['sc-13'] }), [report({})])).toEqual([{ image: 'example.com/app:1', platform: 'linux/amd64', requirement: 'control:sc-13', reason: expect.stringContaining('a FIPS-configured OpenSSL is not a FIPS-validated module') }]);
    expect(evaluatePolicy(policy({ checks: ['fips-configured'] }), [report({})])).toEqual([]);
  });

  it('listed checks and controls; a control needs a passing check and no other status', () => {
    const run = report({ 'no-shell': 'allowed', 'vulnerabilities-within-sla': 'not-run', 'ra-5': 'pass' }, 'dev');
    expect(evaluatePolicy(policy({ checks: ['non-root-user'] }), [run])).toEqual([]);
    expect(evaluatePolicy(policy({ checks: ['no-shell'] }), [run]).map((item) => item.requirement)).toEqual(['check:no-shell']);
    expect(evaluatePolicy(policy({ checks: ['no-shell'], 'allow-dev': true }), [run])).toEqual([]);
    expect(evaluatePolicy(policy({ controls: ['RA-5'] }), [run])).toEqual([{ image: 'example.com/app:1', platform: 'linux/amd64', requirement: 'control:ra-5', reason: 'vulnerabilities-within-sla not-run' }]);
  });

  it('rejects unknown check ids, controls and fields', () => {
    expect(compliancePolicySchema.safeParse({ checks: ['no-such-check'] }).error?.issues[0]?.message).toMatch(/^no-such-check is not a check id/);
    expect(compliancePolicySchema.safeParse({ controls: ['zz-1'] }).error?.issues[0]?.message).toBe('zz-1 is not a control any Kiln check cites');
    expect(compliancePolicySchema.safeParse({ requires: 'all' }).success).toBe(false);
  });
});

describe('HTML summary', () => {
  it('escapes every value and has the structure assistive technology needs', () => {
    const html = htmlSummary([report({ 'no-setuid-setgid': 'fail' }, 'runtime', 'evil<script>alert("x")</script>:1')], '2099-01-01T00:00:00Z');
    expect(html).not.toContain('<script>');
    expect(html).toContain('evil&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;:1');
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).toContain('<title>Kiln hardening checks</title>');
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).toContain('<caption>Checks of evil&lt;script&gt;');
    expect(html).toContain('<th scope="col">Status</th>');
    expect(html).toContain('<tr><th scope="row"><code>no-setuid-setgid</code><br>No setuid or setgid files</th><td class="fail">FAIL</td>');
    expect(html).not.toMatch(/<(script|link|img)\b|src=|href=/);
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('customer-responsibility matrix', () => {
  it('claims for the image only controls whose checks passed; shared when cited but not evidenced; customer otherwise', () => {
    const rows = responsibilityMatrix([report({ 'vulnerabilities-within-sla': 'not-run', 'no-shell': 'fail', 'fips-configured': 'not-applicable' })]);
    const by = Object.fromEntries(rows.map((row) => [row.control, row]));
    expect(by['ac-6']).toMatchObject({ responsibility: 'kiln-image', coverage: 'evidenced', baselines: ['fedramp-moderate', 'fedramp-high'], title: 'Least Privilege' });
    expect(by['cm-7']).toMatchObject({ responsibility: 'shared', coverage: 'gap' });
    expect(by['si-2']).toMatchObject({ responsibility: 'shared', coverage: 'not-run' });
    expect(by['ra-5']).toMatchObject({ responsibility: 'shared', coverage: 'not-run' });
    expect(by['sc-13']).toMatchObject({ responsibility: 'shared', coverage: 'not-run' });
    expect(by['ac-1']).toMatchObject({ responsibility: 'customer', coverage: 'not-evidenced' });
    expect(rows.filter((row) => !row.baselines.includes('fedramp-moderate')).length).toBeGreaterThan(0);
    expect(new Set(rows.map((row) => row.control)).size).toBe(rows.length);
    const csv = responsibilityCsv(rows).split('\r\n');
    expect(csv[0]).toBe('control,title,fedramp-moderate,fedramp-high,responsibility,coverage,checks,note');
    expect(csv).toContain(`AC-1,,yes,yes,customer,not-evidenced,,"no Kiln check gives evidence: the customer's, or inherited from their platform"`);
    expect(responsibilityMarkdown(rows)).toContain('| AC-6 | Least Privilege | yes | yes | kiln-image |');
  });
});
