import { describe, expect, it } from 'vitest';
import { diffCves, diffPackages } from './history.ts';

describe('diffPackages', () => {
  it('names added, removed and upgraded packages, sorted by name, and leaves unchanged ones out', () => {
    const diff = diffPackages(
      [{ name: 'zlib', version: '1.2.13-r0' }, { name: 'busybox', version: '1.36.1-r0' }, { name: 'jq', version: '1.6-r0' }],
      [{ name: 'zlib', version: '1.2.13-r1' }, { name: 'busybox', version: '1.36.1-r0' }, { name: 'curl', version: '7.88.1-r0' }, { name: 'ca-certificates', version: '20230311-r0' }],
    );
    expect(diff).toEqual({
      added: [{ name: 'ca-certificates', version: '20230311-r0' }, { name: 'curl', version: '7.88.1-r0' }],
      removed: [{ name: 'jq', version: '1.6-r0' }],
      upgraded: [{ name: 'zlib', from: '1.2.13-r0', to: '1.2.13-r1' }],
    });
  });
});

describe('diffCves', () => {
  it('splits ids into fixed and introduced and keeps the open counts', () => {
    const open = { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 };
    expect(diffCves(['CVE-2023-2', 'CVE-2022-1'], ['CVE-2024-3', 'CVE-2023-2'], open)).toEqual({ fixed: ['CVE-2022-1'], introduced: ['CVE-2024-3'], open });
  });
});
