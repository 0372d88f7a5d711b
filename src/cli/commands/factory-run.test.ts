import { expect, it } from 'vitest';
import type { FactoryRunReport } from '../../factory/index.ts';
import { runSummary } from './factory-run.ts';

it('counts images published and re-attested in the last line, after one line per step', () => {
  const report = {
    runId: 'r1',
    dryRun: false,
    startedAt: '2026-12-05T03:00:00Z',
    durationMs: 1234,
    warnings: [],
    updates: [],
    plan: { runId: 'r1', date: '20261205', indexSha256: '', baseline: [], steps: [] },
    steps: [
      { id: 'image:curl', kind: 'image', status: 'reattested', durationMs: 1 },
      { id: 'image:nginx', kind: 'image', status: 'reattested', durationMs: 1 },
      { id: 'image:jq', kind: 'image', status: 'published', durationMs: 1 },
      { id: 'image:static', kind: 'image', status: 'unchanged', durationMs: 1 },
    ],
    published: [{ image: 'jq' }],
    failed: [],
  } as unknown as FactoryRunReport;
  const lines = runSummary(report).trimEnd().split('\n');
  expect(lines).toEqual(['reattested image:curl', 'reattested image:nginx', 'published  image:jq', 'unchanged  image:static', '1 image published, 2 re-attested, 0 failed, 1.2 s (run r1)']);
  expect(runSummary({ ...report, steps: [] }).trimEnd()).toBe('1 image published, 0 failed, 1.2 s (run r1)');
});
