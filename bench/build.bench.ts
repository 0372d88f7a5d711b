// Package-builder benchmarks: sandbox overhead per empty step (bubblewrap vs the same command run
// directly), a no-op build-all over 100 generated recipes that are all up to date, and GNU hello's
// build wall time against the same configure + make + make install run directly on the host.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './run.ts';
import { buildAll, buildRecipe, createApkPublisher, createBwrapRunner, createFakeRunner, createHostEnvironmentProvider } from '../src/build/index.ts';
import type { BuildEnvironmentProvider } from '../src/build/index.ts';
import { debianOrigTarball } from '../src/build/testing/debian-sources.ts';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;
const s = (value: number) => `${(value / 1000).toFixed(2)} s`;

async function stepOverhead(log: (message: string) => void): Promise<{ sandbox: number; direct: number }> {
  const runner = createBwrapRunner();
  const workspace = mkdtempSync(join(tmpdir(), 'kiln-bench-step-'));
  const spec = { rootfs: '/', mounts: [{ source: workspace, target: '/home/build', writable: true }], workdir: '/home/build', env: { PATH: '/usr/bin:/bin' }, argv: ['/bin/sh', '-c', 'true'], network: false };
  const sandbox: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 5; i++) await runner.run(spec, () => {});
  for (let i = 0; i < 40; i++) {
    let start = performance.now();
    await runner.run(spec, () => {});
    sandbox.push(performance.now() - start);
    start = performance.now();
    spawnSync('/bin/sh', ['-c', 'true'], { cwd: workspace, env: { PATH: '/usr/bin:/bin' } });
    direct.push(performance.now() - start);
  }
  rmSync(workspace, { recursive: true, force: true });
  log(`step overhead: sandbox ${ms(median(sandbox))}, direct ${ms(median(direct))}`);
  return { sandbox: median(sandbox), direct: median(direct) };
}

async function noopBuildAll(log: (message: string) => void): Promise<{ first: number; noop: number; recipes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-all-'));
  const recipes = join(dir, 'recipes');
  mkdirSync(recipes);
  const count = 100;
  for (let i = 0; i < count; i++) {
    // each recipe depends on up to two earlier ones, so the plan has real edges
    const deps = [i - 1, Math.floor(i / 2) - 1].filter((dep) => dep >= 0 && dep !== i).map((dep) => `      - pkg${dep}`);
    writeFileSync(
      join(recipes, `pkg${i}.yaml`),
      `package:\n  name: pkg${i}\n  version: 1.0.${i}\n${deps.length ? `  dependencies:\n    runtime:\n${[...new Set(deps)].join('\n')}\n` : ''}pipeline:\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/pkg${i}\n      echo ${i} > \${{targets.destdir}}/usr/share/pkg${i}/data\n`,
    );
  }
  const environment: BuildEnvironmentProvider = { name: 'bench', prepare: () => Promise.resolve({ rootfs: '/', kind: 'bootstrap-host', description: 'bench', packages: [], release: () => Promise.resolve() }) };
  const ports = { runner: createFakeRunner(), environment, publisher: createApkPublisher() };
  const out = join(dir, 'out');
  let start = performance.now();
  const first = await buildAll({ dir: recipes, outDir: out, arch: 'x86_64', jobs: 2 }, ports);
  const firstMs = performance.now() - start;
  if (first.outcomes.some((o) => o.status !== 'built')) throw new Error('initial build-all failed');
  start = performance.now();
  const second = await buildAll({ dir: recipes, outDir: out, arch: 'x86_64', jobs: 2 }, ports);
  const noop = performance.now() - start;
  if (second.outcomes.some((o) => o.status !== 'up-to-date')) throw new Error('no-op build-all rebuilt something');
  rmSync(dir, { recursive: true, force: true });
  log(`build-all: first ${s(firstMs)}, no-op ${s(noop)}`);
  return { first: firstMs, noop, recipes: count };
}

async function hello(root: string, log: (message: string) => void): Promise<{ floor: number; kiln: number; inSteps: number; timings: { step: string; ms: number }[] }> {
  const tarball = await debianOrigTarball('hello');
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-hello-'));
  // Floor: the same configure + make + make install, directly on the host.
  const src = join(dir, 'floor');
  mkdirSync(src);
  // the floor also unpacks the tarball, as the recipe's fetch step does
  let start = performance.now();
  execFileSync('tar', ['-x', '--strip-components=1', '-C', src, '-f', tarball]);
  execFileSync('/bin/sh', ['-c', `./configure --host=x86_64-pc-linux-gnu --build=x86_64-pc-linux-gnu --prefix=/usr --sysconfdir=/etc --libdir=/usr/lib --mandir=/usr/share/man --infodir=/usr/share/info --localstatedir=/var --disable-nls && make -j$(nproc) V=1 && make install DESTDIR=${dir}/floor-dest V=1`], { cwd: src, stdio: 'ignore' });
  const floor = performance.now() - start;
  log(`hello floor ${s(floor)}`);
  const recipeDir = join(dir, 'recipe');
  mkdirSync(recipeDir);
  execFileSync('cp', [join(root, 'test', 'fixtures', 'recipes', 'hello.yaml'), recipeDir]);
  start = performance.now();
  const result = await buildRecipe(
    { recipeFile: join(recipeDir, 'hello.yaml'), outDir: join(dir, 'out'), sourceDir: null, varsOverride: { 'source-uri': `file://${tarball}` }, sourceDateEpoch: 1700000000 },
    { runner: createBwrapRunner(), environment: createHostEnvironmentProvider(), publisher: createApkPublisher() },
  );
  const kiln = performance.now() - start;
  const inSteps = result.stepTimings.reduce((sum, timing) => sum + timing.ms, 0);
  log(`hello kiln ${s(kiln)} (${s(inSteps)} in steps: ${result.stepTimings.map((t) => `${t.step} ${t.ms}`).join(', ')})`);
  rmSync(dir, { recursive: true, force: true });
  return { floor, kiln, inSteps, timings: result.stepTimings };
}

export default async function bench(context: BenchContext): Promise<string> {
  const step = await stepOverhead(context.log);
  const all = await noopBuildAll(context.log);
  const build = await hello(context.root, context.log);
  const overhead = step.sandbox - step.direct;
  return `## Build

Package builder (\`kiln pkg build\` / \`build-all\`). Peers run in the same process and run: the same
command without a sandbox, and the same configure + make + make install directly on the host.

| measurement | kiln | peer | ratio | aim |
|---|---|---|---|---|
| empty pipeline step (median of 40) | ${ms(step.sandbox)} in bubblewrap | ${ms(step.direct)} \`sh -c true\` directly | ${(step.sandbox / step.direct).toFixed(1)}x (overhead ${ms(overhead)}) | overhead < 50 ms |
| no-op build-all, ${all.recipes} recipes all up to date | ${s(all.noop)} | first full build ${s(all.first)} (fake runner) | ${(all.noop / all.first).toFixed(3)} | < 2 s |
| GNU hello 2.10 build (bubblewrap, --bootstrap-host, incl. strip, split, SBOM, SCA, signing, index) | ${s(build.kiln)} | ${s(build.floor)} unpack + configure + make + make install on the host | ${(build.kiln / build.floor).toFixed(2)}x | < 1.2x |

Where hello's time went in Kiln: ${s(build.inSteps)} inside pipeline steps (${build.timings.map((t) => `${t.step} ${s(t.ms)}`).join(', ')}), ${s(build.kiln - build.inSteps)} outside them
(workspace, environment listing, SCA, SBOM, package writing, index). The machine's 2 cores are shared, so the
floor and Kiln's run can differ by load between the two runs.
`;
}
