// Helpers for the web catalog's whole-system tests: Kiln's registry with the catalog mounted (in
// this process, as `kiln catalog serve` composes it), real Kiln OS images published into it with
// `kiln image publish`, and Debian's Chromium driven by playwright-core.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { catalogExtension, loadRegistryConfig, startRegistry } from '../../src/app/index.ts';
import type { RunningRegistry } from '../../src/app/index.ts';
import { silentLogger } from '../../src/lib/index.ts';
import { loadPublicKey } from '../../src/sign/index.ts';
import { readFile } from 'node:fs/promises';

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
