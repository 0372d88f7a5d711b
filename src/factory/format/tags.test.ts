import { describe, expect, it } from 'vitest';
import { imageTags, mainPackageOf } from './tags.ts';

describe('imageTags', () => {
  it('gives latest, VERSION, VERSION-rN and a dated tag; -dev images share the repository with -dev tags', () => {
    expect(imageTags({ name: 'curl', namespace: 'kiln', fullVersion: '7.88.1-r2', date: '20261204' })).toEqual({ repository: 'kiln/curl', moving: ['latest', '7.88.1', '7.88.1-r2'], dated: '7.88.1-20261204' });
    expect(imageTags({ name: 'curl-dev', namespace: 'kiln', fullVersion: '7.88.1-r2', date: '20261204' })).toEqual({ repository: 'kiln/curl', moving: ['latest-dev', '7.88.1-dev', '7.88.1-r2-dev'], dated: '7.88.1-20261204-dev' });
    expect(imageTags({ name: 'tzdata', namespace: '', fullVersion: '2026b-r0', date: '20261204' }).repository).toBe('tzdata');
  });
});

describe('mainPackageOf', () => {
  const installed = [{ name: 'kiln-baselayout', version: '2026.12-r0' }, { name: 'curl', version: '7.88.1-r0' }, { name: 'busybox', version: '1.35.0-r0' }];
  it('takes the configured package, else the one named like the image, else the first listed', () => {
    expect(mainPackageOf({ name: 'curl-dev', listed: ['kiln-baselayout', 'curl', 'busybox'], installed })).toEqual({ name: 'curl', version: '7.88.1-r0' });
    expect(mainPackageOf({ name: 'curl', configured: 'busybox', listed: [], installed })).toEqual({ name: 'busybox', version: '1.35.0-r0' });
    expect(mainPackageOf({ name: 'static', listed: ['kiln-baselayout>=2026', 'curl'], installed })).toEqual({ name: 'kiln-baselayout', version: '2026.12-r0' });
    expect(mainPackageOf({ name: 'x', listed: ['nothing'], installed })).toBeUndefined();
  });
});
