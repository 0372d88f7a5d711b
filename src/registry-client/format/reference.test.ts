import { describe, expect, it } from 'vitest';
import { RegistryClientError } from '../errors.ts';
import { formatReference, isLoopbackRegistry, parseReference, referrersFallbackTag } from './reference.ts';

const HEX = 'a'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['index.docker.io/team/app', { registry: 'docker.io', repository: 'team/app', tag: 'latest' }],
    ['team/app:v1', { registry: 'docker.io', repository: 'team/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:5000/team/app:1.0', { registry: 'localhost:5000', repository: 'team/app', tag: '1.0' }],
    ['127.0.0.1:41000/a/b/c@sha256:' + HEX, { registry: '127.0.0.1:41000', repository: 'a/b/c', digest: `sha256:${HEX}` }],
    ['ghcr.io/o/r:t@sha256:' + HEX, { registry: 'ghcr.io', repository: 'o/r', tag: 't', digest: `sha256:${HEX}` }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app', tag: 'latest' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each(['', 'team/UPPER', 'app:', 'app@sha256:short', 'reg.io/app:-bad', 'reg.io//app', 'app:' + 'x'.repeat(129)])('rejects %j', (input) => {
    expect(() => parseReference(input)).toThrow(RegistryClientError);
  });

  it('formats back to a canonical string that parses to the same value', () => {
    for (const input of ['alpine', 'localhost:5000/x/y:z', `ghcr.io/o/r@sha256:${HEX}`]) {
      const parsed = parseReference(input);
      expect(parseReference(formatReference(parsed))).toEqual(parsed);
    }
  });
});

describe('helpers', () => {
  it('recognises loopback registries', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost')).toBe(true);
    expect(isLoopbackRegistry('[::1]:80')).toBe(true);
    expect(isLoopbackRegistry('registry.example.com')).toBe(false);
    expect(isLoopbackRegistry('10.0.0.1:5000')).toBe(false);
  });

  it('derives the referrers fallback tag', () => {
    expect(referrersFallbackTag(`sha256:${HEX}`)).toBe(`sha256-${HEX}`);
    expect(referrersFallbackTag(`sha512:${'b'.repeat(128)}`)).toBe(`sha512-${'b'.repeat(64)}`);
  });
});
