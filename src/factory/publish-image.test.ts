import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planReproduce } from '../image/index.ts';
import type { BuildImageResult, ReproducibleFacts } from '../image/index.ts';
import { factoryProvenance } from './publish-image.ts';
import type { PublishRequest } from './publish-image.ts';

// The factory's provenance: with the build's reproducible inputs it is a predicate `kiln image
// reproduce` plans a rebuild from (every record checked against the others by planReproduce);
// without them it records only the configuration, as before.

const hex = (c: string) => c.repeat(64);
// The factory builds through a wrapper that includes the catalog file by absolute path and adds its
// own repository for resolution only (cli/commands/factory-run.ts).
const wrapper = Buffer.from('{"include":"/srv/kiln/os/images/app.yaml","contents":{"build_repositories":["/srv/kiln/out"]}}\n');
const catalogFile = Buffer.from('contents:\n  packages:\n    - app\narchs:\n  - x86_64\n');
const checksum = `sha256-${createHash('sha256').update(wrapper).update(catalogFile).digest('base64')}`;
const keyContent = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n';

const lock = {
  version: 'v1',
  config: { name: 'config.yaml', checksum },
  contents: {
    keyring: [{ name: '/srv/kiln/kiln-os.rsa.pub', url: 'file:///srv/kiln/kiln-os.rsa.pub', content: keyContent }],
    build_repositories: [],
    runtime_repositories: [],
    repositories: [{ name: '/srv/kiln/out/x86_64', url: 'file:///srv/kiln/out/x86_64/APKINDEX.tar.gz', architecture: 'x86_64' }],
    packages: [],
  },
};

const result = {
  index: { index: { digest: `sha256:${hex('0')}` } },
  created: '2023-11-14T22:13:20Z',
  arches: [
    {
      arch: { oci: 'amd64', apk: 'x86_64' },
      result: { image: { manifest: { digest: `sha256:${hex('1')}` } } },
      sbom: { os: { ID: 'kiln' }, packages: [] },
      packages: [{ record: { name: 'app', version: '1.0-r0', identity: 'Q1abc=' }, url: 'file:///srv/kiln/out/x86_64/app-1.0-r0.apk', datahash: hex('a') }],
    },
  ],
  lock,
} as unknown as BuildImageResult;

const reproducible: ReproducibleFacts = {
  configFiles: [
    { path: 'config.yaml', bytes: wrapper },
    { path: '/srv/kiln/os/images/app.yaml', bytes: catalogFile },
  ],
  build: { archs: ['amd64'], keyringAppend: ['/srv/kiln/kiln-os.rsa.pub'] },
};

function request(extra: Partial<PublishRequest>): PublishRequest {
  return {
    image: 'app',
    registry: '127.0.0.1:5000',
    tags: { repository: 'kiln-os/app', moving: ['latest'], dated: '1.0-r0-20231114' },
    result,
    config: { path: '/srv/kiln/os/images/app.yaml', bytes: catalogFile, checksum },
    kilnVersion: '9.8.7',
    startedOn: new Date('2023-11-14T22:13:20Z'),
    now: new Date('2023-11-14T22:14:00Z'),
    ...extra,
  };
}

describe('factoryProvenance', () => {
  it('records the reproducible inputs so kiln image reproduce can plan the rebuild', () => {
    const provenance = factoryProvenance(request({ reproducible, sourceDateEpoch: '1700000000' }), ['127.0.0.1:5000/kiln-os/app:latest']);
    const plan = planReproduce(provenance, 'factory provenance');
    expect(plan.configPath).toBe('config.yaml');
    expect(plan.configFiles.map((file) => [file.name, file.include, file.bytes.toString('utf8')])).toEqual([
      ['config.yaml', undefined, wrapper.toString('utf8')],
      ['.kiln-reproduce/include-1.yaml', '/srv/kiln/os/images/app.yaml', catalogFile.toString('utf8')],
    ]);
    expect(plan.build).toEqual({ archs: ['amd64'], keyringAppend: ['/srv/kiln/kiln-os.rsa.pub'] });
    expect(plan.sourceDateEpoch).toBe(1700000000);
    expect(plan.tag).toBe('127.0.0.1:5000/kiln-os/app:latest');
    expect(plan.index).toBe(`sha256:${hex('0')}`);
    expect([...plan.keys].map(([url, bytes]) => [url, Buffer.from(bytes).toString('utf8')])).toEqual([['file:///srv/kiln/kiln-os.rsa.pub', keyContent]]);
    const definition = (provenance as { buildDefinition: { externalParameters: { config: { path: string; digest: { sha256: string } } }; resolvedDependencies: Array<{ name?: string; annotations?: { kind?: string } }> } }).buildDefinition;
    expect(definition.externalParameters.config).toMatchObject({ path: 'config.yaml', digest: { sha256: createHash('sha256').update(wrapper).digest('hex') }, checksum });
    expect(definition.resolvedDependencies.filter((dep) => dep.annotations?.kind === 'apk-key').map((dep) => dep.name)).toEqual(['kiln-os.rsa.pub']);
  });

  it('without them records the configuration only, which reproduce refuses as incomplete', () => {
    const provenance = factoryProvenance(request({}), ['127.0.0.1:5000/kiln-os/app:latest']);
    const config = (provenance as { buildDefinition: { externalParameters: { config: Record<string, unknown> } } }).buildDefinition.externalParameters.config;
    expect(config).toEqual({ path: '/srv/kiln/os/images/app.yaml', digest: { sha256: createHash('sha256').update(catalogFile).digest('hex') }, checksum });
    expect(() => planReproduce(provenance, 'factory provenance')).toThrow(expect.objectContaining({ code: 'IMAGE_PROVENANCE_INCOMPLETE' }) as Error);
  });

  it('a lock made from other configuration files does not plan', () => {
    const other: ReproducibleFacts = { ...reproducible, configFiles: [reproducible.configFiles[0]!, { path: '/srv/kiln/os/images/app.yaml', bytes: Buffer.from('contents:\n  packages:\n    - other\n') }] };
    expect(() => planReproduce(factoryProvenance(request({ reproducible: other }), ['r/app:1']), 'factory provenance')).toThrow(/configuration checksum/);
  });
});
