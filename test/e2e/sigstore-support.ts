// Fulcio and Rekor stand-ins (@sigstore/mock handlers served on loopback) and the trusted root that
// verifies what they issue. The stand-in Rekor stores proposed entries verbatim, which matches what the
// real one stores only for `intoto` entries: sign with --rekor-entry-type intoto against it.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, rekorHandler } from '@sigstore/mock';
import type { HandlerFn } from '@sigstore/mock';

export const KEYLESS_IDENTITY = 'https://git.example/team/app/.ci/release.yml@refs/heads/main';
export const KEYLESS_ISSUER = 'https://oidc.example';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An OIDC-shaped token for KEYLESS_IDENTITY, with `claims` over the defaults; the stand-in Fulcio
 *  reads its claims without checking a signature. */
export function keylessToken(claims: Record<string, unknown> = {}): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: KEYLESS_ISSUER, sub: KEYLESS_IDENTITY, aud: 'sigstore', exp: 4102444800, ...claims })}.c2ln`;
}
export const KEYLESS_TOKEN = keylessToken();

export interface SigstoreStandIn {
  /** Base URL of both Fulcio and Rekor. */
  url: string;
  close(): Promise<void>;
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** Starts the stand-ins and writes the trusted root (tlog, CA, CT log) to `trustedRootFile`. */
export async function startSigstoreStandIn(trustedRootFile: string): Promise<SigstoreStandIn> {
  const ctKeys = keyPair();
  const ctLog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(keyPair(), ctLog);
  const tlogKeys = keyPair();
  const handlers = new Map<string, HandlerFn>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const handler = handlers.get(req.url ?? '');
      if (!handler || req.method !== 'POST') {
        res.statusCode = 404;
        res.end();
        return;
      }
      void handler(Buffer.concat(chunks).toString()).then(({ statusCode, response, contentType }) => {
        res.statusCode = statusCode;
        res.setHeader('content-type', contentType ?? 'text/plain');
        res.end(response);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const tlog = await initializeTLog(url, tlogKeys);
  for (const handler of [fulcioHandler(ca), rekorHandler(tlog)]) handlers.set(handler.path, handler.fn);
  const der = (key: ReturnType<typeof keyPair>['publicKey']) => key.export({ type: 'spki', format: 'der' });
  const validFor = { start: '2000-01-01T00:00:00Z' };
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: der(tlogKeys.publicKey).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor }, logId: { keyId: createHash('sha256').update(der(tlogKeys.publicKey)).digest('base64') } }],
    certificateAuthorities: [{ subject: { organization: 'kiln-test', commonName: 'kiln-test' }, uri: url, certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate as Uint8Array).toString('base64') }] }, validFor }],
    ctlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: der(ctKeys.publicKey).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor }, logId: { keyId: Buffer.from(ctLog.logID as Uint8Array).toString('base64') } }],
    timestampAuthorities: [],
  };
  await writeFile(trustedRootFile, JSON.stringify(trustedRoot));
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
