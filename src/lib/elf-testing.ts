// Test support: small hand-made ELF files with just the parts that loaders, ldconfig and dependency
// scanners read (header; one PT_LOAD at a non-zero address, so DT_STRTAB must be mapped through it;
// PT_DYNAMIC; optionally PT_INTERP), so tests need no compiler and can make objects of any class,
// byte order or machine.

/** Options of a synthetic ELF file; every field has a default. */
interface TestElfOptions {
  /** ELFCLASS64 (default) or ELFCLASS32. */
  is64?: boolean;
  /** Little-endian (default) or big-endian. */
  little?: boolean;
  /** e_type; default 3 = ET_DYN. */
  type?: number;
  /** e_machine; default 62 (x86-64) for 64-bit, 3 (i386) for 32-bit. */
  machine?: number;
  /** e_flags. */
  flags?: number;
  /** PT_INTERP contents. */
  interp?: string;
  /** DT_NEEDED entries. */
  needed?: readonly string[];
  soname?: string;
  runpath?: string;
  /** Leave out PT_DYNAMIC. */
  noDynamic?: boolean;
}

/** Builds a minimal ELF file. */
export function buildTestElf(options: TestElfOptions = {}): Uint8Array {
  const is64 = options.is64 ?? true;
  const little = options.little ?? true;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = 1 + (options.noDynamic ? 0 : 1) + (options.interp ? 1 : 0);
  const vaddr = 0x10000;
  let strtab = '\0';
  const str = (text: string): number => {
    const offset = strtab.length;
    strtab += `${text}\0`;
    return offset;
  };
  const dyn: Array<[number, number]> = (options.needed ?? []).map((name) => [1, str(name)]);
  if (options.soname !== undefined) dyn.push([14, str(options.soname)]);
  if (options.runpath !== undefined) dyn.push([29, str(options.runpath)]);
  const interpOffset = ehsize + phentsize * phnum;
  const interpBytes = options.interp ? `${options.interp}\0` : '';
  const strtabOffset = interpOffset + interpBytes.length;
  const dynOffset = strtabOffset + strtab.length + ((8 - ((strtabOffset + strtab.length) % 8)) % 8);
  dyn.push([5, vaddr + strtabOffset], [10, strtab.length], [0, 0]);
  const entsize = is64 ? 16 : 8;
  const total = dynOffset + dyn.length * entsize;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const word = (offset: number, value: number) => (is64 ? view.setBigUint64(offset, BigInt(value), little) : view.setUint32(offset, value, little));
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1]);
  view.setUint16(16, options.type ?? 3, little);
  view.setUint16(18, options.machine ?? (is64 ? 62 : 3), little);
  view.setUint32(20, 1, little);
  view.setUint32(is64 ? 48 : 36, options.flags ?? 0, little);
  word(is64 ? 32 : 28, ehsize);
  view.setUint16(is64 ? 52 : 40, ehsize, little);
  view.setUint16(is64 ? 54 : 42, phentsize, little);
  view.setUint16(is64 ? 56 : 44, phnum, little);
  let next = 0;
  const ph = (type: number, offset: number, size: number) => {
    const base = ehsize + next++ * phentsize;
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
  ph(1, 0, total);
  if (!options.noDynamic) ph(2, dynOffset, dyn.length * entsize);
  if (options.interp) ph(3, interpOffset, interpBytes.length);
  const encoder = new TextEncoder();
  bytes.set(encoder.encode(interpBytes), interpOffset);
  bytes.set(encoder.encode(strtab), strtabOffset);
  dyn.forEach(([tag, value], index) => {
    word(dynOffset + index * entsize, tag);
    word(dynOffset + index * entsize + entsize / 2, value);
  });
  return bytes;
}
