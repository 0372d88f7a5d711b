import { describe, expect, it } from 'vitest';
import { ecosystemFromOsRelease, ecosystemFromSecdb } from './ecosystem.ts';

describe('ecosystemFromOsRelease', () => {
  it('reads Alpine edge as edge, although its VERSION_ID carries the next release\'s number', () => {
    expect(ecosystemFromOsRelease({ ID: 'alpine', VERSION_ID: '3.21.0_alpha20240807' })).toBe('alpine:edge');
    expect(ecosystemFromOsRelease({ ID: 'alpine', VERSION_ID: '3.20.3' })).toBe('alpine:3.20');
    // and edge's secdb matches it
    expect(ecosystemFromSecdb({ distroversion: 'edge', urlprefix: 'https://dl-cdn.alpinelinux.org/alpine' })).toBe('alpine:edge');
    expect(ecosystemFromSecdb({ distroversion: 'v3.20', urlprefix: 'https://dl-cdn.alpinelinux.org/alpine' })).toBe('alpine:3.20');
  });
});
