import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from './checks.ts';
import { CONTROL_TITLES, controlLabel } from './controls.ts';

// Every control id a check cites must be a control of the official NIST SP 800-53 rev 5 catalog
// (test/fixtures/compliance/, NIST's OSCAL catalog), not withdrawn, with the title we print.

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'compliance', 'nist');

interface CatalogControl {
  id: string;
  title: string;
  props?: Array<{ name: string; value: string }>;
  controls?: CatalogControl[];
}

function catalogControls(): Map<string, CatalogControl> {
  const catalog = JSON.parse(readFileSync(join(fixtures, 'NIST_SP-800-53_rev5_catalog-min.json'), 'utf8')) as { catalog: { groups: Array<{ controls: CatalogControl[] }> } };
  const out = new Map<string, CatalogControl>();
  const visit = (controls: CatalogControl[] | undefined) => {
    for (const control of controls ?? []) {
      out.set(control.id, control);
      visit(control.controls);
    }
  };
  for (const group of catalog.catalog.groups) visit(group.controls);
  return out;
}

function baseline(name: string): Set<string> {
  const profile = JSON.parse(readFileSync(join(fixtures, `NIST_SP-800-53_rev5_${name}-baseline_profile.json`), 'utf8')) as { profile: { imports: Array<{ 'include-controls': Array<{ 'with-ids': string[] }> }> } };
  return new Set(profile.profile.imports[0]!['include-controls'][0]!['with-ids']);
}

describe('control mapping', () => {
  const catalog = catalogControls();

  it('reads the whole catalog (1189 controls and enhancements)', () => {
    expect(catalog.size).toBe(1189);
  });

  it('cites only controls of the rev 5 catalog that are not withdrawn, with their catalog titles', () => {
    for (const [id, title] of Object.entries(CONTROL_TITLES)) {
      const control = catalog.get(id);
      expect(control, id).toBeDefined();
      expect(control!.props?.find((prop) => prop.name === 'status')?.value, id).not.toBe('withdrawn');
      expect(control!.title, id).toBe(title);
      expect(control!.props?.find((prop) => prop.name === 'label')?.value, id).toBe(controlLabel(id));
    }
  });

  it('every check cites known controls, and every known control is cited by a check', () => {
    const cited = new Set(Object.values(CHECKS).flatMap((check) => check.controls as readonly string[]));
    expect([...cited].sort()).toEqual(Object.keys(CONTROL_TITLES).sort());
  });

  it('covers the controls issue 14 names', () => {
    const cited = new Set(Object.values(CHECKS).flatMap((check) => check.controls as readonly string[]));
    for (const id of ['cm-6', 'cm-7', 'cm-8', 'cm-14', 'si-2', 'si-7', 'ra-5', 'sa-10', 'sa-11', 'sc-13', 'sr-3', 'sr-4', 'sr-11', 'ac-6', 'ia-5']) expect(cited.has(id), id).toBe(true);
  });

  it('knows which cited controls the MODERATE and HIGH baselines select (cm-14 and sr-4 are in neither)', () => {
    const moderate = baseline('MODERATE');
    const high = baseline('HIGH');
    expect(moderate.size).toBe(287);
    expect(high.size).toBe(370);
    const cited = Object.keys(CONTROL_TITLES);
    expect(cited.filter((id) => !high.has(id))).toEqual(['cm-14', 'sr-4']);
    expect(cited.filter((id) => !moderate.has(id))).toEqual(['cm-14', 'sr-4']);
  });

  it('cites DISA SRG requirements by ids the SRGs define (General Purpose OS V3R3, Container Platform V2R4)', () => {
    const srgDir = join(fixtures, '..', 'disa-srg');
    const defined = new Map<string, string>();
    let rules = 0;
    for (const file of ['U_GPOS_SRG_V3R3_Manual-xccdf.xml', 'U_Container_Platform_SRG_V2R4_Manual-xccdf.xml']) {
      for (const match of readFileSync(join(srgDir, file), 'utf8').matchAll(/<version>(SRG-[A-Z]+-\d+-[A-Z]+-\d+)<\/version>\s*<title>([^<]+)<\/title>/g)) {
        defined.set(match[1]!, match[2]!);
        rules++;
      }
    }
    expect(rules).toBe(203 + 188);
    const cited = Object.values(CHECKS).flatMap((check) => check.references.filter((reference) => reference.startsWith('SRG-')));
    expect(cited.length).toBeGreaterThan(0);
    for (const id of cited) expect(defined.has(id), id).toBe(true);
    expect(defined.get('SRG-OS-000095-GPOS-00049')).toBe('The operating system must be configured to disable non-essential capabilities.');
  });

  it('labels ids as NIST prints them', () => {
    expect(controlLabel('ac-6')).toBe('AC-6');
    expect(controlLabel('ac-6.9')).toBe('AC-6(9)');
  });
});
