import { describe, expect, it } from 'vitest';
import { OciError } from '../errors.ts';
import { formatReference, formatTaggedReference, parseImageReference, referenceIdentifier, withDigest, withTag } from './reference.ts';
import type { ImageReference } from './reference.ts';

const F64 = 'f'.repeat(64);
const F128 = 'f'.repeat(128);
const HEX = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

// Valid references from github.com/distribution/reference (reference_test.go TestReferenceParse,
// normalize_test.go TestValidateReferenceName / TestParseRepositoryInfo / TestNormalizedSplitHostname),
// with the values ParseNormalizedNamed + TagNameOnly give them.
const VALID: Array<[string, ImageReference]> = [
  ['test_com', { registry: 'docker.io', repository: 'library/test_com', tag: 'latest' }],
  ['test.com:tag', { registry: 'docker.io', repository: 'library/test.com', tag: 'tag' }],
  ['test.com:5000', { registry: 'docker.io', repository: 'library/test.com', tag: '5000' }],
  ['test.com/repo:tag', { registry: 'test.com', repository: 'repo', tag: 'tag' }],
  ['test:5000/repo', { registry: 'test:5000', repository: 'repo', tag: 'latest' }],
  ['test:5000/repo:tag', { registry: 'test:5000', repository: 'repo', tag: 'tag' }],
  [`test:5000/repo@sha256:${F64}`, { registry: 'test:5000', repository: 'repo', digest: `sha256:${F64}` }],
  [`test:5000/repo:tag@sha256:${F64}`, { registry: 'test:5000', repository: 'repo', tag: 'tag', digest: `sha256:${F64}` }],
  ['lowercase:Uppercase', { registry: 'docker.io', repository: 'library/lowercase', tag: 'Uppercase' }],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', { registry: 'sub-dom1.foo.com', repository: 'bar/baz/quux', tag: 'some-long-tag' }],
  ['b.gcr.io/test.example.com/my-app:test.example.com', { registry: 'b.gcr.io', repository: 'test.example.com/my-app', tag: 'test.example.com' }],
  ['xn--n3h.com/myimage:xn--n3h.com', { registry: 'xn--n3h.com', repository: 'myimage', tag: 'xn--n3h.com' }],
  [`xn--7o8h.com/myimage:xn--7o8h.com@sha512:${F128}`, { registry: 'xn--7o8h.com', repository: 'myimage', tag: 'xn--7o8h.com', digest: `sha512:${F128}` }],
  ['foo_bar.com:8080', { registry: 'docker.io', repository: 'library/foo_bar.com', tag: '8080' }],
  ['foo/foo_bar.com:8080', { registry: 'docker.io', repository: 'foo/foo_bar.com', tag: '8080' }],
  ['192.168.1.1', { registry: 'docker.io', repository: 'library/192.168.1.1', tag: 'latest' }],
  ['192.168.1.1:5000', { registry: 'docker.io', repository: 'library/192.168.1.1', tag: '5000' }],
  ['192.168.1.1/repo', { registry: '192.168.1.1', repository: 'repo', tag: 'latest' }],
  ['192.168.1.1:5000/repo:5050', { registry: '192.168.1.1:5000', repository: 'repo', tag: '5050' }],
  ['[2001:db8::1]/repo', { registry: '[2001:db8::1]', repository: 'repo', tag: 'latest' }],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', { registry: '[2001:db8:1:2:3:4:5:6]', repository: 'repo', tag: 'tag' }],
  [`[2001:db8::1]:5000/repo:tag@sha256:${F64}`, { registry: '[2001:db8::1]:5000', repository: 'repo', tag: 'tag', digest: `sha256:${F64}` }],
  ['[::1]:5000/repo', { registry: '[::1]:5000', repository: 'repo', tag: 'latest' }],
  ['docker.io/library/debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
  ['docker.io/debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
  ['index.docker.io/debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
  ['index.docker.io/docker/docker', { registry: 'docker.io', repository: 'docker/docker', tag: 'latest' }],
  ['127.0.0.1:5000/library/debian', { registry: '127.0.0.1:5000', repository: 'library/debian', tag: 'latest' }],
  ['127.0.0.1:5000/debian', { registry: '127.0.0.1:5000', repository: 'debian', tag: 'latest' }],
  [`docker.io/${HEX}`, { registry: 'docker.io', repository: `library/${HEX}`, tag: 'latest' }],
  ['thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', { registry: 'docker.io', repository: 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', tag: 'latest' }],
  ['docker---rules/docker', { registry: 'docker.io', repository: 'docker---rules/docker', tag: 'latest' }],
  ['dock__er/docker', { registry: 'docker.io', repository: 'dock__er/docker', tag: 'latest' }],
  ['d/docker', { registry: 'docker.io', repository: 'd/docker', tag: 'latest' }],
  ['library/foo/bar', { registry: 'docker.io', repository: 'library/foo/bar', tag: 'latest' }],
  ['Docker/docker', { registry: 'Docker', repository: 'docker', tag: 'latest' }],
  ['FOO/bar', { registry: 'FOO', repository: 'bar', tag: 'latest' }],
  ['test-com:8080/foo', { registry: 'test-com:8080', repository: 'foo', tag: 'latest' }],
  ['xn--n3h.com:18080/foo', { registry: 'xn--n3h.com:18080', repository: 'foo', tag: 'latest' }],
  ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
  ['localhost:5000/team/app:1.0', { registry: 'localhost:5000', repository: 'team/app', tag: '1.0' }],
  [`busybox:latest@sha256:${F64}`, { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: `sha256:${F64}` }],
];

// Invalid references from the same upstream tests (Parse and ParseNormalizedNamed errors).
const INVALID: string[] = [
  '',
  ':justtag',
  `@sha256:${F64}`,
  'repo@sha256:ffffffffffffffffffffffffffffffffff',
  `validname@invaliddigest:${F64}`,
  'Uppercase:tag',
  'test:5000/Uppercase/lowercase:tag',
  `${'a/'.repeat(128)}a:tag`,
  // Parse accepts it with domain "a", but normalised it is docker.io/a/a/…: 265 characters.
  `${'a/'.repeat(127)}a:tag-puts-this-over-max`,
  'aa/asdf$$^/aa',
  '[2001:db8::1]',
  '[2001:db8::1]:5000',
  '[2001:db8::1]:tag',
  '[fe80::1%eth0]:5000/repo',
  '[fe80::1%@invalidzone]:5000/repo',
  'https://github.com/docker/docker',
  'docker/Docker',
  '-docker',
  '-docker/docker',
  '-docker.io/docker/docker',
  'docker///docker',
  'docker.io/docker/Docker',
  'docker.io/docker///docker',
  '[fc00::1]',
  '[fc00::1]:5000',
  'fc00::1:5000/debian',
  '[2001:db8:3:4::192.0.2.33]:5000/debian',
  HEX,
  'docker-/docker',
  '-docker-/docker',
  '____/____',
  '_docker/_docker',
  'dock..er/docker',
  'dock_.er/docker',
  'dock-.er/docker',
  'docker/',
  `${'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_'.repeat(4)}/docker`,
  `app:${'x'.repeat(129)}`,
  'app:-bad',
  'app:',
];

describe('parseImageReference (distribution/reference grammar)', () => {
  it.each(VALID)('%s', (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  it.each(INVALID)('refuses %j with OCI_REFERENCE_INVALID', (input) => {
    let caught: unknown;
    try {
      parseImageReference(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OciError);
    expect(caught).toMatchObject({ code: 'OCI_REFERENCE_INVALID', message: expect.stringContaining(`image reference ${JSON.stringify(input)}: `), detail: { reference: input } });
  });

  it('names what is wrong', () => {
    expect(() => parseImageReference('docker/Docker')).toThrow('repository "docker/Docker" must be lower case');
    expect(() => parseImageReference(HEX)).toThrow('is an image ID, not a repository name');
    expect(() => parseImageReference('app@sha256:short')).toThrow('digest "sha256:short" is not sha256:<64 lower-case hex> or sha512:<128 lower-case hex>');
    expect(() => parseImageReference('a..b.com/app')).toThrow('registry "a..b.com" is not a host name');
  });
});

// Where Kiln's two parsers (src/oci/reference.ts, modelled on ggcr, and
// src/registry-client/format/reference.ts) disagreed before there was one. `oci` and `client` are what
// each returned (`error` for a refusal); the expectation is Docker's answer, which this parser gives.
const DISAGREED: Array<{ input: string; oci: ImageReference | 'error'; client: ImageReference | 'error'; now: ImageReference | 'error'; why: string }> = [
  {
    input: 'alpine',
    oci: { registry: 'index.docker.io', repository: 'library/alpine' },
    client: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    now: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    why: 'Docker Hub is docker.io (normalize.go defaultDomain); no tag means latest (TagNameOnly, and ggcr defaults it too)',
  },
  {
    input: 'registry-1.docker.io/alpine',
    oci: { registry: 'registry-1.docker.io', repository: 'alpine' },
    client: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    now: { registry: 'registry-1.docker.io', repository: 'alpine', tag: 'latest' },
    why: 'only index.docker.io is an alias of docker.io; registry-1.docker.io is an ordinary host',
  },
  {
    input: 'Foo/bar',
    oci: 'error',
    client: { registry: 'Foo', repository: 'bar', tag: 'latest' },
    now: { registry: 'Foo', repository: 'bar', tag: 'latest' },
    why: 'an upper-case first component cannot be a namespace, so it is a registry (splitDockerDomain)',
  },
  {
    input: `app@sha512:${F128}`,
    oci: 'error',
    client: { registry: 'docker.io', repository: 'library/app', digest: `sha512:${F128}` },
    now: { registry: 'docker.io', repository: 'library/app', digest: `sha512:${F128}` },
    why: 'sha512 is a registered digest algorithm Kiln verifies',
  },
  {
    input: 'a..b.com/app',
    oci: { registry: 'a..b.com', repository: 'app' },
    client: 'error',
    now: 'error',
    why: 'the registry must match the domain grammar',
  },
  {
    input: '[2001:db8::192.0.2.33]:5000/app',
    oci: { registry: '[2001:db8::192.0.2.33]:5000', repository: 'app' },
    client: { registry: '[2001:db8::192.0.2.33]:5000', repository: 'app', tag: 'latest' },
    now: 'error',
    why: 'IPv6 addresses are hex and colons only (IPv4-mapped forms are excluded by the grammar)',
  },
  {
    input: 'example.com:123456/app',
    oci: { registry: 'example.com:123456', repository: 'app' },
    client: 'error',
    now: { registry: 'example.com:123456', repository: 'app', tag: 'latest' },
    why: 'the grammar allows any number of port digits; the client allowed five',
  },
  {
    input: ' alpine',
    oci: 'error',
    client: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    now: 'error',
    why: 'Docker does not trim: surrounding white space is not part of any production',
  },
  {
    input: `${'a/'.repeat(127)}a`,
    oci: { registry: 'index.docker.io', repository: `${'a/'.repeat(127)}a` },
    client: 'error',
    now: 'error',
    why: 'registry/repository may be at most 255 characters (NameTotalLengthMax)',
  },
  {
    input: HEX,
    oci: { registry: 'index.docker.io', repository: `library/${HEX}` },
    client: { registry: 'docker.io', repository: `library/${HEX}`, tag: 'latest' },
    now: 'error',
    why: 'a bare 64-hex string is an image ID (ParseNormalizedNamed refuses it)',
  },
];

describe('cases where the two former parsers disagreed', () => {
  it.each(DISAGREED)('$input: $why', ({ input, now }) => {
    if (now === 'error') expect(() => parseImageReference(input)).toThrow(OciError);
    else expect(parseImageReference(input)).toEqual(now);
  });
});

describe('helpers', () => {
  it('formats back to a canonical string that parses to the same value', () => {
    for (const [input] of VALID) {
      const parsed = parseImageReference(input);
      expect(parseImageReference(formatReference(parsed)), input).toEqual(parsed);
    }
  });

  it('addresses the digest when there is one, else the tag', () => {
    const ref = parseImageReference(`ghcr.io/o/r:t@sha256:${F64}`);
    expect(referenceIdentifier(ref)).toBe(`sha256:${F64}`);
    expect(referenceIdentifier(withTag(ref, 'v2'))).toBe('v2');
    expect(withDigest(ref, `sha512:${F128}`)).toEqual({ registry: 'ghcr.io', repository: 'o/r', digest: `sha512:${F128}` });
    expect(referenceIdentifier({ registry: 'r', repository: 'x' })).toBe('latest');
  });

  it('spells Docker Hub as ggcr does for docker-archive tags', () => {
    expect(formatTaggedReference(parseImageReference('alpine'))).toBe('index.docker.io/library/alpine:latest');
    expect(formatTaggedReference(parseImageReference('localhost:5000/x:1'), '-amd64')).toBe('localhost:5000/x:1-amd64');
  });
});
