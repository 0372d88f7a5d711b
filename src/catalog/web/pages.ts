import { h } from 'preact';
import type { ComponentChild, ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { CatalogView, ChartView, CompareSide, CompareView, ImagePageView, ImageSummary, ImagesListView, SeverityTally, TrustBadge } from '../format/model.ts';
import { SEVERITY_ORDER, tallyTotal } from '../format/model.ts';
import { formatBytes, tallyText } from '../format/registry-view.ts';

// Server-rendered pages (Preact's renderToString; no client framework). Every value reaches the HTML
// through Preact, which escapes text and attribute values, so annotations, tags and names from the
// registry cannot inject markup. Pages work without JavaScript; /static/catalog.js only adds copy
// buttons. No inline script or style: the Content-Security-Policy forbids them.

/** A page built by the helpers below is always one element. */
function asNode(child: ComponentChild): VNode {
  return child as VNode;
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function imageHref(name: string, digest?: string): string {
  return `/images/${name.split('/').map(encodeURIComponent).join('/')}${digest ? `?digest=${encodeURIComponent(digest)}` : ''}`;
}

function badge(label: string, value: TrustBadge): ComponentChild {
  const text = value.state === 'verified' ? 'verified' : value.state === 'absent' ? 'none' : 'not verified';
  return h('span', { class: `badge badge-${value.state}`, title: value.detail, 'data-state': value.state }, `${label}: ${text}`);
}

function severityCells(tally: SeverityTally | undefined, note: string | undefined): ComponentChild {
  if (!tally) return h('span', { class: 'muted' }, note ?? 'not scanned');
  return h(
    'span',
    { class: 'sev-list', 'aria-label': `vulnerabilities: ${tallyText(tally)}` },
    SEVERITY_ORDER.filter((key) => key !== 'unknown' || tally.unknown > 0).map((key) => h('span', { class: `sev sev-${key}`, title: key }, `${key[0]!.toUpperCase()} ${tally[key]}`)),
  );
}

function copyable(label: string, value: string): ComponentChild {
  return h('div', { class: 'copy' }, h('label', null, h('span', { class: 'copy-label' }, label), h('input', { type: 'text', readOnly: true, value, class: 'copy-input', 'aria-label': label })));
}

function layout(title: string, active: 'images' | 'compare', body: ComponentChildren, apiHref: string): ComponentChild {
  return h(
    'html',
    { lang: 'en' },
    h('head', null, h('meta', { charset: 'utf-8' }), h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }), h('title', null, `${title} · Kiln catalog`), h('link', { rel: 'stylesheet', href: '/static/catalog.css' }), h('script', { src: '/static/catalog.js', defer: true })),
    h(
      'body',
      null,
      h('header', { class: 'top' }, h('a', { href: '/', class: 'brand' }, 'Kiln catalog'), h('nav', { 'aria-label': 'main' }, h('a', { href: '/', 'aria-current': active === 'images' ? 'page' : undefined }, 'Images'), h('a', { href: '/compare', 'aria-current': active === 'compare' ? 'page' : undefined }, 'Compare'))),
      h('main', { id: 'main' }, body),
      h('footer', null, h('a', { href: apiHref }, 'This page as JSON'), ' · served by kiln catalog serve'),
    ),
  );
}

function imageRow(image: ImageSummary): ComponentChild {
  return h(
    'tr',
    { 'data-image': image.name },
    h('th', { scope: 'row' }, h('a', { href: imageHref(image.name) }, image.name), image.description ? h('div', { class: 'desc' }, image.description) : null),
    h('td', null, image.tags.map((tag) => h('code', { class: 'tag', title: tag.digest }, tag.tag)), image.tagCount > image.tags.length ? h('span', { class: 'muted' }, ` +${image.tagCount - image.tags.length}`) : null),
    h('td', null, h('ul', { class: 'plain' }, image.platforms.map((platform) => h('li', null, `${platform.platform}: ${formatBytes(platform.compressedSize)}`)))),
    h('td', null, image.lastBuilt ? h('time', { dateTime: image.lastBuilt, title: `from ${image.lastBuiltSource}` }, image.lastBuilt.slice(0, 10)) : '—'),
    h('td', null, severityCells(image.cves, image.cvesNote)),
    h('td', { class: 'badges' }, badge('signature', image.signature), badge('provenance', image.provenance), badge('SBOM', image.sbom), h('span', { class: `badge badge-compliance-${image.compliance.source}`, title: `hardening checks ${image.compliance.source}` }, image.compliance.source === 'none' ? 'checks: pending' : `checks: ${image.compliance.passed} pass, ${image.compliance.failed} fail`)),
  );
}

function imagesPage(view: ImagesListView): ComponentChild {
  const query = view.query;
  return layout(
    'Images',
    'images',
    [
      h('h1', null, 'Images'),
      h('p', { class: 'muted' }, `${view.images.length} of ${view.total} images in ${view.registry}`),
      h(
        'form',
        { method: 'get', action: '/', class: 'filters', role: 'search' },
        h('label', null, 'Search ', h('input', { type: 'search', name: 'q', value: query.q })),
        h('label', null, h('input', { type: 'checkbox', name: 'signed', value: '1', checked: query.signed }), ' verified signature only'),
        h('label', null, h('input', { type: 'checkbox', name: 'cve', value: 'clean', checked: query.cve === 'clean' }), ' no critical or high CVEs'),
        h('button', { type: 'submit' }, 'Filter'),
      ),
      h(
        'table',
        { class: 'images' },
        h('caption', { class: 'sr-only' }, 'Images in the catalog'),
        h('thead', null, h('tr', null, ['Image', 'Tags', 'Size (compressed)', 'Last built', 'CVEs', 'Trust'].map((name) => h('th', { scope: 'col' }, name)))),
        h('tbody', null, view.images.map(imageRow)),
      ),
    ],
    `/api/images${searchOf(query)}`,
  );
}

function searchOf(query: ImagesListView['query']): string {
  const params = new URLSearchParams();
  if (query.q) params.set('q', query.q);
  if (query.signed) params.set('signed', '1');
  if (query.cve === 'clean') params.set('cve', 'clean');
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The CVE chart as inline SVG: a polyline and one labelled circle per digest. */
export function chartSvg(chart: ChartView): ComponentChild {
  const { pad } = chart;
  const label = chart.points.length ? `Open vulnerabilities per digest: ${chart.points.map((point) => `${point.at.slice(0, 10)} ${point.total}`).join(', ')}` : 'No scanned digests yet';
  return h(
    'svg',
    { class: 'chart', viewBox: `0 0 ${chart.width} ${chart.height}`, width: chart.width, height: chart.height, role: 'img', 'aria-label': label },
    h('title', null, label),
    chart.ticks.map((tick) => [h('line', { x1: pad.left, x2: chart.width - pad.right, y1: tick.y, y2: tick.y, class: 'grid' }), h('text', { x: pad.left - 6, y: tick.y + 4, 'text-anchor': 'end', class: 'axis' }, String(tick.value))]),
    chart.points.length > 1 ? h('polyline', { points: chart.points.map((point) => `${point.x},${point.y}`).join(' '), class: 'line', fill: 'none' }) : null,
    chart.points.map((point) => h('circle', { cx: point.x, cy: point.y, r: 4, class: 'point', 'data-digest': point.digest }, h('title', null, `${point.at} ${short(point.digest)}: ${point.total} open`))),
    chart.points.map((point, index) => (index === 0 || index === chart.points.length - 1 ? h('text', { x: point.x, y: chart.height - 8, 'text-anchor': 'middle', class: 'axis' }, point.at.slice(0, 10)) : null)),
  );
}

function section(id: string, title: string, ...children: ComponentChildren[]): ComponentChild {
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

function imagePage(view: ImagePageView): ComponentChild {
  const tallyOf = view.vulnerabilities.counts;
  return layout(
    view.name,
    'images',
    [
      h('h1', null, view.name),
      view.description ? h('p', { class: 'lead' }, view.description) : null,
      h('p', { class: 'badges' }, badge('signature', view.trust.signature), badge('provenance', view.provenance.badge), ...view.sboms.map((sbom) => badge(sbom.format === 'spdx' ? 'SPDX SBOM' : 'CycloneDX SBOM', sbom.badge))),
      h('div', { class: 'pull' }, copyable('docker', view.pull.docker), copyable('podman', view.pull.podman), copyable('by digest', view.pull.digest)),
      section('tags', 'Tags', h('table', null, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Tag'), h('th', { scope: 'col' }, 'Digest'))), h('tbody', null, view.tags.map((tag) => h('tr', null, h('td', null, h('code', null, tag.tag)), h('td', null, h('a', { href: imageHref(view.name, tag.digest) }, h('code', null, tag.digest)))))))),
      section('platforms', 'Architectures', h('ul', { class: 'plain' }, view.platforms.map((platform) => h('li', null, `${platform.platform} — ${formatBytes(platform.compressedSize)} compressed — `, h('code', null, platform.digest))))),
      view.contents ? h('p', null, `Shell: ${view.contents.shell ? 'present' : 'none'} · package manager: ${view.contents.packageManager ? 'present' : 'none'}`) : null,
      section(
        'vulns',
        'Vulnerabilities',
        view.vulnerabilities.scanned && tallyOf ? h('p', null, `Open: ${tallyText(tallyOf)} (${tallyTotal(tallyOf)} total)`) : h('p', { class: 'muted' }, `Not scanned: ${view.vulnerabilities.note ?? ''}`),
        view.vulnerabilities.items.length
          ? h('table', null, h('thead', null, h('tr', null, ['Vulnerability', 'Package', 'Severity', 'VEX status', 'Fixed in'].map((name) => h('th', { scope: 'col' }, name)))), h('tbody', null, view.vulnerabilities.items.map((item) => h('tr', null, h('td', null, item.id), h('td', null, `${item.package} ${item.version}`), h('td', null, h('span', { class: `sev sev-${item.severity}` }, item.severity)), h('td', { title: item.justification }, item.status.replace('_', ' ')), h('td', null, item.fixedVersion ?? '—')))))
          : null,
      ),
      section(
        'history',
        'History',
        h('p', { class: 'muted' }, view.history.source === 'factory' ? 'From the factory’s record of each published digest.' : 'Digests stored in the registry (no factory history for this image).'),
        chartSvg(view.chart),
        h('ol', { class: 'timeline' }, view.history.entries.map((entry) => h('li', null, h('time', { dateTime: entry.publishedAt }, entry.publishedAt.replace('T', ' ').slice(0, 19)), ' ', h('a', { href: imageHref(view.name, entry.digest) }, h('code', null, short(entry.digest))), entry.tags.length ? ` (${entry.tags.join(', ')})` : '', h('ul', null, entry.reasons.map((reason) => h('li', null, reason)), entry.packageChanges.map((change) => h('li', null, change)), entry.cvesFixed.length ? h('li', null, `fixed: ${entry.cvesFixed.join(', ')}`) : null, entry.cvesIntroduced.length ? h('li', null, `new: ${entry.cvesIntroduced.join(', ')}`) : null, entry.open ? h('li', null, `open: ${tallyText(entry.open)}`) : null)))),
      ),
      section(
        'packages',
        `Packages (${view.packages.items.length})`,
        h('p', { class: 'muted' }, view.packages.source === 'sbom' ? 'From the verified SBOM attestation.' : view.packages.source === 'image' ? 'From the image’s apk database (no verified SBOM).' : 'No package data.'),
        h('p', null, view.sboms.map((sbom) => (sbom.badge.state === 'verified' ? [h('a', { href: sbom.href, download: true }, `Download ${sbom.format === 'spdx' ? 'SPDX' : 'CycloneDX'} SBOM`), ' '] : h('span', { class: 'muted' }, `${sbom.format === 'spdx' ? 'SPDX' : 'CycloneDX'} SBOM: ${sbom.badge.state === 'absent' ? 'not attached' : 'not verified'} `)))),
        h('table', null, h('thead', null, h('tr', null, ['Package', 'Version', 'Licence', 'Source'].map((name) => h('th', { scope: 'col' }, name)))), h('tbody', null, view.packages.items.map((pkg) => h('tr', null, h('td', null, pkg.name), h('td', null, pkg.version), h('td', null, pkg.license ?? '—'), h('td', null, pkg.source ?? '—'))))),
      ),
      section(
        'provenance',
        'Provenance',
        h('p', null, badge('provenance', view.provenance.badge), ' ', view.provenance.builder ? `builder ${view.provenance.builder}` : ''),
        view.provenance.buildType ? h('p', null, `build type ${view.provenance.buildType}`) : null,
        view.provenance.materials.length ? h('details', null, h('summary', null, `${view.provenance.materials.length} inputs by checksum`), h('ul', { class: 'plain mono' }, view.provenance.materials.map((material) => h('li', null, `${material.uri} ${material.digest ?? ''}`)))) : null,
      ),
      section(
        'compliance',
        'Compliance',
        h('p', null, view.compliance.source === 'none' ? 'Hardening checks not available.' : `${view.compliance.passed} passed, ${view.compliance.failed} failed, ${view.compliance.notRun} not run — ${view.compliance.source === 'attested' ? 'from a verified attestation' : 'computed by this catalog from the image’s layers'}`),
        view.compliance.checks.length ? h('table', null, h('thead', null, h('tr', null, ['Check', 'Severity', 'Result', 'Finding'].map((name) => h('th', { scope: 'col' }, name)))), h('tbody', null, view.compliance.checks.map((check) => h('tr', null, h('td', null, check.title), h('td', null, check.severity), h('td', { class: `status-${check.status}` }, check.status), h('td', null, check.summary))))) : null,
      ),
      section(
        'trust',
        'Signatures and attestations',
        h('p', null, badge('signature', view.trust.signature), ' ', view.trust.signature.detail),
        h('ul', { class: 'plain' }, view.trust.attestations.map((attestation) => h('li', null, badge(attestation.label, attestation.badge), ' ', attestation.badge.detail))),
        h('p', null, 'Check it yourself:'),
        view.trust.commands.map((command, index) => copyable(index === 0 ? 'kiln' : index === 1 ? 'cosign' : 'provenance', command)),
      ),
      view.annotations.length ? section('annotations', 'Annotations', h('dl', null, view.annotations.map((item) => [h('dt', null, item.key), h('dd', null, item.value)]))) : null,
    ],
    `/api${imageHref(view.name, view.digest)}`,
  );
}

function sideColumn(side: CompareSide | undefined): ComponentChild[] {
  if (!side) return [];
  return [h('th', { scope: 'col' }, side.label)];
}

function comparePage(view: CompareView): ComponentChild {
  const { left, right } = view;
  const rows: Array<[string, (side: CompareSide) => string]> = [
    ['Reference', (side) => side.reference],
    ['Platform', (side) => side.platform ?? '—'],
    ['Compressed size', (side) => formatBytes(side.compressedSize)],
    ['Uncompressed size', (side) => formatBytes(side.uncompressedSize)],
    ['Packages', (side) => String(side.packages)],
    ...SEVERITY_ORDER.map((key): [string, (side: CompareSide) => string] => [`CVEs ${key}`, (side) => (side.cves ? String(side.cves[key]) : side.cvesNote ?? 'not scanned')]),
    ['Shell', (side) => (side.shell ? `yes (${side.shellPaths.join(', ')})` : 'no')],
    ['Package manager', (side) => (side.packageManager ? `yes (${side.packageManagerPaths.join(', ')})` : 'no')],
  ];
  const select = (name: string, label: string, value: string | undefined) =>
    h('label', null, `${label} `, h('select', { name }, view.choices.map((choice) => h('option', { value: choice, selected: choice === value }, choice))));
  return layout(
    'Compare',
    'compare',
    [
      h('h1', null, 'Compare images'),
      h('form', { method: 'get', action: '/compare', class: 'filters' }, select('left', 'Image', left?.label), select('right', 'with', right?.label), h('button', { type: 'submit' }, 'Compare')),
      view.error ? h('p', { class: 'error', role: 'alert' }, view.error) : null,
      left && right
        ? h('table', { class: 'compare' }, h('caption', { class: 'sr-only' }, `${left.label} compared with ${right.label}`), h('thead', null, h('tr', null, h('td', null), ...sideColumn(left), ...sideColumn(right))), h('tbody', null, rows.map(([label, value]) => h('tr', null, h('th', { scope: 'row' }, label), h('td', null, value(left)), h('td', null, value(right))))))
        : h('p', { class: 'muted' }, 'Choose two images.'),
    ],
    `/api/compare${left && right ? `?left=${encodeURIComponent(left.label)}&right=${encodeURIComponent(right.label)}` : ''}`,
  );
}

/** An error page (404, 400, 500), with the message as text. */
export function errorPage(status: number, message: string): string {
  return `<!doctype html>${renderToString(asNode(layout(`Error ${status}`, 'images', [h('h1', null, status === 404 ? 'Not found' : status === 400 ? 'Bad request' : 'Error'), h('p', { role: 'alert' }, message)], '/api/images')))}`;
}

/** Renders a page model to a complete HTML document. */
export function renderPage(view: CatalogView): string {
  const page = view.kind === 'images' ? imagesPage(view) : view.kind === 'image' ? imagePage(view) : comparePage(view);
  return `<!doctype html>${renderToString(asNode(page))}`;
}
