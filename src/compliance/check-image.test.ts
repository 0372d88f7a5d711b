import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTar } from '../oci/index.ts';
import type { TarMember } from '../oci/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { SqliteVulnIndex } from '../vuln/index.ts';
import { checkImage } from './check-image.ts';
import type { CheckResult, ImageCheckReport } from './format/check-model.ts';

// checkImage over OCI layouts written here: what the checks see of the layers, and the data from
// outside the image they need.

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const file = (name: string, content: string, mode = 0o644): TarMember => ({ header: { name, type: 'file', mode, uid: 0, gid: 0, mtime: 0 }, content: Buffer.from(content) });
const dir = (name: string): TarMember => ({ header: { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 } });
const link = (name: string, target: string): TarMember => ({ header: { name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: target } });

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-check-image-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** An OCI layout of one linux/amd64 image; `diffIds` replaces the config's. */
async function layout(name: string, layers: TarMember[][], user: string, options: { diffIds?: string[] } = {}): Promise<string> {
  const path = join(work, name);
  await mkdir(join(path, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Uint8Array, mediaType: string) => {
    await writeFile(join(path, 'blobs', 'sha256', sha(bytes)), bytes);
    return { mediaType, digest: `sha256:${sha(bytes)}`, size: bytes.length };
  };
  const blobs = layers.map((members) => encodeTar(members));
  const layerDescriptors = [];
  for (const blob of blobs) layerDescriptors.push(await put(blob, 'application/vnd.oci.image.layer.v1.tar'));
  const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: options.diffIds ?? blobs.map((blob) => `sha256:${sha(blob)}`) }, config: { User: user } })), 'application/vnd.oci.image.config.v1+json');
  const manifest = await put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: layerDescriptors })), 'application/vnd.oci.image.manifest.v1+json');
  await writeFile(join(path, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(path, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'amd64' } }] }));
  return path;
}

const check = (report: ImageCheckReport, id: string): CheckResult => report.checks.find((item) => item.id === id)!;
const BASE = [dir('etc'), file('etc/os-release', 'ID=kiln\n'), file('etc/passwd', 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000::/:/sbin/nologin\n')];

describe('checkImage sees the filesystem a container sees', () => {
  it('fails no-shell, no-package-manager and non-root-user on entries written with //, . and ..', async () => {
    const path = await layout('non-canonical', [BASE, [file('usr//bin/bash', 'ELF', 0o755), file('./etc/./passwd', 'root:x:0:0:root:/root:/bin/bash\napp:x:0:0::/:/usr/bin/bash\n'), file('usr/bin/../bin/apk', 'x', 0o755)]], 'app');
    const [report] = await checkImage({ image: path });
    expect([check(report!, 'non-root-user').status, check(report!, 'no-shell').status, check(report!, 'no-package-manager').status]).toEqual(['fail', 'fail', 'fail']);
    expect(check(report!, 'no-shell').summary).toBe('runtime image ships a shell: /usr/bin/bash');
  });

  it('looks through a /usr/local/bin that links elsewhere', async () => {
    const path = await layout('linked-bin', [[...BASE, dir('usr'), dir('usr/local'), link('usr/local/bin', '/opt/tools/bin'), dir('opt'), dir('opt/tools'), dir('opt/tools/bin'), file('opt/tools/bin/bash', 'ELF', 0o755), file('opt/tools/bin/apk', 'ELF', 0o755)]], '1000');
    const [report] = await checkImage({ image: path });
    expect(check(report!, 'no-shell')).toMatchObject({ status: 'fail', summary: 'runtime image ships a shell: /opt/tools/bin/bash' });
    expect(check(report!, 'no-package-manager')).toMatchObject({ status: 'fail', summary: 'runtime image ships a package manager: /opt/tools/bin/apk' });
  });

  it('refuses a layer that is not the one its config\'s diff_ids names, naming the layer', async () => {
    const path = await layout('mismatch', [BASE], '1000', { diffIds: [`sha256:${'0'.repeat(64)}`] });
    await expect(checkImage({ image: path })).rejects.toMatchObject({ code: 'COMPLY_IMAGE_UNREADABLE', message: expect.stringMatching(/layer sha256:[0-9a-f]{64}: its uncompressed content is sha256:[0-9a-f]{64}, but the config's diff_ids\[0\] is sha256:0{64}$/) });
    const short = await layout('short', [BASE], '1000', { diffIds: [] });
    await expect(checkImage({ image: short })).rejects.toMatchObject({ code: 'COMPLY_IMAGE_UNREADABLE', message: expect.stringContaining('the image config lists 0 diff_ids for 1 layer(s)') });
  });
});

describe('checkImage arguments', () => {
  it('takes a missing path for a missing file, never for an image to pull from Docker Hub', async () => {
    const registry = new Proxy({}, { get: () => () => { throw new Error('the registry was asked'); } }) as unknown as RegistryClient;
    for (const image of ['team/app:1', 'app']) {
      await expect(checkImage({ image, cwd: work, registry })).rejects.toMatchObject({ code: 'COMPLY_IMAGE_UNREADABLE', message: expect.stringContaining(`${join(work, image)}: no such file or directory`) });
    }
  });
});

describe('vulnerabilities-within-sla against the index given', () => {
  const alpine = [dir('etc'), file('etc/os-release', 'ID=alpine\nVERSION_ID=3.19.0\n'), file('etc/passwd', 'app:x:1000:1000::/:/sbin/nologin\n'), file('lib/apk/db/installed', 'C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:openssl\nV:1.0.1-r0\nA:x86_64\no:openssl\n\n')];
  const now = new Date('2099-02-01T00:00:00Z');
  const feed = (name: string, type: string, checkedAt: string) => ({ name, type, location: 'test', updatedAt: checkedAt, checkedAt, records: 0, warnings: 0, sha256: '0'.repeat(64) });
  const empty = { affected: [], vulnerabilities: [], cpes: [], kev: [], epss: [], warnings: [] };

  async function vulnCheck(name: string, fill: (index: SqliteVulnIndex) => void): Promise<CheckResult> {
    const path = await layout(`vuln-${name}`, [alpine], '1000');
    const index = new SqliteVulnIndex(join(work, `${name}.sqlite`));
    try {
      fill(index);
      const [report] = await checkImage({ image: path, vulnerabilityIndex: { label: `${name}.sqlite`, index }, now });
      return check(report!, 'vulnerabilities-within-sla');
    } finally {
      index.close();
    }
  }

  it('does not run against an index with no feed, none for the image\'s release, or a stale one', async () => {
    expect(await vulnCheck('empty', () => {})).toMatchObject({ status: 'not-run', summary: 'no breach found, but none can be ruled out: the vulnerability index holds no feed' });
    const uncovered = await vulnCheck('nvd-only', (index) => index.replaceFeed(feed('nvd', 'nvd', '2099-01-31T12:00:00Z'), empty));
    expect(uncovered).toMatchObject({ status: 'not-run', summary: expect.stringContaining('no feed in the vulnerability index holds records for alpine:3.19, the image\'s release') });
    const record = { feed: 'alpine', ecosystem: 'alpine:3.19', package: 'zlib', vulnerability: 'CVE-2099-1', aliases: [], status: 'affected' as const, ranges: [{ fixed: '1.0-r0' }], versions: [] };
    const covered = await vulnCheck('covered', (index) => index.replaceFeed(feed('alpine', 'secdb', '2099-01-31T12:00:00Z'), { ...empty, affected: [record] }));
    expect(covered).toMatchObject({ status: 'pass', summary: 'no critical or high vulnerability in 1 package(s)' });
    const stale = await vulnCheck('stale', (index) => index.replaceFeed(feed('alpine', 'secdb', '2099-01-20T00:00:00Z'), { ...empty, affected: [record] }));
    expect(stale).toMatchObject({ status: 'not-run', summary: 'no breach found, but none can be ruled out: stale feed(s): alpine (last checked 2099-01-20T00:00:00Z) (run kiln vuln db update)' });
    expect(stale.evidence.map((item) => item.detail)).toContain('scan warning: feed alpine was last updated 12 days ago (2099-01-20T00:00:00Z): findings may miss vulnerabilities and fixes published since (run kiln vuln db update)');
  });
});
