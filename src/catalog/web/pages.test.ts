import { describe, expect, it } from 'vitest';
import { cveChart } from '../format/image-view.ts';
import type { ImagesListView } from '../format/model.ts';
import { emptyTally } from '../format/model.ts';
import { renderPage } from './pages.ts';

const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;

function list(): ImagesListView {
  return {
    kind: 'images',
    registry: 'registry.test',
    query: { q: hostile, signed: false, cve: 'any' },
    total: 1,
    images: [
      {
        name: 'kiln/curl',
        title: hostile,
        description: hostile,
        digest: `sha256:${'1'.repeat(64)}`,
        tags: [{ tag: 'latest', digest: `sha256:${'1'.repeat(64)}` }],
        tagCount: 1,
        platforms: [{ platform: 'linux/amd64', digest: `sha256:${'2'.repeat(64)}`, compressedSize: 1_500_000 }],
        cves: { ...emptyTally(), high: 2 },
        signature: { state: 'not-verified', detail: hostile },
        provenance: { state: 'verified', detail: 'key' },
        sbom: { state: 'absent', detail: 'none' },
        compliance: { source: 'computed', passed: 18, failed: 1, notRun: 2 },
      },
    ],
  };
}

describe('pages', () => {
  it('escapes every registry-controlled string in text and attributes', () => {
    const html = renderPage(list());
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script>alert(1)&lt;/script>');
    expect(html).toContain('value="&quot;>&lt;script>');
    expect(html).not.toMatch(/<script(?! src="\/static\/catalog\.js")/);
  });

  it('labels an unverified signature "not verified" and a verified attestation "verified"', () => {
    const html = renderPage(list());
    expect(html).toContain('data-state="not-verified">signature: not verified</span>');
    expect(html).toContain('data-state="verified">provenance: verified</span>');
    expect(html).toContain('1.50 MB');
  });

  it('draws one circle per chart point on the image page', () => {
    const chart = cveChart([
      { digest: `sha256:${'1'.repeat(64)}`, at: '2026-01-01T00:00:00Z', open: { ...emptyTally(), high: 1 } },
      { digest: `sha256:${'2'.repeat(64)}`, at: '2026-01-02T00:00:00Z', open: emptyTally() },
      { digest: `sha256:${'3'.repeat(64)}`, at: '2026-01-03T00:00:00Z', open: emptyTally() },
    ]);
    const none = { state: 'absent' as const, detail: 'none' };
    const html = renderPage({
      kind: 'image', registry: 'r', name: 'kiln/curl', digest: `sha256:${'3'.repeat(64)}`, annotations: [], tags: [], pull: { docker: 'd', podman: 'p', digest: 'x' }, platforms: [],
      packages: { source: 'none', items: [] }, sboms: [], vulnerabilities: { scanned: false, note: 'n', items: [] }, history: { source: 'registry', entries: [] }, chart,
      provenance: { badge: none, materials: [] }, compliance: { source: 'none', passed: 0, failed: 0, notRun: 0, checks: [] }, trust: { signature: none, attestations: [], commands: [] },
    });
    expect(html.match(/<circle /g)).toHaveLength(3);
    expect(html).toContain('<polyline');
  });
});
