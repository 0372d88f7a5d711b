// Image assembly benchmark: a full `kiln image build` of a realistic configuration (30 packages of
// real ELF binaries and libraries from this machine, ~60 MiB installed) from a warm package cache,
// side by side with buildah making an image from the same unpacked root filesystem (from scratch,
// copy, commit to an OCI layout; vfs driver, isolated root/runroot) with gzip layers like Kiln's and
// with its default for a local layout (uncompressed layers), and the floor: compressing
// (Kiln's parallel gzip, level 5) plus SHA-256 of the same uncompressed layer bytes.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BenchContext } from './run.ts';
import { buildApkBuffer, buildIndex, generateSigningKey, loadSigningKey, pkgInfoToRecord, readApk } from '../src/apk/index.ts';
import type { ApkWriteEntry, PackageRecord } from '../src/apk/index.ts';
import { openRepositoryClient } from '../src/apk/repository/index.ts';
import { buildImage, loadImageConfigText } from '../src/image/index.ts';
import { LAYER_GZIP_OPTIONS, parallelGzip, writeOciLayout } from '../src/oci/index.ts';

const run = promisify(execFile);
const PACKAGES = 30;
const TARGET_BYTES = 60 * 1024 * 1024;
const RUNS = Number(process.env.KILN_BENCH_ROUNDS ?? 5);

async function hostFiles(): Promise<string[]> {
  const out: string[] = [];
  let total = 0;
  for (const dir of ['/usr/bin', '/usr/lib/x86_64-linux-gnu']) {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      if (!info.isFile() || info.size > 4 * 1024 * 1024 || info.size === 0) continue;
      out.push(path);
      total += info.size;
      if (total >= TARGET_BYTES) return out;
    }
  }
  return out;
}

/** Media type of the first layer of the image an OCI layout's index points at. */
async function layerMediaType(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const blob = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { layers: Array<{ mediaType: string }> };
  return manifest.layers[0]!.mediaType;
}

/** CPU seconds of this process (all threads) and of its waited-for children, from /proc. */
async function cpuSeconds(): Promise<{ self: number; children: number }> {
  const fields = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ');
  const tick = 100; // USER_HZ on Linux
  return { self: (Number(fields[11]) + Number(fields[12])) / tick, children: (Number(fields[13]) + Number(fields[14])) / tick };
}

/** Wall seconds, and CPU seconds of this process plus its children, spent in `fn`. */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = await cpuSeconds();
  const start = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu1 = await cpuSeconds();
  return { wall, cpu: cpu1.self - cpu0.self + (cpu1.children - cpu0.children) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export default async function imageBench(ctx: BenchContext): Promise<string> {
  const load = loadavg()[0]!;
  const work = await mkdtemp(join(tmpdir(), 'kiln-image-bench-'));
  try {
    ctx.log('making a signed repository from host binaries');
    const generated = await generateSigningKey(join(work, 'bench'), 2048);
    const key = await loadSigningKey(generated.privateKeyPath);
    const files = await hostFiles();
    const repo = join(work, 'repo');
    await mkdir(join(repo, 'x86_64'), { recursive: true });
    const records: PackageRecord[] = [];
    let installedBytes = 0;
    for (let index = 0; index < PACKAGES; index++) {
      const mine = files.filter((_, i) => i % PACKAGES === index);
      const entries: ApkWriteEntry[] = [];
      for (const file of mine) {
        const content = await readFile(file);
        installedBytes += content.length;
        entries.push({ path: `usr/lib/bench${index}/${file.split('/').pop()!}`, type: 'file', mode: 0o755, content });
      }
      const name = `bench-${index}`;
      const { bytes } = await buildApkBuffer({ pkginfo: { name, version: '1.0-r0', arch: 'x86_64', license: 'MIT', buildDate: 1_700_000_000, depends: index > 0 ? [`bench-${index - 1}`] : [] }, entries, mtime: 1_700_000_000, signer: key });
      await writeFile(join(repo, 'x86_64', `${name}-1.0-r0.apk`), bytes);
      let control;
      let end;
      for await (const item of readApk((async function* () { yield bytes; })(), { allowUntrusted: true })) {
        if (item.kind === 'control') control = item.control;
        else if (item.kind === 'entry') for await (const chunk of item.content ?? []) void chunk;
        else end = item.end;
      }
      records.push(pkgInfoToRecord(control!.pkginfo, control!.identity, end!.fileSize));
    }
    await writeFile(join(repo, 'x86_64', 'APKINDEX.tar.gz'), buildIndex(records, { signer: key }));
    const config = `contents:\n  repositories: [${repo}]\n  keyring: [${generated.publicKeyPath}]\n  packages: [bench-${PACKAGES - 1}]\narchs: [amd64]\naccounts:\n  users: [{username: nonroot, uid: 65532}]\n  run-as: nonroot\nentrypoint: {command: /bin/sh}\n`;
    const loaded = loadImageConfigText(config, 'bench.yaml');
    const handle = await openRepositoryClient({ cacheDir: join(work, 'cache'), keyringPaths: [generated.publicKeyPath] });
    let layer: Uint8Array = new Uint8Array();
    let compressed = 0;
    const kilnTimes: Array<{ wall: number; cpu: number }> = [];
    const buildahTimes: Array<{ wall: number; cpu: number }> = [];
    const floorTimes: Array<{ wall: number; cpu: number }> = [];
    const singleTimes: Array<{ wall: number; cpu: number }> = [];
    const rootfs = join(work, 'rootfs');
    const buildahRawTimes: Array<{ wall: number; cpu: number }> = [];
    const storage = ['--root', join(work, 'buildah-root'), '--runroot', join(work, 'buildah-run'), '--storage-driver', 'vfs'];
    const buildahLayerTypes = new Map<string, string>();
    const buildahBuild = async (name: string, commitFlags: string[]): Promise<void> => {
      const container = (await run('buildah', [...storage, 'from', '--name', `kiln-bench-${process.pid}-${name}`, 'scratch'])).stdout.trim();
      await run('buildah', [...storage, 'copy', container, `${rootfs}/.`, '/'], { maxBuffer: 1 << 26 });
      await run('buildah', [...storage, 'config', '--user', '65532', '--entrypoint', '["/bin/sh"]', container]);
      await run('buildah', [...storage, 'commit', '--quiet', ...commitFlags, container, `oci:${join(work, `buildah-${name}`)}:1`], { maxBuffer: 1 << 26 });
      await run('buildah', [...storage, 'rm', container]);
      buildahLayerTypes.set(commitFlags.join(' ') || 'default', await layerMediaType(join(work, `buildah-${name}`)));
    };
    try {
      ctx.log('warming the package cache');
      const warm = await buildImage({ loaded, repository: handle.client, tag: 'bench:1', sourceDateEpoch: 1_700_000_000 });
      layer = gunzipSync(warm.arches[0]!.result.layers[0]!.data);
      compressed = warm.arches[0]!.result.layers[0]!.size;
      ctx.log('unpacking the rootfs for buildah');
      await mkdir(rootfs);
      await writeFile(join(work, 'layer.tar'), layer);
      await run('tar', ['-xf', join(work, 'layer.tar'), '-C', rootfs, '--numeric-owner']);
      // Runs are interleaved so that load from other processes hits every contender alike.
      for (let i = 0; i < RUNS; i++) {
        ctx.log(`round ${i + 1}/${RUNS}: kiln`);
        const out = join(work, `layout-${i}`);
        kilnTimes.push(
          await timed(async () => {
            const result = await buildImage({ loaded, repository: handle.client, tag: 'bench:1', sourceDateEpoch: 1_700_000_000 });
            await writeOciLayout(out, result.index, { refName: '1' });
          }),
        );
        ctx.log(`round ${i + 1}/${RUNS}: buildah (gzip layers, like kiln)`);
        buildahTimes.push(await timed(() => buildahBuild(`gz-${i}`, ['--disable-compression=false'])));
        ctx.log(`round ${i + 1}/${RUNS}: buildah (its default: uncompressed layers)`);
        buildahRawTimes.push(await timed(() => buildahBuild(`raw-${i}`, [])));
        ctx.log(`round ${i + 1}/${RUNS}: floor`);
        floorTimes.push(
          await timed(async () => {
            createHash('sha256').update(layer).digest();
            const gz = await parallelGzip(layer);
            createHash('sha256').update(gz).digest();
          }),
        );
        singleTimes.push(
          await timed(async () => {
            createHash('sha256').update(layer).digest();
            const gz = gzipSync(layer, { level: LAYER_GZIP_OPTIONS.level });
            createHash('sha256').update(gz).digest();
          }),
        );
      }
    } finally {
      handle.close();
    }
    await rm(join(work, 'buildah-root'), { recursive: true, force: true }).catch(() => undefined);
    const kiln = median(kilnTimes.map((time) => time.wall));
    const buildah = median(buildahTimes.map((time) => time.wall));
    const floor = median(floorTimes.map((time) => time.wall));
    const single = median(singleTimes.map((time) => time.wall));
    const kilnCpu = median(kilnTimes.map((time) => time.cpu));
    const buildahCpu = median(buildahTimes.map((time) => time.cpu));
    const buildahRaw = median(buildahRawTimes.map((time) => time.wall));
    const buildahRawCpu = median(buildahRawTimes.map((time) => time.cpu));
    // The comparison is only fair if buildah really wrote gzip layers in the main row.
    if (!buildahLayerTypes.get('--disable-compression=false')?.endsWith('+gzip')) throw new Error(`buildah --disable-compression=false wrote ${buildahLayerTypes.get('--disable-compression=false')} layers`);
    const floorCpu = median(floorTimes.map((time) => time.cpu));
    const singleCpu = median(singleTimes.map((time) => time.cpu));
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    return `## Image

Full \`kiln image build\` (resolve, verify cached packages, stream ${PACKAGES} packages into the in-memory tree,
apk database, one gzip layer, config/manifest/index, OCI layout written) of a ${PACKAGES}-package configuration
(${files.length} real ELF files from this machine, ${mib(installedBytes)} MiB installed; layer ${mib(layer.length)} MiB
uncompressed, ${mib(compressed)} MiB gzip) from a warm package cache, against buildah building an image from the
same unpacked root filesystem (\`buildah from scratch\`, \`copy\`, \`config\`, \`commit\` to an OCI layout; vfs
driver, isolated root/runroot), once with gzip layers like kiln's and once with buildah's default for a local layout (no compression). The floor is compressing (level ${LAYER_GZIP_OPTIONS.level}, Kiln's 1 MiB-block parallel gzip) and
hashing the same layer bytes and nothing else; single-stream gzip of the same bytes is shown for scale.
Median of ${RUNS} interleaved rounds (load average at the start: ${load.toFixed(1)} on ${cpus().length} cores). CPU time is read from /proc (this process's threads plus the buildah processes it waited for), which a busy machine disturbs less than wall time.

| what | wall s | vs kiln | CPU s (all threads and child processes) | vs kiln |
|---|---|---|---|---|
| kiln image build | ${kiln.toFixed(2)} | 1.00 | ${kilnCpu.toFixed(2)} | 1.00 |
| buildah from/copy/commit, gzip layers (\`--disable-compression=false\`: ${buildahLayerTypes.get('--disable-compression=false')}) | ${buildah.toFixed(2)} | ${(buildah / kiln).toFixed(2)} | ${buildahCpu.toFixed(2)} | ${(buildahCpu / kilnCpu).toFixed(2)} |
| buildah from/copy/commit, its default for a local layout: uncompressed layers (${buildahLayerTypes.get('default')}) | ${buildahRaw.toFixed(2)} | ${(buildahRaw / kiln).toFixed(2)} | ${buildahRawCpu.toFixed(2)} | ${(buildahRawCpu / kilnCpu).toFixed(2)} |
| floor: parallel gzip + sha256 | ${floor.toFixed(2)} | ${(floor / kiln).toFixed(2)} | ${floorCpu.toFixed(2)} | ${(floorCpu / kilnCpu).toFixed(2)} |
| single-stream gzip + sha256 | ${single.toFixed(2)} | ${(single / kiln).toFixed(2)} | ${singleCpu.toFixed(2)} | ${(singleCpu / kilnCpu).toFixed(2)} |

Every round (wall s): kiln ${kilnTimes.map((time) => time.wall.toFixed(2)).join(', ')}; buildah gzip ${buildahTimes.map((time) => time.wall.toFixed(2)).join(', ')}; buildah uncompressed ${buildahRawTimes.map((time) => time.wall.toFixed(2)).join(', ')}; floor ${floorTimes.map((time) => time.wall.toFixed(2)).join(', ')}.

Like for like (both writing a gzip-compressed OCI image, the form a registry stores), kiln takes ${(kiln / buildah).toFixed(2)}× buildah's wall time (${(kilnCpu / buildahCpu).toFixed(2)}× its CPU time) and ${(kiln / floor).toFixed(2)}× the compression floor's wall time.
Against buildah's default commit, which skips compression for a local layout and leaves it to the push, kiln takes ${(kiln / buildahRaw).toFixed(2)}× the wall time.
`;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
