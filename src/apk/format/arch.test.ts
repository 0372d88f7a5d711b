import { describe, expect, it } from 'vitest';
import { ARCHS, archInfo, findArch, hostArchName } from './arch.ts';

describe('architecture table', () => {
  // apk name, OCI name, OCI platform, ELF e_machine: the rows both former tables (the package builder's arch.ts
  // and src/image/config/archs.ts) agreed on, and the machines src/image/generate/ld-so-cache.ts used.
  it.each([
    ['x86', '386', '386', undefined, 3],
    ['x86_64', 'amd64', 'amd64', undefined, 62],
    ['armhf', 'arm/v6', 'arm', 'v6', 40],
    ['armv7', 'arm/v7', 'arm', 'v7', 40],
    ['aarch64', 'arm64', 'arm64', undefined, 183],
    ['loongarch64', 'loong64', 'loong64', undefined, 258],
    ['ppc64le', 'ppc64le', 'ppc64le', undefined, 21],
    ['riscv64', 'riscv64', 'riscv64', undefined, 243],
    ['s390x', 's390x', 's390x', undefined, 22],
  ])('%s is %s (%s %s), ELF machine %i', (apk, oci, architecture, variant, machine) => {
    for (const name of [apk, oci]) {
      const info = archInfo(name);
      expect(info).toMatchObject({ apk, oci, architecture, elf: { machine } });
      expect(info.variant).toBe(variant);
      expect(findArch(name)).toBe(info);
    }
  });

  it('lists the nine architectures in plain order of their OCI names (apko\'s order)', () => {
    const names = ARCHS.map((arch) => arch.oci);
    expect(names).toHaveLength(9);
    expect(names).toEqual([...names].sort());
  });

  it('refuses an unknown name with APK_ARCH_UNKNOWN, listing the known ones', () => {
    expect(findArch('sparc')).toBeUndefined();
    expect(() => archInfo('sparc')).toThrow(expect.objectContaining({ code: 'APK_ARCH_UNKNOWN', detail: { arch: 'sparc' }, message: expect.stringMatching(/^unknown architecture "sparc" \(known: 386, amd64, .* or their apk names x86, x86_64, /) }));
    expect(() => archInfo('arm')).toThrow(expect.objectContaining({ code: 'APK_ARCH_UNKNOWN' }));
  });

  it('names the host by its Node.js process.arch', () => {
    for (const [node, apk] of [['x64', 'x86_64'], ['arm64', 'aarch64'], ['ia32', 'x86'], ['arm', 'armv7'], ['ppc64', 'ppc64le'], ['s390x', 's390x'], ['riscv64', 'riscv64'], ['loong64', 'loongarch64']] as const) {
      expect(hostArchName(node)).toBe(apk);
      expect(archInfo(hostArchName(node)).apk).toBe(apk);
    }
    expect(hostArchName('mips')).toBe('mips');
  });
});
