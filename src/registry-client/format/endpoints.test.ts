import { describe, expect, it } from 'vitest';
import { isLoopbackRegistry, referrersFallbackTag, registryApiHost } from './endpoints.ts';

const HEX = 'a'.repeat(64);

describe('endpoints', () => {
  it('recognises loopback registries', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost')).toBe(true);
    expect(isLoopbackRegistry('[::1]:80')).toBe(true);
    expect(isLoopbackRegistry('registry.example.com')).toBe(false);
    expect(isLoopbackRegistry('10.0.0.1:5000')).toBe(false);
  });

  it('talks to Docker Hub on registry-1.docker.io and to other registries as named', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('registry-1.docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('localhost:5000')).toBe('localhost:5000');
  });

  it('derives the referrers fallback tag', () => {
    expect(referrersFallbackTag(`sha256:${HEX}`)).toBe(`sha256-${HEX}`);
    expect(referrersFallbackTag(`sha512:${'b'.repeat(128)}`)).toBe(`sha512-${'b'.repeat(64)}`);
  });
});
