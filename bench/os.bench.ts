// Kiln OS: the cold build of the whole set (every recipe compiled from the Debian sources, which
// are fetched beforehand and not timed), the no-op rebuild, and the size of each catalog image
// beside what Debian or distroless ship for the same job. The cold build takes minutes: run it with
// `npm run bench -- os`. KILN_BENCH_OS_CACHE keeps the source cache between runs.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext } from './run.ts';

const run = promisify(execFile);

interface Summary {
  images: { name: string; layout: string }[];
}

async function imageSizes(layout: string): Promise<{ compressed: number; uncompressed: number }> {
  const blob = async (digest: string) => readFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const top = JSON.parse((await blob(index.manifests[0]!.digest)).toString('utf8')) as { manifests?: { digest: string }[]; layers?: { digest: string; size: number }[] };
  const manifest = top.manifests ? (JSON.parse((await blob(top.manifests[0]!.digest)).toString('utf8')) as { layers: { digest: string; size: number }[] }) : (top as { layers: { digest: string; size: number }[] });
  let uncompressed = 0;
  for (const layer of manifest.layers) {
    const { stdout } = await run('sh', ['-c', `gzip -dc < '${join(layout, 'blobs', 'sha256', layer.digest.slice(7))}' | wc -c`]);
    uncompressed += Number(stdout.trim());
  }
  return { compressed: manifest.layers.reduce((sum, layer) => sum + layer.size, 0), uncompressed };
}

/** Installed-Size of Debian's curl and every package it depends on, recursively (what apt would
 *  add to an empty root for `curl`), in bytes. */
async function debianCurlSize(): Promise<number> {
  const { stdout } = await run('apt-cache', ['depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', '--no-pre-depends', 'curl'], { maxBuffer: 16 * 1024 * 1024 });
  const names = new Set(stdout.split('\n').filter((line) => /^[a-z0-9]/.test(line)).map((line) => line.trim()));
  let kib = 0;
  for (const name of names) {
    const show = await run('apt-cache', ['show', '--no-all-versions', name]).catch(() => ({ stdout: '' }));
    kib += Number(/^Installed-Size: (\d+)/m.exec(show.stdout)?.[1] ?? 0);
  }
  return kib * 1024;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

export default async function bench(context: BenchContext): Promise<string> {
  const kiln = join(context.root, 'dist', 'cli', 'main.js');
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-os-'));
  const sources = process.env.KILN_BENCH_OS_CACHE ?? join(tmpdir(), 'kiln-test-cache', 'kiln-os', 'debian-sources');
  try {
    const build = (out: string) => run('node', [kiln, 'os', 'build', '--os-dir', join(context.root, 'os'), '--out-dir', out, '--signing-key', join(work, 'kiln-os.rsa'), '--debian-source-cache', sources, '--json'], { maxBuffer: 64 * 1024 * 1024 });
    const out = join(work, 'out');
    context.log('cold build of every recipe and image (minutes)');
    let started = performance.now();
    const summary = JSON.parse((await build(out)).stdout) as Summary;
    const cold = performance.now() - started;
    const noop: number[] = [];
    for (let round = 0; round < 5; round++) {
      started = performance.now();
      await build(out);
      noop.push(performance.now() - started);
    }
    noop.sort((a, b) => a - b);
    const rows: string[] = [];
    for (const image of summary.images) {
      const size = await imageSizes(image.layout);
      rows.push(`| ${image.name} | ${mib(size.compressed)} | ${mib(size.uncompressed)} |`);
    }
    const debianCurl = await debianCurlSize();
    const recipes = (await readdir(join(context.root, 'os', 'packages'))).filter((name) => name.endsWith('.yaml')).length;
    return `## Kiln OS

Cold build of the whole set (${recipes} recipes, ${summary.images.length} images; Debian sources already in the cache, so
only compiling, packaging, signing and image assembly are timed): **${(cold / 60_000).toFixed(1)} min** (aim ≤ 15 min).
No-op rebuild (\`kiln os build\` with nothing changed, whole process): median **${(noop[2]! / 1000).toFixed(2)} s** of 5 (aim < 2 s).

| image | compressed layers | unpacked |
|---|---|---|
${rows.join('\n')}

For comparison: \`gcr.io/distroless/static-debian12\`, which holds what \`static\` holds, is "around 2 MiB" by
its project's README (quoted, not measured here). Debian bookworm's \`curl\` with every package it depends on
(\`apt-cache depends --recurse\`, summed \`Installed-Size\`; what apt adds to an empty root) is
**${mib(debianCurl)}** unpacked, against the unpacked \`curl\` image above (which also holds the CA bundle and
Kiln's base layout).
`;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
