import { describe, expect, it } from 'vitest';
import { repositoryGlob, tagGlob } from './patterns.ts';

describe('repositoryGlob', () => {
  it('matches `*` within one path component and `**` across components', () => {
    const one = repositoryGlob('team/*');
    expect(one.test('team/app')).toBe(true);
    expect(one.test('team/app/sub')).toBe(false);
    expect(one.test('team/')).toBe(true);
    expect(one.test('other/app')).toBe(false);
    const any = repositoryGlob('team/**');
    expect(any.test('team/app/sub')).toBe(true);
    expect(repositoryGlob('*/app').test('a/b/app')).toBe(false);
    expect(repositoryGlob('**/app').test('a/b/app')).toBe(true);
  });

  it('takes every other character literally, anchored at both ends', () => {
    expect(repositoryGlob('a.b').test('a.b')).toBe(true);
    expect(repositoryGlob('a.b').test('axb')).toBe(false);
    expect(repositoryGlob('app').test('my-app')).toBe(false);
    expect(repositoryGlob('app').test('app2')).toBe(false);
  });
});

describe('tagGlob', () => {
  it('matches `*` for any run and `?` for one character, the rest literally', () => {
    expect(tagGlob('v1.*').test('v1.2.3')).toBe(true);
    expect(tagGlob('v1.*').test('v10')).toBe(false);
    expect(tagGlob('v?').test('v1')).toBe(true);
    expect(tagGlob('v?').test('v12')).toBe(false);
    expect(tagGlob('latest').test('latest2')).toBe(false);
  });
});
