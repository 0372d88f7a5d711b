// Trust benchmark: sign and verify one image and a two-architecture index against Debian's
// docker-registry on loopback, and the per-signature cost of verification (1,000 in a loop), with
// openssl (one process per signature) and skopeo (signature manifest fetch) as peers.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './run.ts';
import { RegistryClient } from '../src/registry-client/index.ts';
import { pushTestImage, pushTestIndex, startDockerRegistry } from '../src/registry-client/testing.ts';
import { buildSimpleSigningPayload, keySigner, parseSimpleSigningPayload, publicKeyToPem, signImage, verifyImage, verifyWithKey } from '../src/sign/index.ts';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const fmt = (ms: number) => (ms < 1 ? ms.toFixed(3) : ms.toFixed(1));

export default async function trustBench(ctx: BenchContext): Promise<string> {
  const registry = await startDockerRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-trust-'));
  try {
    const client = new RegistryClient();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = keySigner(privateKey);
    const policy = { keys: [publicKey] };
    const runs = 15;

    ctx.log('single image');
    const signImageMs: number[] = [];
    const verifyImageMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const reference = { registry: registry.host, repository: 'bench/app', tag: `v${i}` };
      await pushTestImage(client, reference, { content: `image ${i}\n` });
      signImageMs.push(await time(() => signImage({ client, reference, signer, format: 'legacy' })));
      verifyImageMs.push(await time(() => verifyImage({ client, reference, policy })));
    }

    ctx.log('two-architecture index');
    const signIndexMs: number[] = [];
    const verifyIndexMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const reference = { registry: registry.host, repository: `bench/multi${i}`, tag: 'v1' };
      const { index, children } = await pushTestIndex(client, reference, 'v1');
      signIndexMs.push(await time(() => signImage({ client, reference, signer, format: 'legacy', recursive: true })));
      verifyIndexMs.push(
        await time(async () => {
          for (const digest of [index.digest, ...children.map((c) => c.digest)]) await verifyImage({ client, reference: { ...reference, digest }, policy });
        }),
      );
    }

    ctx.log('1,000 signature verifications in a loop');
    const digest = `sha256:${'ab'.repeat(32)}` as const;
    const payload = buildSimpleSigningPayload('bench/app', digest);
    const signature = (await signer.sign(payload)).signature;
    const loops = 1000;
    for (let i = 0; i < 50; i++) verifyWithKey(publicKey, payload, signature);
    const loopStart = performance.now();
    for (let i = 0; i < loops; i++) {
      if (!verifyWithKey(publicKey, payload, signature)) throw new Error('verification failed in the loop');
      if (parseSimpleSigningPayload(payload, 'bench').dockerManifestDigest !== digest) throw new Error('payload mismatch');
    }
    const perSignatureMs = (performance.now() - loopStart) / loops;

    ctx.log('peer: openssl, one process per signature');
    await writeFile(join(dir, 'payload.json'), payload);
    await writeFile(join(dir, 'payload.sig'), signature);
    await writeFile(join(dir, 'key.pub'), publicKeyToPem(publicKey));
    const opensslRuns = 50;
    const opensslStart = performance.now();
    for (let i = 0; i < opensslRuns; i++) execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'key.pub'), '-signature', join(dir, 'payload.sig'), join(dir, 'payload.json')]);
    const opensslMs = (performance.now() - opensslStart) / opensslRuns;

    ctx.log('peer: skopeo fetching the .sig manifest');
    const sigTag = (await client.listTags({ registry: registry.host, repository: 'bench/app' })).find((tag) => tag.endsWith('.sig'))!;
    const skopeoMs: number[] = [];
    const clientMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      skopeoMs.push(await time(async () => execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/bench/app:${sigTag}`])));
      clientMs.push(await time(() => new RegistryClient().getManifest({ registry: registry.host, repository: 'bench/app', tag: sigTag })));
    }

    const rows = [
      ['sign one image (resolve, payload, ECDSA, push .sig)', fmt(median(signImageMs)), '—', '—'],
      ['verify one image (resolve, fetch .sig + payload, verify)', fmt(median(verifyImageMs)), '—', '—'],
      ['sign a 2-arch index recursively (3 signatures)', fmt(median(signIndexMs)), '—', '—'],
      ['verify a 2-arch index and both children', fmt(median(verifyIndexMs)), '—', '—'],
      ['verify one signature (1,000 in a loop: ECDSA P-256 + payload parse)', fmt(perSignatureMs), `openssl dgst -verify: ${fmt(opensslMs)}`, `${(opensslMs / perSignatureMs).toFixed(0)}× faster`],
      ['fetch the .sig manifest (fresh client)', fmt(median(clientMs)), `skopeo inspect --raw: ${fmt(median(skopeoMs))}`, `${(median(skopeoMs) / median(clientMs)).toFixed(1)}× faster`],
    ];
    return [
      '## Trust',
      '',
      `Key-based cosign signatures (.sig tag scheme) against Debian's docker-registry (Distribution 2.8) on loopback; medians of ${runs} runs, ms. Per-signature cost is the mean of 1,000 in-process verifications.`,
      '',
      '| operation | Kiln (ms) | peer (ms) | ratio |',
      '|---|---:|---:|---:|',
      ...rows.map((row) => `| ${row.join(' | ')} |`),
      '',
      'The openssl peer pays one process start per signature; the skopeo peer one process start per fetch. cosign itself is not installed on this machine, so it is not compared.',
    ].join('\n');
  } finally {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
