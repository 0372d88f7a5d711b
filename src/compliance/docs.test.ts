import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from './format/checks.ts';
import { controlLabel } from './format/controls.ts';

// docs/compliance.md lists every check with its severity, controls, CIS items and SRG ids, in code order.

describe('docs/compliance.md', () => {
  it('has one row per check, in order, with the severity, controls and CIS items the code has', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'compliance.md'), 'utf8');
    const rows = [...text.matchAll(/^\| `([a-z-]+)` \| (critical|high|medium|low) \| ([^|]+) \| ([^|]+) \|/gm)].map((match) => [match[1], match[2], match[3]!.trim(), match[4]!.trim()]);
    expect(rows).toEqual(Object.values(CHECKS).map((check) => [
      check.id, check.severity, check.controls.map(controlLabel).join(', '), check.references.map((reference) => reference.replace('CIS-Docker-', 'CIS ')).join(', ') || '—',
    ]));
  });
});
