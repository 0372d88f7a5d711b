import { describe, expect, it } from 'vitest';
import { parseFactoryConfig } from './config.ts';

describe('parseFactoryConfig', () => {
  it('resolves paths against the file and defaults the update source to apt', () => {
    const config = parseFactoryConfig('os-dir: os\nout-dir: out\nstate-dir: /var/lib/kiln-factory\nsigning-key: keys/kiln-os.rsa\nregistry: 127.0.0.1:5000/kiln\nimages:\n  static: {main-package: kiln-baselayout}\n', '/etc/kiln/factory.yaml');
    expect(config).toMatchObject({ osDir: '/etc/kiln/os', outDir: '/etc/kiln/out', stateDir: '/var/lib/kiln-factory', signingKey: '/etc/kiln/keys/kiln-os.rsa', arch: 'x86_64', registry: '127.0.0.1:5000/kiln', debian: { kind: 'apt' }, git: { commit: true, branch: 'kiln-factory/updates' }, images: { static: { mainPackage: 'kiln-baselayout', publish: true } } });
  });

  it('reads Sources repositories (a path becomes a file:// URL)', () => {
    const config = parseFactoryConfig('os-dir: os\nout-dir: out\nstate-dir: s\nsigning-key: k\nupdates:\n  debian:\n    repositories:\n      - {url: archive/, suites: [bookworm-security]}\n', '/srv/factory.yaml');
    expect(config.debian).toEqual({ kind: 'repositories', repositories: [{ url: 'file:///srv/archive', suites: ['bookworm-security'], component: 'main' }] });
  });

  it('names the file and the field at fault', () => {
    expect(() => parseFactoryConfig('os-dir: os\nout-dir: out\nstate-dir: s\nsigning-key: k\nregistry: "not a registry!"\n', '/f.yaml')).toThrow(/^\/f\.yaml: registry: HOST\[:PORT\]/);
    expect(() => parseFactoryConfig('os-dir: os\n', '/f.yaml')).toThrow(expect.objectContaining({ code: 'FACTORY_CONFIG_INVALID' }));
    expect(() => parseFactoryConfig('os-dir: os\nout-dir: o\nstate-dir: s\nsigning-key: k\nbogus: 1\n', '/f.yaml')).toThrow(/\/f\.yaml: .*bogus/);
  });
});
