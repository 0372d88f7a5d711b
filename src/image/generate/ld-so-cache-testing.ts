// Test support: hand-made ELF shared objects with just what ldconfig reads (header, one PT_LOAD at
// a non-zero address so DT_STRTAB must be mapped, PT_DYNAMIC, DT_STRTAB, DT_SONAME), so tests need
// no compiler and can make objects of any class, byte order or machine.

/** Options of a synthetic ELF file. */
export interface TestElfOptions {
  is64?: boolean;
  little?: boolean;
  /** e_type; 3 = ET_DYN. */
  type?: number;
  /** e_machine; 62 = x86-64. */
  machine?: number;
  flags?: number;
  soname?: string;
  /** Leave out PT_DYNAMIC. */
  noDynamic?: boolean;
}

/** Builds a minimal ELF file. */
export function testElf(options: TestElfOptions = {}): Uint8Array {
  const is64 = options.is64 ?? true;
  const little = options.little ?? true;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = options.noDynamic ? 1 : 2;
  const vaddr = 0x10000;
  const strtab = `\0${options.soname ?? ''}\0`;
  const strtabOffset = ehsize + phentsize * phnum;
  const entsize = is64 ? 16 : 8;
  const dynOffset = strtabOffset + strtab.length + ((8 - ((strtabOffset + strtab.length) % 8)) % 8);
  const dyn: Array<[number, number]> = [[5, vaddr + strtabOffset]];
  if (options.soname !== undefined) dyn.push([14, 1]);
  dyn.push([10, strtab.length], [0, 0]);
  const total = dynOffset + dyn.length * entsize;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const word = (offset: number, value: number) => (is64 ? view.setBigUint64(offset, BigInt(value), little) : view.setUint32(offset, value, little));
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1]);
  view.setUint16(16, options.type ?? 3, little);
  view.setUint16(18, options.machine ?? 62, little);
  view.setUint32(20, 1, little);
  view.setUint32(is64 ? 48 : 36, options.flags ?? 0, little);
  word(is64 ? 32 : 28, ehsize);
  view.setUint16(is64 ? 52 : 40, ehsize, little);
  view.setUint16(is64 ? 54 : 42, phentsize, little);
  view.setUint16(is64 ? 56 : 44, phnum, little);
  const ph = (index: number, type: number, offset: number, size: number) => {
    const base = ehsize + index * phentsize;
    view.setUint32(base, type, little);
    if (is64) {
      view.setUint32(base + 4, 6, little);
      word(base + 8, offset);
      word(base + 16, vaddr + offset);
      word(base + 24, vaddr + offset);
      word(base + 32, size);
      word(base + 40, size);
      word(base + 48, 8);
    } else {
      word(base + 4, offset);
      word(base + 8, vaddr + offset);
      word(base + 12, vaddr + offset);
      word(base + 16, size);
      word(base + 20, size);
      view.setUint32(base + 24, 6, little);
      word(base + 28, 4);
    }
  };
  ph(0, 1, 0, total);
  if (!options.noDynamic) ph(1, 2, dynOffset, dyn.length * entsize);
  bytes.set(new TextEncoder().encode(strtab), strtabOffset);
  dyn.forEach(([tag, value], index) => {
    word(dynOffset + index * entsize, tag);
    word(dynOffset + index * entsize + entsize / 2, value);
  });
  return bytes;
}
