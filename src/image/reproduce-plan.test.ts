import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KILN_IMAGE_BUILD_TYPE } from './publish-attest.ts';
import { planReproduce } from './reproduce-plan.ts';

const main = 'include: base.yaml\ncontents:\n  packages: [app]\n';
const base = 'contents:\n  keyring: [keys/k.rsa.pub]\n  packages: [base]\narchs: [x86_64]\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const checksum = `sha256-${createHash('sha256').update(main).update(base).digest('base64')}`;

function predicate(overrides: { files?: Array<{ path: string; text: string; digest?: string }>; checksum?: string; configDigest?: string; buildType?: string; build?: unknown } = {}) {
  const files = overrides.files ?? [
    { path: 'dir/app.yaml', text: main },
    { path: '/abs/dir/base.yaml', text: base },
  ];
  return {
    buildDefinition: {
      buildType: overrides.buildType ?? KILN_IMAGE_BUILD_TYPE,
      externalParameters: {
        config: { path: 'dir/app.yaml', digest: { sha256: overrides.configDigest ?? sha(main) }, files: files.map((file) => ({ path: file.path, digest: { sha256: file.digest ?? sha(file.text) }, content: Buffer.from(file.text).toString('base64') })) },
        tags: ['r.example/app:1'],
        sourceDateEpoch: '1700000000',
        build: overrides.build ?? { archs: ['amd64'], annotations: { a: 'b' }, packageAppend: ['extra'] },
      },
      internalParameters: {
        index: `sha256:${'0'.repeat(64)}`,
        lock: { version: 'v1', config: { name: 'dir/app.yaml', checksum: overrides.checksum ?? checksum }, contents: { keyring: [{ name: 'keys/k.rsa.pub', url: 'keys/k.rsa.pub', content: 'PEM' }], packages: [] } },
      },
    },
  };
}

describe('planReproduce', () => {
  it('lays out the configuration files by their include names and reads the lock, keys and flags', () => {
    const plan = planReproduce(predicate(), 'p');
    expect(plan.configFiles.map((file) => [file.name, file.bytes.toString()])).toEqual([
      ['app.yaml', main],
      ['base.yaml', base],
    ]);
    expect(plan.build).toEqual({ archs: ['amd64'], annotations: { a: 'b' }, packageAppend: ['extra'] });
    expect(plan.sourceDateEpoch).toBe(1700000000);
    expect(plan.tag).toBe('r.example/app:1');
    expect([...plan.keys].map(([url, content]) => [url, Buffer.from(content).toString()])).toEqual([['keys/k.rsa.pub', 'PEM']]);
  });

  it('lays out an absolute or outside include under a scratch name and says which include it is', () => {
    const wrapper = 'include: /srv/os/images/base.yaml\n';
    const plan = planReproduce(
      predicate({ files: [{ path: 'wrapper.yaml', text: wrapper }, { path: '/srv/os/images/base.yaml', text: base }], configDigest: sha(wrapper), checksum: `sha256-${createHash('sha256').update(wrapper).update(base).digest('base64')}` }),
      'p',
    );
    expect(plan.configFiles.map((file) => [file.name, file.include])).toEqual([
      ['app.yaml', undefined],
      ['.kiln-reproduce/include-1.yaml', '/srv/os/images/base.yaml'],
    ]);
  });

  it.each([
    ['another builder', { buildType: 'https://example/other' }, 'is not https://kiln.dev/build/image/v1'],
    ['no recorded files', { files: [] }, 'does not record the configuration content'],
    ['content that does not match its digest', { files: [{ path: 'app.yaml', text: main, digest: sha('x') }, { path: 'base.yaml', text: base }] }, `config.files[0] (app.yaml) content has sha256 ${sha(main)}, but its digest says ${sha('x')}`],
    ['a config digest for other content', { configDigest: sha('other') }, `config.digest says ${sha('other')}`],
    ['a lock made from other files', { checksum: 'sha256-AAAA' }, 'the lock was made from configuration checksum sha256-AAAA'],
    ['an include the record lacks', { files: [{ path: 'app.yaml', text: main }] }, 'includes "base.yaml", which the provenance does not record'],
    ['no archs', { build: { archs: [] } }, 'build.archs is missing'],
  ])('refuses %s (IMAGE_PROVENANCE_INCOMPLETE)', (_name, overrides, message) => {
    expect(() => planReproduce(predicate(overrides), 'p')).toThrow(expect.objectContaining({ code: 'IMAGE_PROVENANCE_INCOMPLETE', message: expect.stringContaining(message) as string }));
  });
});
