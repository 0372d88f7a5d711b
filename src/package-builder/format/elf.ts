import { BuildError } from '../errors.ts';

// A small ELF reader: just what dependency detection needs (type, machine, interpreter, DT_NEEDED,
// DT_SONAME, run paths). Written here rather than taken from a library because it reads only the
// headers and the dynamic string table — a few hundred bytes per file — and must reject truncated
// input with a typed error instead of reading out of bounds.

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;

/** `e_type` values of loadable files (relocatable objects and core dumps are not). */
export const ET_EXEC = 2;
export const ET_DYN = 3;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const SHT_DYNAMIC = 6;

/** What the dynamic linker sees of an ELF file. */
export interface ElfInfo {
  is64: boolean;
  littleEndian: boolean;
  type: number;
  machine: number;
  /** PT_INTERP path, e.g. `/lib64/ld-linux-x86-64.so.2`. */
  interpreter?: string;
  needed: string[];
  soname?: string;
  runpath: string[];
}

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((byte, index) => bytes[index] === byte);
}

class Reader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly little: boolean,
    readonly is64: boolean,
    private readonly name: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(what: string): never {
    throw new BuildError('ELF_INVALID', `${this.name}: malformed ELF file: ${what}`, { detail: { file: this.name } });
  }
  check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.bytes.length) this.fail(`${what} out of bounds`);
  }
  u16(offset: number): number {
    this.check(offset, 2, 'field');
    return this.view.getUint16(offset, this.little);
  }
  u32(offset: number): number {
    this.check(offset, 4, 'field');
    return this.view.getUint32(offset, this.little);
  }
  /** Address-sized field (32 or 64 bit). */
  word(offset: number): number {
    if (!this.is64) return this.u32(offset);
    this.check(offset, 8, 'field');
    const value = this.view.getBigUint64(offset, this.little);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('offset too large');
    return Number(value);
  }
  /** Signed address-sized field (dynamic tags are signed). */
  sword(offset: number): number {
    if (!this.is64) return this.view.getInt32(offset, this.little);
    this.check(offset, 8, 'field');
    return Number(this.view.getBigInt64(offset, this.little));
  }
  cstring(offset: number, limit = this.bytes.length): string {
    if (offset < 0 || offset >= Math.min(limit, this.bytes.length)) this.fail('string offset out of bounds');
    let end = offset;
    const stop = Math.min(limit, this.bytes.length);
    while (end < stop && this.bytes[end] !== 0) end++;
    if (end >= stop) this.fail('unterminated string');
    return new TextDecoder().decode(this.bytes.subarray(offset, end));
  }
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** Parses an ELF file's headers and dynamic section; `name` is used in error messages. */
export function parseElf(bytes: Uint8Array, name = 'ELF file'): ElfInfo {
  if (!isElf(bytes)) throw new BuildError('ELF_INVALID', `${name}: not an ELF file`, { detail: { file: name } });
  if (bytes.length < 52) throw new BuildError('ELF_INVALID', `${name}: malformed ELF file: truncated header`, { detail: { file: name } });
  const elfClass = bytes[4];
  const data = bytes[5];
  if (elfClass !== 1 && elfClass !== 2) throw new BuildError('ELF_INVALID', `${name}: malformed ELF file: bad class ${elfClass}`, { detail: { file: name } });
  if (data !== 1 && data !== 2) throw new BuildError('ELF_INVALID', `${name}: malformed ELF file: bad data encoding ${data}`, { detail: { file: name } });
  const r = new Reader(bytes, data === 1, elfClass === 2, name);
  const is64 = r.is64;
  const type = r.u16(16);
  const machine = r.u16(18);
  const phoff = r.word(is64 ? 32 : 28);
  const shoff = r.word(is64 ? 40 : 32);
  const phentsize = r.u16(is64 ? 54 : 42);
  const phnum = r.u16(is64 ? 56 : 44);
  const shentsize = r.u16(is64 ? 58 : 46);
  const shnum = r.u16(is64 ? 60 : 48);

  const segments: Segment[] = [];
  if (phnum > 0) {
    if (phentsize < (is64 ? 56 : 32)) r.fail('program header entry too small');
    r.check(phoff, phentsize * phnum, 'program header table');
    for (let i = 0; i < phnum; i++) {
      const base = phoff + i * phentsize;
      segments.push(
        is64
          ? { type: r.u32(base), offset: r.word(base + 8), vaddr: r.word(base + 16), filesz: r.word(base + 32) }
          : { type: r.u32(base), offset: r.word(base + 4), vaddr: r.word(base + 8), filesz: r.word(base + 16) },
      );
    }
  }

  const info: ElfInfo = { is64, littleEndian: r.little, type, machine, needed: [], runpath: [] };
  const interp = segments.find((segment) => segment.type === PT_INTERP);
  if (interp) {
    r.check(interp.offset, interp.filesz, 'PT_INTERP');
    info.interpreter = r.cstring(interp.offset, interp.offset + interp.filesz);
  }

  // Locate the dynamic section: PT_DYNAMIC, else a SHT_DYNAMIC section.
  let dynOffset = -1;
  let dynSize = 0;
  const dynamic = segments.find((segment) => segment.type === PT_DYNAMIC);
  if (dynamic) {
    dynOffset = dynamic.offset;
    dynSize = dynamic.filesz;
  } else if (shnum > 0 && shoff > 0) {
    if (shentsize < (is64 ? 64 : 40)) r.fail('section header entry too small');
    r.check(shoff, shentsize * shnum, 'section header table');
    for (let i = 0; i < shnum; i++) {
      const base = shoff + i * shentsize;
      if (r.u32(base + 4) === SHT_DYNAMIC) {
        dynOffset = r.word(base + (is64 ? 24 : 16));
        dynSize = r.word(base + (is64 ? 32 : 20));
        break;
      }
    }
  }
  if (dynOffset < 0) return info;
  r.check(dynOffset, dynSize, 'dynamic section');

  const entrySize = is64 ? 16 : 8;
  const entries: { tag: number; value: number }[] = [];
  for (let offset = dynOffset; offset + entrySize <= dynOffset + dynSize; offset += entrySize) {
    const tag = r.sword(offset);
    if (tag === DT_NULL) break;
    entries.push({ tag, value: r.word(offset + (is64 ? 8 : 4)) });
  }
  const strtabAddr = entries.find((entry) => entry.tag === DT_STRTAB)?.value;
  const strsz = entries.find((entry) => entry.tag === DT_STRSZ)?.value;
  if (strtabAddr === undefined) return info;
  // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
  const load = segments.find((segment) => segment.type === PT_LOAD && strtabAddr >= segment.vaddr && strtabAddr < segment.vaddr + segment.filesz);
  const strtab = load ? strtabAddr - load.vaddr + load.offset : strtabAddr;
  const limit = strsz === undefined ? bytes.length : strtab + strsz;
  r.check(strtab, Math.max(0, Math.min(limit, bytes.length) - strtab), 'dynamic string table');
  for (const entry of entries) {
    if (entry.tag === DT_NEEDED) info.needed.push(r.cstring(strtab + entry.value, limit));
    else if (entry.tag === DT_SONAME) info.soname = r.cstring(strtab + entry.value, limit);
    else if (entry.tag === DT_RUNPATH || entry.tag === DT_RPATH) info.runpath.push(...r.cstring(strtab + entry.value, limit).split(':').filter(Boolean));
  }
  return info;
}
