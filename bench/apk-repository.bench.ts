// apk repository client: cold (empty cache) vs warm (cached) index load and package fetch from a
// loopback repository server, against curl downloading the same bytes without any verification.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApkCache, RepositoryClient, SchemeFetcher, loadRepositoryKeyring, parseRepository, planInstall } from '../src/apk/repository/index.ts';
import type { PackageSource } from '../src/apk/repository/index.ts';
import { startRepoServer } from '../src/apk/repository/test-server.ts';
import type { BenchContext } from './run.ts';

const RUNS = 7;
// Asynchronous: the server runs in this process, so a synchronous child would deadlock it.
const run = promisify(execFile);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(runs: number, setup: () => Promise<void>, body: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    await setup();
    const start = performance.now();
    await body();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

export default async function bench(context: BenchContext): Promise<string> {
  const fixtures = join(context.root, 'test', 'fixtures', 'apk');
  const source = await mkdtemp(join(tmpdir(), 'kiln-bench-repo-'));
  await mkdir(join(source, 'alpine', 'x86_64'), { recursive: true });
  await cp(join(fixtures, 'apko', 'alpine-316', 'APKINDEX.tar.gz'), join(source, 'alpine', 'x86_64', 'APKINDEX.tar.gz'));
  await cp(join(fixtures, 'apko-cli-packages'), join(source, 'melange'), { recursive: true });
  const server = await startRepoServer(source);
  const cacheRoot = await mkdtemp(join(tmpdir(), 'kiln-bench-cache-'));
  const fetcher = new SchemeFetcher();
  try {
    const alpineKeys = await loadRepositoryKeyring([join(fixtures, 'keys')]);
    const melangeKeys = await loadRepositoryKeyring([join(fixtures, 'apko-cli-packages', 'melange.rsa.pub')]);
    const alpine = parseRepository(`${server.url}/alpine`, 'bench');
    const melange = parseRepository(`${server.url}/melange`, 'bench');
    const client = (keyring: typeof alpineKeys, maxAge = 0): RepositoryClient =>
      new RepositoryClient({ fetcher, cache: new ApkCache(cacheRoot), keyring, indexMaxAgeMs: maxAge });
    const emptyCache = async (): Promise<void> => {
      await rm(cacheRoot, { recursive: true, force: true });
    };
    const noop = async (): Promise<void> => undefined;

    context.log('alpine index');
    let records = 0;
    const coldIndex = await time(RUNS, emptyCache, async () => {
      records = (await client(alpineKeys).loadIndex(alpine, 'x86_64')).records.length;
    });
    const revalidated = await time(RUNS, noop, async () => {
      await client(alpineKeys).loadIndex(alpine, 'x86_64');
    });
    const warmIndex = await time(RUNS, noop, async () => {
      await client(alpineKeys, 3_600_000).loadIndex(alpine, 'x86_64');
    });
    const curlIndex = await time(RUNS, noop, async () => {
      await run('curl', ['-sf', '-o', '/dev/null', `${server.url}/alpine/x86_64/APKINDEX.tar.gz`]);
    });

    context.log('alpine index + resolve');
    const world = ['alpine-base', 'curl', 'openssl'];
    let planned = 0;
    const resolveOnce = async (maxAge: number): Promise<void> => {
      const index = await client(alpineKeys, maxAge).loadIndex(alpine, 'x86_64');
      planned = planInstall([index], world, 'x86_64').install.length;
    };
    const coldResolve = await time(RUNS, emptyCache, () => resolveOnce(0));
    const revalidatedResolve = await time(RUNS, noop, () => resolveOnce(0));
    const warmResolve = await time(RUNS, noop, () => resolveOnce(3_600_000));

    context.log('packages');
    let sources: PackageSource[] = [];
    const load = async (): Promise<void> => {
      const index = await client(melangeKeys).loadIndex(melange, 'x86_64');
      sources = index.records.map((record) => ({ record, repository: melange, arch: 'x86_64' }));
    };
    const coldPackages = await time(RUNS, async () => {
      await emptyCache();
      await load();
    }, async () => {
      await client(melangeKeys).fetchPackages(sources);
    });
    const warmPackages = await time(RUNS, noop, async () => {
      await client(melangeKeys).fetchPackages(sources);
    });
    const curlPackages = await time(RUNS, noop, async () => {
      await run('curl', ['-sf', ...sources.flatMap((item) => ['-o', '/dev/null', `${server.url}/melange/x86_64/${item.record.name}-${item.record.version}.apk`])]);
    });

    const ms = (value: number): string => value.toFixed(1);
    const ratio = (value: number, peer: number): string => `${(value / peer).toFixed(2)}×`;
    return [
      '## apk repository client',
      '',
      `Loopback HTTP server (in-process), median of ${RUNS} runs, milliseconds. "cold" = empty cache; "revalidated" = cached`,
      'index confirmed by a 304; "warm" = cached index younger than --cache-max-age (no request). Every kiln row verifies',
      'signatures / identities / datahashes; the curl peer (one process per run) only downloads the same bytes.',
      '',
      '| operation | kiln cold | kiln revalidated | kiln warm | curl download only | cold / curl |',
      '|---|---|---|---|---|---|',
      `| Alpine 3.16 main x86_64 index (655 KB, ${records} records): fetch + RSA verify + parse | ${ms(coldIndex)} | ${ms(revalidated)} | ${ms(warmIndex)} | ${ms(curlIndex)} | ${ratio(coldIndex, curlIndex)} |`,
      `| same index + resolve \`${world.join(' ')}\` (${planned} packages) | ${ms(coldResolve)} | ${ms(revalidatedResolve)} | ${ms(warmResolve)} | ${ms(curlIndex)} | ${ratio(coldResolve, curlIndex)} |`,
      `| ${sources.length} melange packages: download + identity + datahash (concurrency 6) | ${ms(coldPackages)} | — | ${ms(warmPackages)} | ${ms(curlPackages)} | ${ratio(coldPackages, curlPackages)} |`,
      '',
      'Warm package fetches re-verify each cached file (control-member SHA-1 and data SHA-256) before use.',
    ].join('\n');
  } finally {
    fetcher.close();
    await server.close();
    await rm(cacheRoot, { recursive: true, force: true });
    await rm(source, { recursive: true, force: true });
  }
}
