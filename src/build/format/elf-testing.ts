// Test support: synthesises small dynamic ELF images so tests need no compiler or host binaries.

/** Builds a minimal dynamic ELF image (one PT_LOAD at a non-zero vaddr, so DT_STRTAB must be mapped). */
export function buildElf(options: { is64: boolean; little: boolean; type: number; interp?: string; needed: string[]; soname?: string; runpath?: string }): Uint8Array {
  const { is64, little } = options;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = options.interp ? 3 : 2;
  const vaddr = 0x400000;
  let strtab = '\0';
  const str = (text: string) => {
    const offset = strtab.length;
    strtab += `${text}\0`;
    return offset;
  };
  const dyn: [number, number][] = options.needed.map((name) => [1, str(name)]);
  if (options.soname) dyn.push([14, str(options.soname)]);
  if (options.runpath) dyn.push([29, str(options.runpath)]);
  const interpOffset = ehsize + phentsize * phnum;
  const interpBytes = options.interp ? `${options.interp}\0` : '';
  const strtabOffset = interpOffset + interpBytes.length;
  const dynOffset = strtabOffset + strtab.length + ((8 - ((strtabOffset + strtab.length) % 8)) % 8);
  dyn.push([5, vaddr + strtabOffset], [10, strtab.length], [0, 0]);
  const entsize = is64 ? 16 : 8;
  const total = dynOffset + dyn.length * entsize;
  const buffer = new Uint8Array(total);
  const view = new DataView(buffer.buffer);
  const w = (offset: number, value: number) => (is64 ? view.setBigUint64(offset, BigInt(value), little) : view.setUint32(offset, value, little));
  buffer.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1]);
  view.setUint16(16, options.type, little);
  view.setUint16(18, is64 ? 62 : 3, little);
  w(is64 ? 32 : 28, ehsize);
  view.setUint16(is64 ? 54 : 42, phentsize, little);
  view.setUint16(is64 ? 56 : 44, phnum, little);
  const ph = (index: number, type: number, offset: number, size: number) => {
    const base = ehsize + index * phentsize;
    view.setUint32(base, type, little);
    if (is64) {
      w(base + 8, offset);
      w(base + 16, vaddr + offset);
      w(base + 32, size);
    } else {
      w(base + 4, offset);
      w(base + 8, vaddr + offset);
      w(base + 16, size);
    }
  };
  ph(0, 1, 0, total);
  ph(1, 2, dynOffset, dyn.length * entsize);
  if (options.interp) ph(2, 3, interpOffset, interpBytes.length);
  buffer.set(new TextEncoder().encode(interpBytes), interpOffset);
  buffer.set(new TextEncoder().encode(strtab), strtabOffset);
  dyn.forEach(([tag, value], index) => {
    w(dynOffset + index * entsize, tag);
    w(dynOffset + index * entsize + (is64 ? 8 : 4), value);
  });
  return buffer;
}
