// Test support: an S3 API server (s3rver from npm) on a free loopback port with one bucket, and the
// description of an external S3-compatible service when KILN_TEST_S3_ENDPOINT names one. Used by
// integration and e2e tests; not part of the public API.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3BlobStore, S3BlobStoreOptions } from './s3-blob-store.ts';

/** Where a test's bucket is and how to reach it. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  /** Whether the service lists (and aborts) incomplete multipart uploads; s3rver does neither. */
  listsMultipartUploads: boolean;
  stop(): Promise<void>;
}

/** Starts s3rver with the bucket `kiln-test` in a temporary directory (any credentials are accepted),
 *  as a child process: s3rver pages listings with DES-encrypted continuation tokens, which Node's
 *  OpenSSL 3 offers only with `--openssl-legacy-provider` — a flag for s3rver's process, not ours.
 *  KILN_TEST_S3_LOG=1 shows its request log. */
export async function startTestS3(): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'kiln-s3rver-'));
  const bucket = 'kiln-test';
  const port = await freePort();
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const verbose = process.env.KILN_TEST_S3_LOG === '1';
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '--directory', directory, '--address', '127.0.0.1', '--port', String(port), '--configure-bucket', bucket, ...(verbose ? [] : ['--silent'])],
    { stdio: ['ignore', verbose ? 'inherit' : 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (verbose) process.stderr.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(directory, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`s3rver exited with ${child.exitCode}: ${stderr}`);
    }
    const response = await fetch(`${endpoint}/${bucket}`, { method: 'HEAD' }).catch(() => undefined);
    if (response?.status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`s3rver did not answer on ${endpoint}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    endpoint,
    bucket,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    listsMultipartUploads: false,
    stop,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The external service named by KILN_TEST_S3_ENDPOINT, KILN_TEST_S3_BUCKET,
 *  KILN_TEST_S3_ACCESS_KEY_ID and KILN_TEST_S3_SECRET_ACCESS_KEY (KILN_TEST_S3_REGION, default
 *  us-east-1; KILN_TEST_S3_PATH_STYLE=0 for virtual-hosted addressing), or undefined. Tests write only
 *  under a fresh random prefix and remove it afterwards. */
export function externalTestS3(env: NodeJS.ProcessEnv = process.env): TestS3 | undefined {
  const endpoint = env.KILN_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  const missing = ['KILN_TEST_S3_BUCKET', 'KILN_TEST_S3_ACCESS_KEY_ID', 'KILN_TEST_S3_SECRET_ACCESS_KEY'].filter((name) => !env[name]);
  if (missing.length) throw new Error(`KILN_TEST_S3_ENDPOINT is set but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not`);
  return {
    endpoint,
    bucket: env.KILN_TEST_S3_BUCKET!,
    region: env.KILN_TEST_S3_REGION ?? 'us-east-1',
    credentials: { accessKeyId: env.KILN_TEST_S3_ACCESS_KEY_ID!, secretAccessKey: env.KILN_TEST_S3_SECRET_ACCESS_KEY! },
    forcePathStyle: env.KILN_TEST_S3_PATH_STYLE !== '0',
    listsMultipartUploads: true,
    stop: async () => undefined,
  };
}

/** Store options for `s3` under `prefix`. */
export function testStoreOptions(s3: TestS3, prefix: string, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, credentials: s3.credentials, forcePathStyle: s3.forcePathStyle, prefix, ...extra };
}

/** Keys under the store's prefix that are neither committed blobs nor staged uploads, plus incomplete
 *  multipart uploads where the service can list them: what a case must never leave behind. */
export async function strayObjects(store: S3BlobStore, s3: TestS3): Promise<string[]> {
  const stray: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: store.prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) {
      const rest = object.Key!.slice(store.prefix.length);
      if (!/^blobs\/sha(256|512)\/[0-9a-f]+$/.test(rest) && !/^uploads\/[A-Za-z0-9-]{8,64}\/(created|\d{16}-\d{16})$/.test(rest)) stray.push(object.Key!);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (s3.listsMultipartUploads) {
    const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: store.prefix }));
    for (const upload of uploads.Uploads ?? []) stray.push(`multipart upload of ${upload.Key}`);
  }
  return stray;
}

/** Removes every object under the store's prefix. */
export async function removePrefix(store: S3BlobStore): Promise<void> {
  let token: string | undefined;
  do {
    const page = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: store.prefix, ...(token ? { ContinuationToken: token } : {}) }));
    const keys = (page.Contents ?? []).map((object) => object.Key!);
    for (let start = 0; start < keys.length; start += 25) {
      await Promise.all(keys.slice(start, start + 25).map((key) => store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }))));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
