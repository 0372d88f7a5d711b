// Vulnerability scan: a synthetic index about the size of a distribution's full feeds (8 000 source
// packages × 10 secdb entries = 80 000 records, 20 000 NVD CPE ranges, 30 000 scored CVEs) and a
// 200-package installed database (with subpackages mapped through their origins); reports the
// median time to index the feeds and to scan in process (read the database + match + rank) against
// the aim (scan < 50 ms). Trivy, the peer the issue names, needs its own database
// downloaded from a registry, which the benchmark machine cannot reach; it is not compared here.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/lib/index.ts';
import { parseFeedParts, readScanTarget, scanContents, SqliteVulnIndex, updateFeeds } from '../src/vuln/index.ts';
import type { FeedConfig } from '../src/vuln/index.ts';
import type { BenchContext } from './run.ts';

const RUNS = 30;
const WARMUP = 5;
const PACKAGES = 8000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export default async function bench(context: BenchContext): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'kiln-vuln-bench-'));
  try {
    const secdb = {
      distroversion: 'v3.20',
      urlprefix: 'https://dl-cdn.alpinelinux.org/alpine',
      packages: Array.from({ length: PACKAGES }, (_, n) => ({
        pkg: { name: `pkg${n}`, secfixes: Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`1.${k}.0-r0`, [`CVE-2099-${String(100000 + n * 10 + k)}`]])) },
      })),
    };
    const nvd = {
      vulnerabilities: Array.from({ length: 30000 }, (_, n) => ({
        cve: {
          id: `CVE-2099-${String(100000 + n)}`,
          metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', cvssData: { version: '3.1', baseScore: (n % 100) / 10, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } }] },
          ...(n < 20000 ? { configurations: [{ nodes: [{ cpeMatch: [{ vulnerable: true, criteria: `cpe:2.3:a:vendor:pkg${n % PACKAGES}:*:*:*:*:*:*:*:*`, versionEndExcluding: '1.5.0' }] }] }] } : {}),
        },
      })),
    };
    await writeFile(join(work, 'secdb.json'), JSON.stringify(secdb));
    await writeFile(join(work, 'nvd.json'), JSON.stringify(nvd));
    const installed = Array.from({ length: 200 }, (_, n) => {
      const origin = `pkg${n * 37}`;
      const name = n % 3 === 0 ? `lib${origin}` : origin;
      return `C:Q1${Buffer.alloc(20, n).toString('base64')}\nP:${name}\nV:1.${n % 10}.0-r${n % 4}\nA:x86_64\nS:1000\nI:4000\nT:package ${n}\nU:https://example.invalid\nL:MIT\no:${origin}\n`;
    });
    await writeFile(join(work, 'installed'), `${installed.join('\n')}\n`);

    const feeds: FeedConfig[] = [
      { name: 'alpine', type: 'secdb', location: join(work, 'secdb.json'), isRemote: false },
      { name: 'nvd', type: 'nvd', location: join(work, 'nvd.json'), isRemote: false },
    ];
    context.log('indexing');
    const parseStart = performance.now();
    parseFeedParts([{ name: 'secdb.json', data: Buffer.from(JSON.stringify(secdb)) }], { feed: 'alpine', type: 'secdb' });
    const parseMs = performance.now() - parseStart;
    const index = new SqliteVulnIndex(join(work, 'db', 'vuln.sqlite'));
    const updateStart = performance.now();
    await updateFeeds({ feeds, index, fetcher: { fetch: () => Promise.reject(new Error('offline')) }, cacheDir: join(work, 'cache'), now: () => new Date(), logger: silentLogger });
    const updateMs = performance.now() - updateStart;
    index.close();

    context.log('scanning');
    const reader = new SqliteVulnIndex(join(work, 'db', 'vuln.sqlite'), { readonly: true });
    const wall: number[] = [];
    const cpu: number[] = [];
    let findings = 0;
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      const report = scanContents(await readScanTarget(join(work, 'installed'), { ecosystem: 'alpine:3.20' }), reader);
      const elapsed = performance.now() - start;
      const used = process.cpuUsage(cpuStart);
      findings = report.findings.length;
      if (run >= WARMUP) {
        wall.push(elapsed);
        cpu.push((used.user + used.system) / 1000);
      }
    }
    reader.close();
    const scanWall = median(wall);
    return `## vuln

Synthetic index: ${PACKAGES} source packages × 10 secdb entries (80 000 records), 20 000 NVD CPE ranges, 30 000 scored CVEs;
a 200-package installed database (a third of them subpackages). Load average at start: ${loadavg()[0]!.toFixed(1)}.

| step | median | aim |
|---|---|---|
| parse the secdb (80 000 records) | ${parseMs.toFixed(0)} ms (one run) | — |
| \`updateFeeds\` (parse + index both feeds in SQLite) | ${(updateMs / 1000).toFixed(1)} s (one run) | — |
| scan 200 packages in process (read db, match, rank; ${findings} findings) | ${scanWall.toFixed(1)} ms wall, ${median(cpu).toFixed(1)} ms CPU (${RUNS} runs) | < 50 ms ${scanWall < 50 ? '✓' : '✗'} |
`;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
