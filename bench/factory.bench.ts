// The factory: a first run that publishes every Kiln OS catalog image (signed, with SBOM and
// provenance attestations) to Kiln's own registry on loopback, then the run with nothing changed
// (the daily run on a quiet day; aim < 3 s for the whole catalog). Uses the Kiln OS build cached by
// test/e2e/kiln-os.test.ts (copied), in-process through the CLI; a process run too once
// dist/cli/main.js knows `kiln factory run`.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runKiln } from '../test/e2e/cli-support.ts';
import { startKiln } from '../test/e2e/registry-support.ts';
import type { BenchContext } from './run.ts';

const run = promisify(execFile);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export default async function bench(context: BenchContext): Promise<string> {
  const cache = join(process.env.KILN_TEST_CACHE_DIR ?? join(tmpdir(), 'kiln-test-cache'), 'kiln-os');
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-factory-'));
  const env = { ...process.env, COSIGN_PASSWORD: 'bench' };
  const registry = await startKiln(join(work, 'registry'));
  try {
    await cp(join(cache, 'out'), join(work, 'out'), { recursive: true });
    for (const key of ['kiln-os.rsa', 'kiln-os.rsa.pub']) await cp(join(cache, key), join(work, key));
    await cp(join(context.root, 'os'), join(work, 'os'), { recursive: true });
    const kiln = (args: string[]) => runKiln(args, { cwd: work, env });
    await kiln(['generate-key-pair']);
    await writeFile(join(work, 'factory.yaml'), `os-dir: os\nout-dir: out\nstate-dir: state\nsigning-key: kiln-os.rsa\ndebian-source-cache: ${join(cache, 'debian-sources')}\nregistry: ${registry.host}/kiln\ncosign-key: cosign.key\nupdates:\n  debian:\n    apt: false\n`);
    const factory = async () => {
      const started = performance.now();
      const result = await kiln(['factory', 'run', '--config', join(work, 'factory.yaml'), '--json']);
      if (result.code !== 0) throw new Error(`factory run failed: ${result.stderr}`);
      return { ms: performance.now() - started, report: JSON.parse(result.stdout) as { published: unknown[]; durationMs: number } };
    };
    const load = loadavg().map((value) => value.toFixed(1)).join(' / ');
    context.log('first run: every image built, signed, attested and published');
    const first = await factory();
    const quiet: number[] = [];
    const inRun: number[] = [];
    for (let round = 0; round < 7; round++) {
      const next = await factory();
      if (next.report.published.length !== 0) throw new Error('a run with nothing changed published something');
      quiet.push(next.ms);
      inRun.push(next.report.durationMs);
    }
    const dist = join(context.root, 'dist', 'cli', 'main.js');
    let processMs: number | undefined;
    const help = await run('node', [dist, '--help'], { env }).catch(() => ({ stdout: '' }));
    if (/^\s+factory\b/m.test(help.stdout)) {
      const times: number[] = [];
      for (let round = 0; round < 5; round++) {
        const started = performance.now();
        await run('node', [dist, 'factory', 'run', '--config', join(work, 'factory.yaml')], { env, cwd: work });
        times.push(performance.now() - started);
      }
      processMs = median(times);
    }
    return [
      '## factory',
      '',
      `Kiln OS's catalog (${first.report.published.length} images) published by \`kiln factory run\` to \`kiln registry serve\` on loopback, key-signed with SBOM and SLSA provenance attestations; then the run with nothing changed, which must publish nothing. In-process through the CLI (module loading excluded); median of 7. Load average: ${load}.`,
      '',
      '| run | wall | in the run | aim |',
      '|---|---|---|---|',
      `| first run: build, sign, attest, publish every image | ${(first.ms / 1000).toFixed(1)} s | ${(first.report.durationMs / 1000).toFixed(1)} s | — |`,
      `| nothing changed (in-process) | ${median(quiet).toFixed(0)} ms | ${median(inRun).toFixed(0)} ms | 3 s |`,
      ...(processMs !== undefined ? [`| nothing changed (\`node dist/cli/main.js factory run\`) | ${processMs.toFixed(0)} ms | — | 3 s |`] : []),
    ].join('\n');
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
