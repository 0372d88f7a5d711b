import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult, CheckStatus, ImageCheckReport } from './format/check-model.ts';
import { CHECKS } from './format/checks.ts';
import { writeComplianceReport } from './write-report.ts';

function report(statuses: Partial<Record<string, CheckStatus>>): ImageCheckReport {
  const checks: CheckResult[] = Object.values(CHECKS).map((check) => ({ ...check, status: statuses[check.id] ?? 'pass', summary: `${check.id} summary`, evidence: [] }));
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, allowed: 0, 'not-run': 0, 'not-applicable': 0 };
  for (const check of checks) counts[check.status]++;
  return { image: { name: 'example.com/app:1', source: 'oci-layout', platform: 'linux/amd64', configDigest: `sha256:${'c'.repeat(64)}`, variant: { kind: 'runtime' } }, checks, counts, isBlocking: false };
}

const RUN = { start: '2026-12-04T16:00:00.000Z', end: '2026-12-04T16:00:01.000Z', toolVersion: '0.1.0' };
let dir: string | undefined;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('writeComplianceReport', () => {
  it('leaves no file of an earlier run that this run does not write, and never removes a file Kiln did not write', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-comply-report-'));
    await writeComplianceReport(dir, [report({ 'no-setuid-setgid': 'fail' })], RUN);
    await writeFile(join(dir, 'notes.txt'), 'mine\n');
    expect((await readdir(dir)).sort()).toEqual(['assessment-results.json', 'component-definition.json', 'coverage.json', 'coverage.md', 'notes.txt', 'poam.json', 'responsibility.csv', 'responsibility.json', 'responsibility.md', 'summary.html', 'summary.md']);
    // the failure is fixed and only HTML is asked for: no POA&M and no Markdown summary of the first run remain
    const written = await writeComplianceReport(dir, [report({})], RUN, ['html']);
    expect(written.poam).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['assessment-results.json', 'component-definition.json', 'coverage.json', 'coverage.md', 'notes.txt', 'responsibility.csv', 'responsibility.json', 'responsibility.md', 'summary.html']);
    await writeComplianceReport(dir, [report({})], RUN, ['markdown']);
    expect((await readdir(dir)).includes('summary.html')).toBe(false);
    // files of those names that Kiln did not write stay
    await writeFile(join(dir, 'poam.json'), '{"mine": true}\n');
    await writeFile(join(dir, 'summary.html'), '<p>mine</p>\n');
    await writeComplianceReport(dir, [report({})], RUN, ['markdown']);
    expect(await readFile(join(dir, 'poam.json'), 'utf8')).toBe('{"mine": true}\n');
    expect(await readFile(join(dir, 'summary.html'), 'utf8')).toBe('<p>mine</p>\n');
  });
});
