// apk resolver: parse the real Alpine 3.17 (aarch64) APKINDEX, build the solver's package universe
// from it, and resolve a base system and a heavy build world, reporting medians against the aims
// (parse < 150 ms, resolve < 20 ms). apk-tools itself is the natural peer but cannot be installed on
// the benchmark machine (not packaged in Debian 12, and no other download source is reachable), so
// the table compares against the aims only.
import { createReadStream } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readIndex, resolve, Resolver } from '../src/apk/index.ts';
import type { PackageRecord } from '../src/apk/index.ts';
import type { BenchContext } from './run.ts';

const RUNS = 9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeAsync(runs: number, body: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await body();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

function timeSync(runs: number, body: () => unknown): number {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    body();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

const WORLDS: Array<{ label: string; world: string }> = [
  { label: 'base system', world: 'alpine-base' },
  { label: 'base system (explicit)', world: 'busybox musl apk-tools alpine-baselayout' },
  { label: 'heavy build world', world: 'build-base python3 py3-setuptools git curl openssl-dev perl cmake' },
];

export default async function bench(context: BenchContext): Promise<string> {
  const file = join(context.root, 'test', 'fixtures', 'apk', 'apko', 'alpine-317', 'APKINDEX.tar.gz');
  const arch = 'aarch64';
  let records: PackageRecord[] = [];
  const load = async (): Promise<void> => {
    records = (await readIndex(createReadStream(file), { allowUntrusted: true, name: 'alpine-317/APKINDEX.tar.gz' })).records;
  };
  await load();
  context.log(`index: ${records.length} records`);
  const parseMs = await timeAsync(RUNS, load);
  const repositories = [{ records }];
  const openMs = timeSync(RUNS, () => new Resolver({ repositories, arch }));
  const resolver = new Resolver({ repositories, arch });

  const rows: string[] = [];
  for (const { label, world } of WORLDS) {
    const result = resolve({ repositories, world, arch });
    const totalMs = timeSync(RUNS, () => resolve({ repositories, world, arch }));
    // Solve only: one universe (Resolver), the world resolved repeatedly.
    const solveMs = timeSync(RUNS, () => resolver.resolve(world));
    context.log(`${label}: ${result.install.length} packages, solve ${solveMs.toFixed(1)} ms, total ${totalMs.toFixed(1)} ms`);
    rows.push(`| ${label} (\`${world}\`) | ${result.install.length} | ${solveMs.toFixed(1)} | ${totalMs.toFixed(1)} | ${(solveMs / 20).toFixed(2)} |`);
  }

  return [
    '## apk resolve',
    '',
    `Alpine 3.17 \`main\` aarch64 index (${records.length} records, fixture \`test/fixtures/apk/apko/alpine-317/APKINDEX.tar.gz\`). Median of ${RUNS} runs, milliseconds.`,
    'Peer: apk-tools 3.0.6 cannot be installed on this machine (not in Debian 12; no other download source), so the',
    'numbers are compared with the aims instead of a side-by-side run.',
    `Machine load average while measuring: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) — other jobs share the cores.`,
    '',
    '| step | median ms | aim ms | ratio to aim |',
    '|---|---|---|---|',
    `| parse index (gunzip + tar + records, \`readIndex\`) | ${parseMs.toFixed(1)} | 150 | ${(parseMs / 150).toFixed(2)} |`,
    `| build solver universe from records (\`new Resolver\`) | ${openMs.toFixed(1)} | — | — |`,
    '',
    '| world | packages | Resolver.resolve ms (aim 20) | resolve() incl. universe ms | ratio to aim |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '`resolve()` builds the universe from the records on every call; `new Resolver(...)` builds it once and',
    '`Resolver.resolve(world)` then costs only the solve (plus rendering apk\'s output text).',
  ].join('\n');
}
