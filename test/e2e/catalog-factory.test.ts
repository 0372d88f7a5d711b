// The web catalog over a real factory: two `kiln factory run`s on Kiln OS (the cached build) publish
// into Kiln's registry with the catalog mounted, the second after a change to jq's image config, so
// kiln/jq has two digests in `kiln factory history`. Then Debian's Chromium (playwright-core) drives
// the pages: links, the timeline saying why each digest was built, one chart point per digest,
// the comparison's real numbers, axe-core's rules, and a screenshot per page.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '../../src/app/index.ts';
import type { CompareView, ImagePageView, ImagesListView } from '../../src/catalog/index.ts';
import type { FactoryRunReport, ImageHistoryEntry } from '../../src/factory/index.ts';
import { catalogApi, launchChromium, seriousViolations, startCatalog } from './catalog-support.ts';
import { runKiln } from './cli-support.ts';
import { KILN_OS_BUILD_TIMEOUT, prepareFactoryWorkspace } from './kiln-os-support.ts';

const env = { ...process.env, COSIGN_PASSWORD: 'catalog-factory-e2e', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
// The factory builds these; the rest of Kiln OS's images are built but not published.
const PUBLISHED = ['busybox', 'jq', 'curl-dev'];
const ALL = ['busybox', 'curl', 'curl-dev', 'jq', 'jq-dev', 'nginx', 'nginx-dev', 'openssl', 'openssl-dev', 'static', 'static-dev'];

let work: string;
let registry: RunningRegistry;
let browser: BrowserContext;
let host: string;
const reports: FactoryRunReport[] = [];
const errors: string[] = [];

const kiln = (args: string[]) => runKiln(args, { cwd: work, env });

async function factoryRun(): Promise<FactoryRunReport> {
  const result = await kiln(['factory', 'run', '--config', join(work, 'factory.yaml'), '--json']);
  expect(result.code, result.stderr.slice(-3000)).toBe(0);
  return JSON.parse(result.stdout) as FactoryRunReport;
}

async function factoryHistory(image: string): Promise<ImageHistoryEntry[]> {
  const result = await kiln(['factory', 'history', '--config', join(work, 'factory.yaml'), image, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { entries: ImageHistoryEntry[] }).entries;
}

const api = <T>(path: string): Promise<T> => catalogApi<T>(registry.url, path);

async function open(path: string, name: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(`${path}: ${error.message}`));
  const response = await page.goto(`${registry.url}${path}`);
  expect(response?.status(), path).toBe(200);
  await mkdir(join(tmpdir(), 'catalog-screenshots'), { recursive: true });
  await page.screenshot({ path: join(tmpdir(), 'catalog-screenshots', `factory-${name}.png`), fullPage: true });
  return page;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-catalog-factory-e2e-'));
  await prepareFactoryWorkspace(work, env);
  // The catalog starts before the factory's first run: its history file does not exist yet, and the
  // catalog must pick it up once the factory writes it.
  expect(existsSync(join(work, 'state', 'history.db'))).toBe(false);
  registry = await startCatalog({ dataDir: join(work, 'registry'), keyPath: join(work, 'cosign.pub'), vulnDbPath: join(work, 'vuln', 'vuln.sqlite'), historyPath: join(work, 'state', 'history.db'), comparisons: [{ name: 'busybox-layout', image: join(work, 'out', 'images', 'busybox') }] });
  host = new URL(registry.url).host;
  const images = ALL.map((image) => `  ${image}: {publish: ${PUBLISHED.includes(image)}}`).join('\n');
  await writeFile(join(work, 'factory.yaml'), ['os-dir: os', 'out-dir: out', 'state-dir: state', 'signing-key: kiln-os.rsa', 'debian-source-cache: debian-sources', `registry: ${host}/kiln`, 'cosign-key: cosign.key', 'vuln-db: vuln/vuln.sqlite', 'updates:', '  debian:', '    apt: false', 'images:', images, ''].join('\n'));
  reports.push(await factoryRun());
  // The change: jq's image gains a label; the next run rebuilds and republishes jq for it.
  const jq = join(work, 'os', 'images', 'jq.yaml');
  await writeFile(jq, `${await readFile(jq, 'utf8')}  org.opencontainers.image.revision: "catalog-e2e-2"\n`);
  reports.push(await factoryRun());
  browser = await launchChromium();
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln catalog over a factory run', () => {
  it('lists exactly what the factory published, at the digests its report names', async () => {
    const view = await api<ImagesListView>('/images');
    const published = reports[0]!.published.map((image) => image.repository.replace(`${host}/`, ''));
    expect(view.images.map((image) => image.name).sort()).toEqual([...new Set(published)].sort());
    const jq = view.images.find((image) => image.name === 'kiln/jq')!;
    const lastJq = reports[1]!.published.find((image) => image.image === 'jq')!;
    expect(jq.tags.find((tag) => tag.tag === 'latest')?.digest).toBe(lastJq.digest);
    expect(jq.signature.state).toBe('verified');
    expect(jq.lastBuiltSource).toBe('history');
  });

  it('draws one chart point per digest in `kiln factory history`, and the timeline says why each was built', async () => {
    const entries = await factoryHistory('kiln/jq');
    expect(entries).toHaveLength(2);
    const view = await api<ImagePageView>('/images/kiln/jq');
    expect(view.history.source).toBe('factory');
    expect(view.chart.points.map((point) => point.digest).sort()).toEqual(entries.map((entry) => entry.digest).sort());
    // Each point is the factory's scan of that digest: its open CVEs, all severities.
    for (const entry of entries) {
      const open = Object.values(entry.cves.open).reduce((sum, count) => sum + count, 0);
      expect(view.chart.points.find((point) => point.digest === entry.digest)?.total, entry.digest).toBe(open);
    }
    expect(view.history.entries.map((entry) => entry.reasons.join('; '))).toEqual([expect.stringMatching(/^configuration/), 'first build']);
    const page = await open('/images/kiln/jq', 'image-jq');
    expect(await page.locator('svg.chart circle.point').count()).toBe(entries.length);
    expect(await page.locator('ol.timeline > li').count()).toBe(entries.length);
    expect(await page.locator('ol.timeline').textContent()).toContain('first build');
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
    // An image the second run did not rebuild: one digest, one point.
    const busybox = await factoryHistory('kiln/busybox');
    expect(busybox).toHaveLength(1);
    const one = await open('/images/kiln/busybox', 'image-busybox');
    expect(await one.locator('svg.chart circle.point').count()).toBe(busybox.length);
    await one.close();
  });

  it('renders the list in Chromium with working links and no serious accessibility violations', async () => {
    const page = await open('/', 'images');
    expect(await page.locator('tbody tr').count()).toBe((await api<ImagesListView>('/images')).images.length);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'kiln/jq' }).click();
    await page.waitForURL(/\/images\/kiln\/jq$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('kiln/jq');
    const digest = (await api<ImagePageView>('/images/kiln/jq')).tags[0]!.digest;
    await page.getByRole('link', { name: digest }).first().click();
    await page.waitForURL(/digest=sha256/);
    await page.close();
  });

  it('compares a factory-published image with another image with real numbers', async () => {
    const view = await api<CompareView>('/compare?left=kiln%2Fjq&right=busybox-layout');
    const jq = await api<ImagePageView>('/images/kiln/jq');
    expect(view.left!.packages).toBe(jq.packages.items.length);
    expect(view.left!.shell).toBe(false);
    expect(view.right!.shell).toBe(true);
    expect(view.left!.compressedSize).toBeGreaterThan(0);
    const page = await open('/compare?left=kiln%2Fjq&right=busybox-layout', 'compare');
    const cells = await page.locator('table.compare tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('th,td')].map((cell) => cell.textContent)));
    expect(cells.find((row) => row[0] === 'Packages')).toEqual(['Packages', String(view.left!.packages), String(view.right!.packages)]);
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
    expect(errors).toEqual([]);
  });
});
