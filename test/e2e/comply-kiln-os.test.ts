import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckStatus, ImageCheckReport } from '../../src/compliance/index.ts';
import { runKiln } from './cli-support.ts';
import { ensureKilnOs, KILN_OS_BUILD_TIMEOUT } from './kiln-os-support.ts';

// The hardening checks on the real Kiln OS catalog images (os/images), as `kiln os build` leaves them
// in the test cache (OCI layouts and SPDX SBOMs, read only; kiln-os-support.ts). Every image runs as uid 65532 and
// passes the checks that can run on a local image, except the findings listed in KNOWN_FINDINGS,
// which are real and reported rather than hidden: a change to the images shows up here.

let images: string;
const IMAGES = ['static', 'static-dev', 'busybox', 'curl', 'curl-dev', 'jq', 'jq-dev', 'nginx', 'nginx-dev', 'openssl', 'openssl-dev'];

/** Checks that need registry, scan or rebuild data this test does not give: not-run, never pass. */
const NOT_RUN = ['packages-signed', 'signature-attached', 'sbom-attached', 'provenance-attached', 'reproducible', 'vulnerabilities-within-sla'];

/** Findings of the catalog images as built today: busybox is a runtime image whose purpose is
 *  busybox, so it ships /bin/sh, and busybox's `dpkg` and `rpm` applets count as package managers. */
const KNOWN_FINDINGS: Record<string, Record<string, CheckStatus>> = {
  busybox: { 'no-shell': 'fail', 'no-package-manager': 'fail' },
};

/** A -dev variant may ship a shell and a package manager: reported as allowed, with the reason. */
const DEV_ALLOWED: Record<string, CheckStatus> = { 'no-shell': 'allowed', 'no-package-manager': 'allowed' };

function expected(name: string): Record<string, CheckStatus> {
  const base = name.replace(/-dev$/, '');
  const out: Record<string, CheckStatus> = {
    'non-root-user': 'pass', 'no-shell': 'pass', 'no-package-manager': 'pass', 'no-compiler': 'pass', 'no-setuid-setgid': 'pass', 'no-world-writable': 'pass',
    'no-private-keys': 'pass', 'no-password-hashes': 'pass', 'no-empty-passwords': 'pass', 'login-shells': 'pass', 'os-release': 'pass', 'ca-bundle': 'pass',
    'timezone-data': 'pass', 'sbom-packages': 'pass', 'fips-configured': 'not-applicable',
  };
  for (const id of NOT_RUN) out[id] = 'not-run';
  Object.assign(out, KNOWN_FINDINGS[base] ?? {});
  if (name.endsWith('-dev')) Object.assign(out, DEV_ALLOWED);
  return out;
}

let work: string;

beforeAll(async () => {
  images = join((await ensureKilnOs()).out, 'images');
  work = await mkdtemp(join(tmpdir(), 'kiln-comply-os-'));
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kiln comply check on the Kiln OS catalog images (e2e)', () => {
  const reports = new Map<string, ImageCheckReport>();

  beforeAll(async () => {
    for (const name of IMAGES) {
      const run = await runKiln(['comply', 'check', join(images, name), '--name', `kiln-os/${name}:latest`, '--sbom', join(images, `${name}.sbom`, 'sbom-x86_64.spdx.json'), '--json'], { cwd: work, env: { ...process.env } });
      // busybox's findings are high (shell, package manager): the command exits 1 for it alone
      expect(run.code, `${name}: ${run.stderr}`).toBe(name === 'busybox' ? 1 : 0);
      reports.set(name, (JSON.parse(run.stdout) as ImageCheckReport[])[0]!);
    }
  }, 300_000);

  it('every image runs as uid 65532 and has the SBOM it was built with', () => {
    for (const name of IMAGES) {
      const report = reports.get(name)!;
      expect(report.checks.find((check) => check.id === 'non-root-user')!.summary, name).toBe('the image runs as uid 65532');
      expect(report.checks.find((check) => check.id === 'sbom-packages')!.summary, name).toMatch(/^all \d+ installed package\(s\) are in the SBOM, which lists no others$/);
    }
  });

  it('gives each image exactly the expected statuses: runtime images pass, -dev images are allowed a shell and package manager', () => {
    for (const name of IMAGES) {
      const report = reports.get(name)!;
      expect(Object.fromEntries(report.checks.map((check) => [check.id, check.status])), name).toEqual(expected(name));
      expect(report.image.variant, name).toEqual(name.endsWith('-dev') ? { kind: 'dev', reason: `name kiln-os/${name}:latest` } : { kind: 'runtime' });
      expect(report.isBlocking, name).toBe(name === 'busybox');
    }
  });

  it('static ships no shell, package manager or compiler, and its -dev variant names what it allows', () => {
    expect(reports.get('static')!.checks.find((check) => check.id === 'no-shell')!.summary).toBe('no shell in /bin, /sbin, /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin');
    expect(reports.get('static-dev')!.checks.find((check) => check.id === 'no-shell')!.evidence.map((item) => item.path)).toContain('bin/sh');
  });
});
