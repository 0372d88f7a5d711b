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

  it('checks upstream feeds by default, at configured URLs, or not at all', () => {
    const base = 'os-dir: os\nout-dir: out\nstate-dir: s\nsigning-key: k\n';
    expect(parseFactoryConfig(base, '/f.yaml').upstream).toEqual({});
    expect(parseFactoryConfig(`${base}updates:\n  upstream: false\n`, '/f.yaml').upstream).toBeUndefined();
    expect(parseFactoryConfig(`${base}updates:\n  upstream:\n    github-api-url: https://ghe.example/api/v3/\n    github-token-env: GH_TOKEN\n`, '/f.yaml').upstream).toEqual({ githubApiUrl: 'https://ghe.example/api/v3', githubTokenEnv: 'GH_TOKEN' });
    expect(() => parseFactoryConfig(`${base}updates:\n  upstream:\n    github-token-env: "not a name"\n`, '/f.yaml')).toThrow(/updates\.upstream\.github-token-env/);
  });

  it('signs keylessly with Sigstore\'s public instances by default, never with a key as well', () => {
    const base = 'os-dir: os\nout-dir: out\nstate-dir: s\nsigning-key: k\n';
    expect(parseFactoryConfig(`${base}keyless:\n  identity-token-file: token\n`, '/etc/kiln/f.yaml').keyless).toEqual({ fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev', identityTokenFile: '/etc/kiln/token', identityTokenEnv: 'SIGSTORE_ID_TOKEN', rekorEntryType: 'dsse', tlogUpload: true });
    expect(() => parseFactoryConfig(`${base}cosign-key: cosign.key\nkeyless: {}\n`, '/f.yaml')).toThrow(/^\/f\.yaml: keyless: give cosign-key or keyless, not both$/);
  });

  it('names the file and the field at fault', () => {
    expect(() => parseFactoryConfig('os-dir: os\nout-dir: out\nstate-dir: s\nsigning-key: k\nregistry: "not a registry!"\n', '/f.yaml')).toThrow(/^\/f\.yaml: registry: HOST\[:PORT\]/);
    expect(() => parseFactoryConfig('os-dir: os\n', '/f.yaml')).toThrow(expect.objectContaining({ code: 'FACTORY_CONFIG_INVALID' }));
    expect(() => parseFactoryConfig('os-dir: os\nout-dir: o\nstate-dir: s\nsigning-key: k\nbogus: 1\n', '/f.yaml')).toThrow(/\/f\.yaml: .*bogus/);
  });
});
