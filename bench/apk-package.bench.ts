// apk package core: read+verify packages (streaming) and parse+verify a real APKINDEX. apk-tools is
// not installable here, so the index number is reported against the 150 ms aim, and GNU tar
// (`tar -tzf`, which only inflates and lists) runs beside the package reader as a floor.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BenchContext } from './run.ts';
import { loadKeyring, parsePublicKey, readIndex, summarizeApk, writeApkFile } from '../src/apk/index.ts';

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function measure(runs: number, work: () => Promise<unknown>): Promise<Timing> {
  await work(); // warm-up
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let index = 0; index < runs; index++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await work();
    walls.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

function measureCommand(runs: number, command: string, args: string[]): number {
  const walls: number[] = [];
  for (let index = 0; index <= runs; index++) {
    const start = performance.now();
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
    if (index > 0) walls.push(performance.now() - start);
  }
  return [...walls].sort((a, b) => a - b)[Math.floor(walls.length / 2)]!;
}

export default async function bench(context: BenchContext): Promise<string> {
  const fixtures = join(context.root, 'test', 'fixtures', 'apk');
  const keyring = await loadKeyring(join(fixtures, 'keys'));
  const rows: string[] = [];
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-apk-'));
  try {
    // 1. real index, parse + verify end to end (gunzip, tar, RSA/SHA-1 signature, 5004 records)
    const indexPath = join(fixtures, 'apko', 'alpine-317', 'APKINDEX.tar.gz');
    const indexBytes = await readFile(indexPath);
    context.log('index');
    const index = await measure(15, () => readIndex(Readable.from([indexBytes]), { keyring }));
    const tarIndex = measureCommand(10, 'tar', ['-xzOf', indexPath, 'APKINDEX']);
    rows.push(`| Alpine 3.17 APKINDEX (661 KB, 5004 records): parse + verify | ${index.wallMs.toFixed(1)} ms | ${index.cpuMs.toFixed(1)} ms | aim 150 ms; \`tar -xzOf … APKINDEX\` ${tarIndex.toFixed(1)} ms | wall ${(index.wallMs / 150).toFixed(2)}×, CPU ${(index.cpuMs / 150).toFixed(2)}× the aim |`);

    // 2. real small package, read + verify (signature, datahash, per-file SHA-1)
    const libcap = join(fixtures, 'wolfi', 'libcap-2.69-r0.apk');
    context.log('small package');
    const small = await measure(30, () => summarizeApk(createReadStream(libcap), { keyring }));
    const tarSmall = measureCommand(10, 'tar', ['-tzf', libcap]);
    rows.push(`| libcap-2.69-r0.apk (30 KB, 11 entries): read + verify | ${small.wallMs.toFixed(1)} ms | ${small.cpuMs.toFixed(1)} ms | \`tar -tzf\` ${tarSmall.toFixed(1)} ms | ${(small.wallMs / tarSmall).toFixed(2)}× tar |`);

    // 3. a large generated package, streamed: throughput
    context.log('large package');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const seed = randomBytes(1 << 20);
    const files = Array.from({ length: 64 }, (_, index) => ({
      path: `usr/share/bench/file-${String(index).padStart(3, '0')}`,
      type: 'file' as const,
      // half random (incompressible), half text-like: a realistic mix for inflate
      content: index % 2 === 0 ? seed : Buffer.from(seed.toString('base64').slice(0, 1 << 20)),
    }));
    const bigPath = join(work, 'big-1-r0.apk');
    const built = await writeApkFile(bigPath, { pkginfo: { name: 'big', version: '1-r0' }, entries: files, mtime: 0, signer: { privateKey, keyName: 'bench.rsa.pub' }, level: 6 });
    const benchKeys = new Map([['bench.rsa.pub', parsePublicKey(publicKey.export({ type: 'spki', format: 'pem' }), 'bench')]]);
    const big = await measure(3, () => summarizeApk(createReadStream(bigPath, { highWaterMark: 256 * 1024 }), { keyring: benchKeys }));
    const tarBig = measureCommand(3, 'tar', ['-tzf', bigPath]);
    const megabytes = (64 << 20) / 1e6;
    rows.push(`| generated package (${(built.fileSize / 1e6).toFixed(1)} MB file, 64 MiB of files): read + verify | ${big.wallMs.toFixed(0)} ms (${(megabytes / (big.wallMs / 1000)).toFixed(0)} MB/s) | ${big.cpuMs.toFixed(0)} ms | \`tar -tzf\` ${tarBig.toFixed(0)} ms | ${(big.wallMs / tarBig).toFixed(2)}× tar |`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return [
    '## apk-package',
    '',
    'Median of repeated runs after a warm-up, in-process (Node.js). "CPU" is user+system time of the process,',
    'which is steadier than wall time on a shared machine. apk-tools cannot be installed here; GNU tar only',
    'inflates and lists (no signature, hashes or path checks), so it is a floor, not a like-for-like peer.',
    `Load average when measured: ${loadavg().map((value) => value.toFixed(1)).join(' / ')} (wall times on a busy machine are inflated).`,
    '',
    '| work | wall | CPU | peer / aim | ratio |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
