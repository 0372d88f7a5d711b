import { describe, expect, it } from 'vitest';
import type { ManifestRecord, TagRecord } from '../../metadata/index.ts';
import type { Digest } from '../../lib/index.ts';
import { compareSide, countDpkgPackages } from './compare-view.ts';
import { cveChart, historyViews, sbomPackageViews, tallyFindings, vulnerabilityViews } from './image-view.ts';
import type { ImageSummary } from './model.ts';
import { emptyTally } from './model.ts';
import { attachmentFingerprint, currentTag, filterImages, formatBytes, groupRepositories, imageDigests, isAttachmentTag, parseImagesQuery } from './registry-view.ts';

const d = (n: number) => `sha256:${String(n).padStart(64, '0')}` as Digest;
const manifest = (repository: string, digest: Digest, extra: Partial<ManifestRecord> = {}): ManifestRecord => ({ repository, digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: 10, blobs: [], children: [], createdAt: 1, ...extra });
const tag = (repository: string, name: string, digest: Digest, updatedAt = 1): TagRecord => ({ repository, tag: name, digest, updatedAt });

function summary(name: string, extra: Partial<ImageSummary> = {}): ImageSummary {
  const none = { state: 'absent' as const, detail: '' };
  return { name, digest: d(1), tags: [], tagCount: 0, platforms: [], signature: none, provenance: none, sbom: none, compliance: { source: 'none', passed: 0, failed: 0, notRun: 0 }, ...extra };
}

describe('registry view', () => {
  it('groups manifests and tags per repository, separating cosign attachment tags and referrers', () => {
    const sigTag = `sha256-${'0'.repeat(63)}1.sig`;
    const groups = groupRepositories(
      [manifest('a', d(1)), manifest('a', d(2), { subject: d(1), artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }), manifest('a', d(3)), manifest('b', d(4))],
      [tag('a', 'latest', d(1), 5), tag('a', 'old', d(3), 9), tag('a', sigTag, d(3)), tag('c', sigTag, d(9))],
    );
    expect(groups.map((group) => group.name)).toEqual(['a']);
    const [a] = groups;
    expect(a!.tags.map((item) => item.tag)).toEqual(['old', 'latest']);
    expect(currentTag(a!).tag).toBe('latest');
    expect(a!.attachmentTags.get(sigTag)).toBe(d(3));
    expect(a!.referrers.get(d(1))!.map((record) => record.digest)).toEqual([d(2)]);
    expect(attachmentFingerprint(a!, d(1))).toBe(`${d(1)}|${sigTag}=${d(3)}|${d(2)}`);
    // The signature manifest the .sig tag points at and the referrer are not image digests.
    expect(imageDigests(a!).map((record) => record.digest)).toEqual([d(1)]);
  });

  it('takes the most recently moved tag as current when there is no latest', () => {
    const [group] = groupRepositories([manifest('x', d(1)), manifest('x', d(2))], [tag('x', '1.0', d(1), 1), tag('x', '2.0', d(2), 2)]);
    expect(currentTag(group!).tag).toBe('2.0');
  });

  it('recognizes attachment tags only', () => {
    expect(isAttachmentTag(`sha256-${'a'.repeat(64)}.att`)).toBe(true);
    expect(isAttachmentTag(`sha256-${'a'.repeat(64)}`)).toBe(true);
    expect(isAttachmentTag('sha256-latest')).toBe(false);
    expect(isAttachmentTag('latest')).toBe(false);
  });

  it('parses the list query with defaults for anything unknown', () => {
    expect(parseImagesQuery(new URLSearchParams('q=%20curl%20&signed=1&cve=clean'))).toEqual({ q: 'curl', signed: true, cve: 'clean' });
    expect(parseImagesQuery(new URLSearchParams('signed=yes&cve=<x>'))).toEqual({ q: '', signed: false, cve: 'any' });
  });

  it('filters by every search word, verified signature and clean scans (unscanned is not clean)', () => {
    const verified = { state: 'verified' as const, detail: 'key' };
    const images = [
      summary('kiln/curl', { description: 'curl with OpenSSL', signature: verified, cves: emptyTally() }),
      summary('kiln/jq', { description: 'jq', cves: { ...emptyTally(), high: 1 } }),
      summary('kiln/nginx', { signature: verified }),
    ];
    const names = (query: Partial<ReturnType<typeof parseImagesQuery>>) => filterImages(images, { q: '', signed: false, cve: 'any', ...query }).map((image) => image.name);
    expect(names({ q: 'KILN openssl' })).toEqual(['kiln/curl']);
    expect(names({ signed: true })).toEqual(['kiln/curl', 'kiln/nginx']);
    expect(names({ cve: 'clean' })).toEqual(['kiln/curl']);
  });

  it('formats sizes in decimal units', () => {
    expect([formatBytes(999), formatBytes(1000), formatBytes(1_234_567), formatBytes(52_000_000)]).toEqual(['999 B', '1.00 kB', '1.23 MB', '52.0 MB']);
  });
});

describe('image view', () => {
  it('reads packages with licence and source from SPDX and CycloneDX', () => {
    const spdx = {
      spdxVersion: 'SPDX-2.3',
      packages: [
        { name: 'curl', licenseDeclared: 'curl', sourceInfo: 'built from origin: curl-src', externalRefs: [{ referenceType: 'purl', referenceLocator: 'pkg:apk/kiln/curl@7.88.1-r0?arch=x86_64' }] },
        { name: 'image', externalRefs: [{ referenceType: 'purl', referenceLocator: 'pkg:oci/curl@sha256:00' }] },
        { name: 'zlib', licenseConcluded: 'NOASSERTION', externalRefs: [{ referenceType: 'purl', referenceLocator: 'pkg:apk/kiln/zlib@1.2.13-r0?upstream=zlib-src%401' }] },
      ],
    };
    expect(sbomPackageViews(spdx)).toEqual([
      { name: 'curl', version: '7.88.1-r0', license: 'curl', source: 'curl-src' },
      { name: 'zlib', version: '1.2.13-r0', source: 'zlib-src' },
    ]);
    const cdx = { components: [{ purl: 'pkg:apk/wolfi/jq@1.7-r0', licenses: [{ license: { id: 'MIT' } }, { expression: 'Apache-2.0' }], properties: [{ name: 'kiln:apk:origin', value: 'jq' }] }] };
    expect(sbomPackageViews(cdx)).toEqual([{ name: 'jq', version: '1.7-r0', license: 'MIT AND Apache-2.0', source: 'jq' }]);
    expect(sbomPackageViews('not a document')).toEqual([]);
  });

  it('orders vulnerabilities worst first with VEX status, and counts each id once', () => {
    const findings = [
      { id: 'CVE-2', aliases: [], package: 'a', version: '1', severity: 'LOW' },
      { id: 'CVE-1', aliases: [], package: 'a', version: '1', severity: 'critical', fixedVersion: '2' },
      { id: 'CVE-1', aliases: [], package: 'b', version: '1', severity: 'critical' },
    ];
    const suppressed = [{ id: 'CVE-3', aliases: [], package: 'c', version: '1', severity: 'high', suppressed: 'vulnerable_code_not_in_execute_path' }];
    const views = vulnerabilityViews(findings, suppressed);
    expect(views.map((view) => [view.id, view.package, view.severity, view.status, view.fixedVersion ?? null])).toEqual([
      ['CVE-1', 'a', 'critical', 'affected', '2'],
      ['CVE-1', 'b', 'critical', 'affected', null],
      ['CVE-2', 'a', 'low', 'affected', null],
      ['CVE-3', 'c', 'high', 'not_affected', null],
    ]);
    expect(views[3]!.justification).toBe('vulnerable_code_not_in_execute_path');
    expect(tallyFindings(findings)).toEqual({ ...emptyTally(), critical: 1, low: 1 });
  });

  it('shows the factory history newest first with reasons and diffs', () => {
    const views = historyViews([
      { image: 'kiln/curl', digest: d(1), tags: ['latest'], publishedAt: '2026-01-01T00:00:00Z', runId: 'r1', reasons: [{ kind: 'first-build' }], packages: { added: [{ name: 'curl', version: '1' }], removed: [], upgraded: [] }, cves: { fixed: [], introduced: ['CVE-9'], open: { ...emptyTally(), high: 1 } } },
      { image: 'kiln/curl', digest: d(2), previousDigest: d(1), tags: ['latest'], publishedAt: '2026-01-02T00:00:00Z', runId: 'r2', reasons: [{ kind: 'package-version', package: 'curl', from: '1', to: '2' }, { kind: 'advisory', id: 'CVE-9' }], packages: { added: [], removed: [], upgraded: [{ name: 'curl', from: '1', to: '2' }] }, cves: { fixed: ['CVE-9'], introduced: [], open: emptyTally() } },
    ]);
    expect(views.map((view) => view.digest)).toEqual([d(2), d(1)]);
    expect(views[0]!.reasons).toEqual(['curl 1 → 2', 'advisory CVE-9']);
    expect(views[0]!.packageChanges).toEqual(['curl 1 → 2']);
    expect(views[1]!.packageChanges).toEqual(['+ curl 1']);
    expect(views[0]!.cvesFixed).toEqual(['CVE-9']);
    // The same digest attested again after new advisories says so first.
    const again = historyViews([{ image: 'kiln/curl', digest: d(2), previousDigest: d(2), tags: ['latest'], publishedAt: '2026-01-03T00:00:00Z', runId: 'r3', reasons: [{ kind: 'advisory', id: 'CVE-10' }], packages: { added: [], removed: [], upgraded: [] }, cves: { fixed: ['CVE-10'], introduced: [], open: emptyTally() }, reattested: true }]);
    expect(again[0]!.reasons).toEqual(['same digest: a new scan result and OpenVEX attested', 'advisory CVE-10']);
    const unsigned = historyViews([{ image: 'kiln/curl', digest: d(2), previousDigest: d(2), tags: ['latest'], publishedAt: '2026-01-03T00:00:00Z', runId: 'r3', reasons: [{ kind: 'advisory', id: 'CVE-10' }], packages: { added: [], removed: [], upgraded: [] }, cves: { fixed: ['CVE-10'], introduced: [], open: emptyTally() }, reattested: true, attestations: 0 }]);
    expect(unsigned[0]!.reasons[0]).toBe('same digest: scanned again (unsigned: nothing attested)');
  });

  it('lays out one chart point per counted digest, in time order, inside the plot', () => {
    const chart = cveChart([
      { digest: d(3), at: '2026-01-03', open: { ...emptyTally(), low: 2 } },
      { digest: d(1), at: '2026-01-01', open: { ...emptyTally(), critical: 1, high: 6 } },
      { digest: d(2), at: '2026-01-02' },
      { digest: d(4), at: '2026-01-04', open: emptyTally() },
    ]);
    expect(chart.points.map((point) => [point.digest, point.total])).toEqual([[d(1), 7], [d(3), 2], [d(4), 0]]);
    expect(chart.points[0]!.x).toBe(chart.pad.left);
    expect(chart.points[2]!.x).toBe(chart.width - chart.pad.right);
    expect(chart.points[2]!.y).toBe(chart.height - chart.pad.bottom);
    expect(chart.max).toBeGreaterThanOrEqual(7);
    expect(chart.points[0]!.y).toBeGreaterThanOrEqual(chart.pad.top);
    expect(chart.ticks[0]).toEqual({ value: 0, y: chart.height - chart.pad.bottom });
    expect(cveChart([]).points).toEqual([]);
  });
});

describe('compare view', () => {
  it('sums layers and finds shells and package managers by path', () => {
    const side = compareSide({ label: 'debian', reference: 'debian:12', layers: [{ compressedSize: 10, uncompressedSize: 30 }, { compressedSize: 5, uncompressedSize: 7 }], files: ['/bin/sh', 'bin/bash', 'usr/bin/dpkg', 'etc/passwd'], packages: 80 });
    expect(side).toMatchObject({ compressedSize: 15, uncompressedSize: 37, shell: true, shellPaths: ['bin/sh', 'bin/bash'], packageManager: true, packageManagerPaths: ['usr/bin/dpkg'], packages: 80 });
    expect(compareSide({ label: 'kiln', reference: 'k', layers: [], files: ['usr/bin/curl'], packages: 3 })).toMatchObject({ shell: false, packageManager: false });
  });

  it('counts dpkg packages from info lists or distroless status.d entries', () => {
    expect(countDpkgPackages(['var/lib/dpkg/info/libc6:amd64.list', 'var/lib/dpkg/info/bash.list', 'var/lib/dpkg/info/bash.md5sums'])).toBe(2);
    expect(countDpkgPackages(['var/lib/dpkg/status.d/base-files', 'var/lib/dpkg/status.d/tzdata', 'var/lib/dpkg/status.d/tzdata.md5sums'])).toBe(2);
  });
});
