// Helpers for the web catalog's whole-system tests: Kiln's registry with the catalog mounted (in
// this process, as `kiln catalog serve` composes it), real Kiln OS images published into it with
// `kiln image publish`, and Debian's Chromium driven by playwright-core.
import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { catalogExtension, loadRegistryConfig, startRegistry } from '../../src/app/index.ts';
import type { RunningRegistry } from '../../src/app/index.ts';
import { silentLogger } from '../../src/lib/index.ts';
import { loadPublicKey } from '../../src/sign/index.ts';

export const root = join(import.meta.dirname, '..', '..');

/** Starts Kiln's registry with the catalog on one loopback listener (port chosen by the kernel). */
export async function startCatalog(options: { dataDir: string; keyPath: string; vulnDbPath?: string; comparisons?: Array<{ name: string; image: string }>; historyPath?: string }): Promise<RunningRegistry> {
  const config = await loadRegistryConfig({ addr: '127.0.0.1:0', dataDir: options.dataDir, cwd: root, env: {} });
  const keys = [loadPublicKey(await readFile(options.keyPath, 'utf8'), options.keyPath)];
  return startRegistry(
    { ...config, log: { ...config.log, level: 'silent' } },
    silentLogger,
    catalogExtension({ keys, keyPath: options.keyPath, ...(options.vulnDbPath ? { vulnDbPath: options.vulnDbPath } : {}), comparisons: options.comparisons ?? [], ...(options.historyPath ? { historyPath: options.historyPath } : {}), cwd: root, logger: silentLogger }),
  );
}

/** Debian's Chromium through playwright-core, headless, with a fresh profile (its user data dir). */
export async function launchChromium(): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'kiln-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** `kiln catalog serve ARGS` as a child process (the real CLI, with `env`), up once /healthz answers. */
export async function spawnCatalogServe(args: string[], env: NodeJS.ProcessEnv, url: string): Promise<{ log: () => string; stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'catalog', 'serve', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kiln catalog serve exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`kiln catalog serve did not come up:\n${log}`);
    const up = await fetch(`${url}/healthz`).then((response) => response.status < 500, () => false);
    if (up) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    log: () => log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The catalog's JSON API at `path` (under /api), which must answer 200. */
export async function catalogApi<T>(baseUrl: string, path: string): Promise<T> {
  const response = await fetch(`${baseUrl}/api${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

/** axe-core injected into the page: violations of impact serious or critical. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const axe = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy forbids inline scripts.
  await page.evaluate(axe);
  const result = await page.evaluate(async () => {
    const run = (window as unknown as { axe: { run: (context: Document, options: unknown) => Promise<{ passes: unknown[]; violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe.run;
    return run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
  });
  expect(result.passes.length).toBeGreaterThan(10);
  return result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}
