// CLI start-up benchmark: the built CLI (`node dist/kiln.js`, the bundle the `kiln` bin runs) timed as a whole
// process beside `node -e 0`, the floor any Node.js program pays, for `--version`, `--help` and a
// command's help; and `kiln apk resolve` beside apk-tools' `apk add --simulate` for the same plan
// (Alpine 3.17 index from the fixtures, as a file repository) when an apk-tools 3 binary is given.
// Public tools only: /usr/bin/time takes user + system CPU of a batch of runs (its counters tick in
// 10 ms, so a batch of BATCH runs gives each run's share to about 1 ms), process.hrtime the wall
// time; the two commands of a pair run in turn (A B A B …) and the ratio is taken pair by pair, so
// the machine's drifting load affects both sides alike.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext } from './run.ts';

const SAMPLES = Number(process.env.KILN_BENCH_CLI_SAMPLES ?? 21);
const BATCH = 10;
/** Batches (of PEER_BATCH runs) for the rows beside apk-tools: a resolve run costs 20 times a start. */
const PEER_SAMPLES = Number(process.env.KILN_BENCH_PEER_SAMPLES ?? 15);
const PEER_BATCH = 5;

interface Figures {
  /** Median CPU ms (user + system) of one run of A and of B. */
  cpu: [number, number];
  /** Median wall ms of one run of A and of B. */
  wall: [number, number];
  /** Median of the pairwise ratios A/B. */
  cpuRatio: number;
  wallRatio: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** CPU and wall ms per run of `runs` runs of `command` in one `/usr/bin/time sh -c 'loop'`. */
function batch(command: readonly string[], runs: number, cwd: string): { cpu: number; wall: number } {
  const loop = `i=0; while [ $i -lt ${runs} ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done`;
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', 'sh', '-c', loop, 'sh', ...command], { cwd, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  const line = /cpu (\d+\.\d+) (\d+\.\d+)\s*$/.exec(result.stderr);
  if (result.status !== 0 || !line) throw new Error(`${command.join(' ')}: /usr/bin/time failed: ${result.stderr}`);
  return { cpu: ((Number(line[1]) + Number(line[2])) * 1000) / runs, wall };
}

/** A and B in turn, `samples` batches each after one untimed batch. */
function pair(a: readonly string[], b: readonly string[], cwd: string, samples = SAMPLES, runs = BATCH): Figures {
  batch(a, 1, cwd);
  batch(b, 1, cwd);
  const cpu: [number[], number[]] = [[], []];
  const wall: [number[], number[]] = [[], []];
  const cpuRatio: number[] = [];
  const wallRatio: number[] = [];
  for (let i = 0; i < samples; i++) {
    const x = batch(a, runs, cwd);
    const y = batch(b, runs, cwd);
    cpu[0].push(x.cpu);
    cpu[1].push(y.cpu);
    wall[0].push(x.wall);
    wall[1].push(y.wall);
    cpuRatio.push(x.cpu / y.cpu);
    wallRatio.push(x.wall / y.wall);
  }
  return { cpu: [median(cpu[0]), median(cpu[1])], wall: [median(wall[0]), median(wall[1])], cpuRatio: median(cpuRatio), wallRatio: median(wallRatio) };
}

/** Runs a command once, checking its exit code, and returns its stdout. */
function output(command: readonly string[], cwd: string, expectCode = 0): string {
  const result = spawnSync(command[0]!, command.slice(1), { cwd, encoding: 'utf8' });
  if (result.status !== expectCode) throw new Error(`${command.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** An apk-tools 3 binary: $KILN_BENCH_APK, else `apk` on the PATH if it is version 3. */
function findApkTools(): string | undefined {
  const candidates = [process.env.KILN_BENCH_APK, 'apk'].filter((path): path is string => Boolean(path));
  for (const path of candidates) {
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (version.status === 0 && /^apk-tools 3\./.test(version.stdout)) return path;
  }
  return undefined;
}

const ms = (value: number): string => value.toFixed(1);
/** CPU figures come in 1 ms steps (10 ms ticks over a batch of 10): whole milliseconds. */
const cpuMs = (value: number): string => value.toFixed(0);

export default async function cliBench(ctx: BenchContext): Promise<string> {
  const main = join(ctx.root, 'dist/kiln.js');
  if (!existsSync(main)) {
    ctx.log('building dist/ (npm run build)');
    execFileSync('npm', ['run', 'build'], { cwd: ctx.root, stdio: 'ignore' });
  }
  const kiln = [process.execPath, main];
  const node = [process.execPath, '-e', '0'];
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-cli-'));
  const loadBefore = loadavg().map((value) => value.toFixed(1)).join(' / ');
  try {
    const rows: string[] = [];
    const measured = new Map<string, Figures>();
    const cases: Array<{ args: string[]; what: string; aim?: string }> = [
      { args: ['--version'], what: '`kiln --version`', aim: '≤ 1.5×' },
      { args: ['--help'], what: '`kiln --help`', aim: '≤ 1.5×' },
      { args: ['image', 'build', '--help'], what: '`kiln image build --help`' },
      { args: ['apk', 'resolve', '--help'], what: '`kiln apk resolve --help` (loads the command: `--arch` help names the machine)' },
    ];
    // Every run before commands loaded lazily: all command modules imported and registered, then --version.
    const eager = [
      process.execPath,
      '--input-type=module',
      '-e',
      `const { loadProgram } = await import(${JSON.stringify(pathToFileURL(join(ctx.root, 'dist/cli/program.js')).href)});
       const write = (text) => process.stdout.write(text);
       const program = await loadProgram({ stdout: write, stderr: write, env: process.env, cwd: process.cwd(), isTTY: false });
       await program.parseAsync(['--version'], { from: 'user' }).catch(() => undefined);`,
    ];
    for (const { args, what, aim } of [...cases, { args: [], what: '`--version` with every command module loaded first (`loadProgram`), as every run did before' }]) {
      const command = args.length ? [...kiln, ...args] : eager;
      ctx.log(`${args.length ? args.join(' ') : 'all modules loaded'} vs node -e 0`);
      output(command, dir);
      const figures = pair(command, node, dir);
      measured.set(args.join(' '), figures);
      rows.push(`| ${what} | ${cpuMs(figures.cpu[0])} | ${ms(figures.wall[0])} | ${cpuMs(figures.cpu[1])} | ${ms(figures.wall[1])} | **${figures.cpuRatio.toFixed(2)}×** | ${figures.wallRatio.toFixed(2)}× | ${aim ?? '—'} |`);
    }

    const repo = join(dir, 'repo');
    await mkdir(join(repo, 'aarch64'), { recursive: true });
    await copyFile(join(ctx.root, 'test/fixtures/apk/apko/alpine-317/APKINDEX.tar.gz'), join(repo, 'aarch64/APKINDEX.tar.gz'));
    const world = ['python3', 'gcc'];
    const resolveCommand = [...kiln, 'apk', 'resolve', '--allow-untrusted', '--arch', 'aarch64', '--cache-dir', join(dir, 'cache'), '-X', repo, ...world];
    const kilnPlan = output(resolveCommand, dir);
    const apk = findApkTools();
    let peer: string;
    if (apk) {
      ctx.log(`apk resolve vs ${apk} add --simulate`);
      const root = join(dir, 'root');
      await mkdir(root);
      output([apk, '--root', root, '--arch', 'aarch64', '--initdb', 'add'], dir);
      const apkCommand = [apk, '--root', root, '--arch', 'aarch64', '--allow-untrusted', '--no-cache', '--no-network', '--repository', repo, 'add', '--simulate', ...world];
      const samePlan = output(apkCommand, dir) === kilnPlan;
      const figures = pair(resolveCommand, apkCommand, dir, PEER_SAMPLES, PEER_BATCH);
      // The first run over indexes: no prepared universe yet, so it parses the records and builds the
      // universe, and marks the indexes as seen (the cache entry is removed before every run; the
      // shell and rm are in Kiln's figure).
      const universes = join(dir, 'cache', 'apk', 'universes');
      const firstRun = ['sh', '-c', 'rm -rf "$0" && exec "$@"', universes, ...resolveCommand];
      const first = pair(firstRun, apkCommand, dir, PEER_SAMPLES, PEER_BATCH);
      // Node.js reads NODE_EXTRA_CA_CERTS's bundle at every start, before any script runs: where the
      // environment sets it, the same rows without it show what Kiln costs on a machine that does not.
      const extraCerts = process.env.NODE_EXTRA_CA_CERTS;
      const withoutCerts = extraCerts
        ? { resolve: pair(['env', '-u', 'NODE_EXTRA_CA_CERTS', ...resolveCommand], apkCommand, dir, PEER_SAMPLES, PEER_BATCH), node: pair(['env', '-u', 'NODE_EXTRA_CA_CERTS', ...node], node, dir) }
        : undefined;
      const version = /apk-tools [\d.]+/.exec(output([apk, '--version'], dir))?.[0] ?? 'apk-tools';
      const startup = measured.get('apk resolve --help')!;
      const row = (what: string, f: Figures, aim: string): string =>
        `| ${what} | ${cpuMs(f.cpu[0])} | ${ms(f.wall[0])} | ${cpuMs(f.cpu[1])} | ${ms(f.wall[1])} | **${f.cpuRatio.toFixed(2)}×** | ${f.wallRatio.toFixed(2)}× | ${aim} | ${samePlan ? 'yes' : 'NO'} |`;
      peer = [
        '| command | Kiln CPU ms | Kiln wall ms | apk-tools CPU ms | apk-tools wall ms | CPU ratio | wall ratio | aim | same plan |',
        '|---|---:|---:|---:|---:|---:|---:|---|---|',
        row(`\`kiln apk resolve ${world.join(' ')}\` vs \`apk add --simulate ${world.join(' ')}\` (${version}, empty root)`, figures, '≤ 4×'),
        row('the same, first run over the index (no prepared universe: records parsed, universe built)', first, '—'),
        ...(withoutCerts ? [row('the first row with NODE_EXTRA_CA_CERTS unset for Kiln (see below)', withoutCerts.resolve, '—')] : []),
        '',
        ...(withoutCerts
          ? [
              `This machine's environment sets NODE_EXTRA_CA_CERTS (\`${extraCerts}\`): every Node.js process then parses that CA bundle`,
              `as it starts, before any script runs. \`node -e 0\` costs ${cpuMs(withoutCerts.node.cpu[1])} ms of CPU with it and ${cpuMs(withoutCerts.node.cpu[0])} ms without: the aim is`,
              'measured as the machine is, the row above shows a machine without it.',
              '',
            ]
          : []),
        `Of Kiln's ${cpuMs(figures.cpu[0])} ms of CPU, ${cpuMs(startup.cpu[0])} ms is starting up with the command's code loaded (the \`kiln apk resolve --help\` row: Node.js`,
        'itself, commander and the bundle chunk of the apk domain); the rest is checking the index (its digest and its signature), reading the',
        'prepared universe (its body\'s digest and table shapes, then the planned packages\' records), the solve, and garbage collection. The prepared universe is kept in the cache',
        '(`apk/universes/`), keyed by the index bytes, the key that signed them, the repositories and the architecture. It is stored the',
        'second time the same index is seen (that run costs the first row\'s work plus writing it); a run over an index never seen before',
        'builds the universe from the records (second row). CPU can exceed wall time because V8 collects garbage on other threads.',
      ].join('\n');
    } else {
      peer = `apk-tools 3 was not found (set KILN_BENCH_APK to an apk-tools 3 binary), so \`kiln apk resolve ${world.join(' ')}\` has no peer figure in this run.`;
    }
    const loadAfter = loadavg().map((value) => value.toFixed(1)).join(' / ');

    return `## CLI start-up

Whole process, from start to exit, of the built CLI (\`node dist/kiln.js\`, the bundle the \`kiln\` bin runs) beside \`node -e 0\` (the cost of
starting Node.js at all), run in turn. Each figure is the median of ${SAMPLES} batches of ${BATCH} runs (user + system CPU
from /usr/bin/time over the batch, wall time from process.hrtime, both per run); the ratio is the median of the
pairwise ratios. Only the module of the command that runs is imported: the program declares the top-level commands
from \`src/cli/command-outlines.ts\`, and the rest from \`src/cli/command-manifest.ts\` once a run reaches a command (which
is what \`kiln image build --help\` pays beyond \`kiln --help\`). The last row loads every command module first, as
every run did before that change; measured on the code before it (commit bb14dee, same machine, whole-process figures,
median of 11), \`kiln --version\` took 885 ms of CPU, 8.99× \`node -e 0\`, and \`kiln --help\` 894 ms, 8.78×.
Machine load average (1/5/15 min): ${loadBefore} before, ${loadAfter} after — other jobs share the cores.

| command | Kiln CPU ms | Kiln wall ms | \`node -e 0\` CPU ms | \`node -e 0\` wall ms | CPU ratio | wall ratio | aim |
|---|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}

### \`kiln apk resolve\` beside apk-tools

Alpine 3.17 \`main\` aarch64 index (5004 records, \`test/fixtures/apk/apko/alpine-317/APKINDEX.tar.gz\`) as a file
repository, world \`${world.join(' ')}\`, nothing installed; medians of ${PEER_SAMPLES} batches of ${PEER_BATCH} runs, run in turn. "Same plan" compares
Kiln's output with apk's byte for byte. apk-tools is built from its v3.0.6 tag (static, meson); give its binary as
KILN_BENCH_APK.

${peer}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
