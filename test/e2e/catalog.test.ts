// The web catalog end to end: real Kiln OS images (the cached `kiln os build` output) published with
// `kiln image publish` into Kiln's registry with the catalog mounted — signed with a trusted key, one
// with a key the catalog does not trust, one with a hostile annotation — then the pages driven in
// Debian's Chromium (playwright-core): links, real sizes and packages, the comparison's numbers, one
// chart point per digest, axe-core's accessibility rules, a screenshot per page (kept in the test run
// directory), escaping, ETags, and "not verified" for the untrusted signature. Pages over a real
// `kiln factory run` and its history: catalog-factory.test.ts; over a registry with auth:
// catalog-auth.test.ts.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '../../src/app/index.ts';
import type { CompareView, ImagePageView, ImagesListView } from '../../src/catalog/index.ts';
import { RegistryClient } from '../../src/registry-client/index.ts';
import { runKiln } from './cli-support.ts';
import { catalogApi, launchChromium, seriousViolations, root, startCatalog } from './catalog-support.ts';
import { ensureKilnOs, KILN_OS_BUILD_TIMEOUT, kilnOsCache } from './kiln-os-support.ts';
import type { ImageIndex, ImageManifest } from '../../src/oci/index.ts';

const out = join(kilnOsCache, 'out');
const osKey = join(kilnOsCache, 'kiln-os.rsa.pub');
const env = { ...process.env, COSIGN_PASSWORD: 'catalog-e2e', SOURCE_DATE_EPOCH: '1700000000' };
const HOSTILE = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">"'&`;

let work: string;
let shots: string;
let registry: RunningRegistry;
let browser: BrowserContext;
let host: string;
const errors: string[] = [];

async function kiln(args: string[]): Promise<string> {
  const result = await runKiln(args, { cwd: root, env });
  expect(result.code, `kiln ${args.join(' ')}\n${result.stderr.slice(-3000)}`).toBe(0);
  return result.stdout;
}

async function publish(image: string, repository: string, key: string, extra: string[] = []): Promise<void> {
  await kiln(['image', 'publish', join(root, 'os', 'images', `${image}.yaml`), `${host}/${repository}:latest`, '-r', out, '-k', osKey, '--key', key, ...extra]);
}

const api = <T>(path: string): Promise<T> => catalogApi<T>(registry.url, path);

async function open(path: string, name: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(`${path}: ${error.message}`));
  page.on('dialog', (dialog) => {
    errors.push(`${path}: dialog ${dialog.message()}`);
    void dialog.dismiss();
  });
  const response = await page.goto(`${registry.url}${path}`);
  expect(response?.status(), path).toBe(200);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  return page;
}

beforeAll(async () => {
  await ensureKilnOs();
  work = await mkdtemp(join(tmpdir(), 'kiln-catalog-e2e-'));
  shots = join(tmpdir(), 'catalog-screenshots');
  await mkdir(shots, { recursive: true });
  await kiln(['generate-key-pair', '--output-key-prefix', join(work, 'trusted')]);
  await kiln(['generate-key-pair', '--output-key-prefix', join(work, 'untrusted')]);
  // The vulnerability index from the test feeds (NVD ranges for busybox match Kiln OS's busybox).
  await writeFile(join(work, 'feeds.yaml'), `feeds:\n  - {name: nvd-test, type: nvd, path: ${join(root, 'test/fixtures/vuln/nvd.json')}}\n`);
  await kiln(['vuln', 'db', 'update', '--config', join(work, 'feeds.yaml'), '--db-dir', join(work, 'vuln')]);
  registry = await startCatalog({ dataDir: join(work, 'registry'), keyPath: join(work, 'trusted.pub'), vulnDbPath: join(work, 'vuln', 'vuln.sqlite'), comparisons: [{ name: 'curl-dev-layout', image: join(out, 'images', 'curl-dev') }] });
  host = new URL(registry.url).host;
  const trusted = join(work, 'trusted.key');
  await publish('curl', 'kiln-os/curl', trusted);
  await publish('jq', 'kiln-os/jq', trusted);
  await publish('busybox', 'kiln-os/busybox', trusted);
  // A rebuild with a changed input (an annotation): a second digest in busybox's history.
  await publish('busybox', 'kiln-os/busybox', trusted, ['--annotations', 'dev.kiln.rebuild:2']);
  await publish('static', 'kiln-os/static', join(work, 'untrusted.key'));
  await publish('openssl', 'kiln-os/openssl', trusted);
  await publish('openssl', 'test/hostile', trusted, ['--annotations', 'org.opencontainers.image.title:hostile', '--annotations', `org.opencontainers.image.description:${HOSTILE}`]);
  browser = await launchChromium();
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln catalog', () => {
  it('lists every published image with its real size, tags and verified signature (JSON API)', async () => {
    const view = await api<ImagesListView>('/images');
    expect(view.images.map((image) => image.name)).toEqual(['kiln-os/busybox', 'kiln-os/curl', 'kiln-os/jq', 'kiln-os/openssl', 'kiln-os/static', 'test/hostile']);
    const client = new RegistryClient();
    for (const image of view.images) {
      const index = (await client.getManifest({ registry: host, repository: image.name, tag: 'latest' })).manifest as ImageIndex;
      const child = index.manifests.find((entry) => entry.platform?.architecture === 'amd64')!;
      const manifest = (await client.getManifest({ registry: host, repository: image.name, digest: child.digest })).manifest as ImageManifest;
      expect(image.platforms).toEqual([{ platform: 'linux/amd64', digest: child.digest, compressedSize: manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0) }]);
      expect(image.tags).toEqual([{ tag: 'latest', digest: (await client.resolve({ registry: host, repository: image.name, tag: 'latest' } as never)).digest }]);
    }
    const curl = view.images.find((image) => image.name === 'kiln-os/curl')!;
    expect(curl.description).toBe("curl with OpenSSL and zlib, built from Debian's sources against musl");
    expect(curl.signature.state).toBe('verified');
    expect(curl.provenance.state).toBe('verified');
    expect(curl.sbom.state).toBe('verified');
  });

  it('never shows a signature by an untrusted key as verified', async () => {
    const view = await api<ImagesListView>('/images');
    const untrusted = view.images.find((image) => image.name === 'kiln-os/static')!;
    expect(untrusted.signature.state).toBe('not-verified');
    expect(untrusted.provenance.state).not.toBe('verified');
    expect(untrusted.sbom.state).not.toBe('verified');
    const page = await api<ImagePageView>('/images/kiln-os/static');
    expect(page.trust.signature.state).toBe('not-verified');
    expect(page.trust.attestations.every((attestation) => attestation.badge.state !== 'verified')).toBe(true);
    expect(page.packages.source).toBe('image');
    const sbom = await fetch(`${registry.url}/sbom/spdx/kiln-os/static`);
    expect(sbom.status).toBe(404);
    const browserPage = await open('/images/kiln-os/static', 'image-untrusted');
    const badge = browserPage.locator('.badges .badge[data-state]').first();
    expect(await badge.textContent()).toBe('signature: not verified');
    expect(await browserPage.locator('.badge-verified').count()).toBe(0);
    await browserPage.close();
    const filtered = await api<ImagesListView>('/images?signed=1');
    expect(filtered.images.map((image) => image.name)).not.toContain('kiln-os/static');
  });

  it('renders the images list in Chromium with working links, search and no serious accessibility violations', async () => {
    const page = await open('/', 'images');
    expect(await page.locator('tbody tr').count()).toBe(6);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Images');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('Search').fill('openssl zlib');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/q=openssl/);
    expect(await page.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-image')))).toEqual(['kiln-os/curl']);
    await page.getByRole('link', { name: 'kiln-os/curl' }).click();
    await page.waitForURL(/\/images\/kiln-os\/curl$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('kiln-os/curl');
    await page.close();
    // The README's screenshot: Kiln OS images only.
    const kilnOs = await open('/?q=kiln-os', 'images-kiln-os');
    expect(await kilnOs.locator('tbody tr').count()).toBe(5);
    await kilnOs.close();
  });

  it('shows an image page with tags, pull commands, SBOM packages, provenance, checks and the commands to verify', async () => {
    const view = await api<ImagePageView>('/images/kiln-os/curl');
    expect(view.pull.docker).toBe(`docker pull ${host}/kiln-os/curl:latest`);
    const curl = view.packages.items.find((pkg) => pkg.name === 'curl');
    expect(view.packages.source).toBe('sbom');
    expect(curl?.version).toBe('7.88.1-r0');
    expect(view.sboms.find((sbom) => sbom.format === 'spdx')?.badge.state).toBe('verified');
    expect(view.provenance.badge.state).toBe('verified');
    expect(view.provenance.materials.length).toBeGreaterThan(3);
    // A package is named by its SBOM purl, and its datahash is labelled as what it is, not as the file's sha256.
    expect(view.provenance.materials.find((material) => material.uri.startsWith('pkg:apk/kiln/curl@'))?.digest).toMatch(/^apkDatahashSha256:[0-9a-f]{64}$/);
    expect(view.compliance.source).toBe('computed');
    expect(view.compliance.checks.find((check) => check.id === 'non-root-user')?.status).toBe('pass');
    // The catalog's trusted key verifies what is attached, so these checks run and pass.
    const attachments = Object.fromEntries(view.compliance.checks.filter((check) => check.id.endsWith('-attached')).map((check) => [check.id, check.status]));
    expect(attachments).toEqual({ 'signature-attached': 'pass', 'sbom-attached': 'pass', 'provenance-attached': 'pass' });
    expect(view.contents).toEqual({ shell: false, packageManager: false });
    expect(view.trust.commands[0]).toBe(`kiln verify --key ${join(work, 'trusted.pub')} ${host}/kiln-os/curl@${view.digest}`);
    // The command the page prints verifies.
    const verified = await runKiln(['verify', '--key', join(work, 'trusted.pub'), `${host}/kiln-os/curl@${view.digest}`], { cwd: root, env });
    expect(verified.code, verified.stderr).toBe(0);
    const sbom = await fetch(`${registry.url}${view.sboms[0]!.href}`);
    expect(sbom.status).toBe(200);
    expect(((await sbom.json()) as { spdxVersion?: string }).spdxVersion).toBe('SPDX-2.3');

    const page = await open('/images/kiln-os/curl', 'image');
    expect(await page.getByRole('textbox', { name: 'docker' }).inputValue()).toBe(view.pull.docker);
    const rows = await page.locator('section[aria-labelledby=packages] tbody tr').count();
    expect(rows).toBe(view.packages.items.length);
    expect(await page.locator('section[aria-labelledby=packages] tbody').textContent()).toContain('7.88.1-r0');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: view.tags[0]!.digest }).click();
    await page.waitForURL(/digest=sha256/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('kiln-os/curl');
    await page.close();
  });

  // Without the factory's history the page shows the digests the registry holds; the chart and timeline
  // over a real factory history are in catalog-factory.test.ts.
  it('draws the CVE chart with one point per digest the registry holds, with real scan counts', async () => {
    const view = await api<ImagePageView>('/images/kiln-os/busybox');
    expect(view.history.entries).toHaveLength(2);
    expect(view.vulnerabilities.scanned).toBe(true);
    expect(view.vulnerabilities.items.length).toBeGreaterThan(0);
    expect(view.chart.points.map((point) => point.digest).sort()).toEqual(view.history.entries.map((entry) => entry.digest).sort());
    const page = await open('/images/kiln-os/busybox', 'image-history');
    expect(await page.locator('svg.chart circle.point').count()).toBe(2);
    expect(await page.locator('svg.chart polyline').count()).toBe(1);
    expect(await page.locator('ol.timeline > li').count()).toBe(2);
    await page.close();
  });

  it('compares a Kiln image with another image with real numbers', async () => {
    const view = await api<CompareView>('/compare?left=kiln-os%2Fcurl&right=curl-dev-layout');
    const left = view.left!;
    const right = view.right!;
    const list = await api<ImagesListView>('/images');
    const curl = list.images.find((image) => image.name === 'kiln-os/curl')!;
    const curlPage = await api<ImagePageView>('/images/kiln-os/curl');
    // Layers only (the list's size also counts the config).
    expect(left.compressedSize).toBeLessThan(curl.platforms[0]!.compressedSize);
    expect(left.compressedSize).toBeGreaterThan(curl.platforms[0]!.compressedSize - 10_000);
    expect(left.packages).toBe(curlPage.packages.items.length);
    expect(left.shell).toBe(false);
    expect(left.packageManager).toBe(false);
    expect(right.shell).toBe(true);
    // The -dev variant read from its OCI layout: busybox's shell, and more packages than curl.
    expect(right.shellPaths).toContain('bin/sh');
    expect(right.packages).toBeGreaterThan(left.packages);
    expect(right.reference).toBe(join(out, 'images', 'curl-dev'));
    const page = await open('/compare?left=kiln-os%2Fcurl&right=curl-dev-layout', 'compare');
    const cells = await page.locator('table.compare tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('th,td')].map((cell) => cell.textContent)));
    expect(cells.find((row) => row[0] === 'Packages')).toEqual(['Packages', String(left.packages), String(right.packages)]);
    expect(cells.find((row) => row[0] === 'Shell')?.[1]).toBe('no');
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it('escapes hostile annotations: no markup injected, nothing run', async () => {
    const html = await (await fetch(`${registry.url}/images/test/hostile`)).text();
    expect(html).not.toContain('<script>window.__xss');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script>window.__xss=1&lt;/script>');
    const page = await open('/images/test/hostile', 'image-hostile');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('p.lead').textContent()).toBe(HOSTILE);
    await page.close();
    const list = await open('/?q=script', 'images-hostile');
    expect(await list.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await list.close();
    expect(errors).toEqual([]);
  });

  it('answers with ETags and Cache-Control, and 304 on If-None-Match; unknown images are 404', async () => {
    for (const path of ['/', '/api/images', '/images/kiln-os/jq', '/api/images/kiln-os/jq', '/compare']) {
      const first = await fetch(`${registry.url}${path}`);
      expect(first.status, path).toBe(200);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect(first.headers.get('cache-control')).toBe('no-cache');
      expect(first.headers.get('content-security-policy')).toContain("script-src 'self'");
      const again = await fetch(`${registry.url}${path}`, { headers: { 'If-None-Match': etag! } });
      expect(again.status, path).toBe(304);
    }
    const missing = await fetch(`${registry.url}/api/images/kiln-os/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('CATALOG_IMAGE_UNKNOWN');
    // The registry API is still the registry's.
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
  });

  it('keeps a screenshot of every page', async () => {
    const names = ['images', 'images-kiln-os', 'image', 'image-history', 'image-untrusted', 'image-hostile', 'compare'];
    for (const name of names) {
      const png = await readFile(join(shots, `${name}.png`));
      expect(png.subarray(1, 4).toString('latin1'), name).toBe('PNG');
    }
    if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(join(shots, 'images-kiln-os.png'), join(root, 'docs', 'catalog-screenshot.png'));
    expect(createHash('sha256').update(await readFile(join(shots, 'images.png'))).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
  });
});
