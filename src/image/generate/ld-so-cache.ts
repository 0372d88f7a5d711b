import { findArch } from '../../apk/index.ts';
import { compareBytes, splitPath } from '../fs/tree.ts';
import type { FsNode, FsTree } from '../fs/tree.ts';

// Pure: /etc/ld.so.cache for glibc images, written when the image has /etc/ld.so.conf (apko does
// the same, image-config.md §6.6). The directory list, the choice of files and the byte layout
// follow glibc's ldconfig (elf/ldconfig.c, elf/readelflib.c, elf/cache.c, elf/stringtable.c as of
// glibc 2.36) rather than apko's ldso-cache package, whose entries use the file name as key and are
// not in the loader's search order:
//
// - directories: those of /etc/ld.so.conf and its `include`s in file order, then the arch's
//   trusted system directories; a directory reached twice (also through a symlink) counts once,
//   under the first name; missing directories are dropped;
// - files: names that look like DSOs (lib*.so*, ld-*.so*, ld.so.*, ld64.so.*), regular files or
//   symlinks to them, that are ELF shared objects with a PT_DYNAMIC segment and a DT_STRTAB of the
//   image's class, byte order and machine; the key is DT_SONAME (the file name when there is none),
//   a symlink named after its target's soname (or its `.so` development link) keeps its own name;
//   within one directory a file beats a symlink, else the higher version wins; the value is
//   `<dir>/<key>`, as ldconfig records it (it would create that link; images ship it);
// - format: glibc's new format only (`glibc-ld.so.cache1.1`, what ldconfig writes by default since
//   glibc 2.32), entries in the loader's binary-search order (descending `_dl_cache_libcmp`), one
//   string table with ldconfig's suffix sharing. ldconfig appends an extension directory naming
//   the generating ldconfig build; it is optional for the loader and left out, so the header's
//   extension offset is 0 and the file ends with the string table.
//
// Not done: legacy hwcap subdirectories (tls, platform names) and glibc-hwcaps/<level>
// subdirectories, which ldconfig also scans; 32-bit libraries in a 64-bit image (ldconfig on
// x86_64 lists i386 libraries with other flags; the loader never picks them).

/** How one architecture's loader reads the cache and which libraries it accepts. */
interface LdCacheArch {
  /** ELF e_machine. */
  machine: number;
  is64: boolean;
  littleEndian: boolean;
  /** Whether C `char` is signed (changes `_dl_cache_libcmp` for bytes >= 0x80). */
  charSigned: boolean;
  /** Directories ldconfig always scans after those of ld.so.conf. */
  systemDirs: readonly string[];
  /** Cache entry flags for a library with these ELF e_flags; undefined = another ABI. */
  flags: (eFlags: number) => number | undefined;
}

const FLAG_ELF_LIBC6 = 0x0003;
const SYSTEM_64 = ['/lib', '/lib64', '/usr/lib', '/usr/lib64'];
const SYSTEM_32 = ['/lib', '/usr/lib'];

/** What glibc adds to an architecture's ELF identity (which is apk's arch table's: ARCHS[].elf). */
type GlibcCacheArch = Omit<LdCacheArch, 'machine' | 'is64' | 'littleEndian'>;

const ARM: GlibcCacheArch = {
  charSigned: false,
  systemDirs: SYSTEM_32,
  // EF_ARM_ABI_FLOAT_HARD 0x400, EF_ARM_ABI_FLOAT_SOFT 0x200
  flags: (eFlags: number) => (eFlags & 0x400 ? FLAG_ELF_LIBC6 | 0x0900 : eFlags & 0x200 ? FLAG_ELF_LIBC6 | 0x0b00 : FLAG_ELF_LIBC6),
};

// System directories: glibc adds its slibdir and libdir (for x86_64 both `lib64` forms expand to
// lib, lib64 and libx32). Distributions build with /lib64 or /lib; the list is the union, since a
// directory that does not exist is dropped.
const GLIBC_ARCHES: Readonly<Record<string, GlibcCacheArch>> = {
  x86_64: {
    charSigned: true,
    systemDirs: ['/lib', '/lib64', '/libx32', '/usr/lib', '/usr/lib64', '/usr/libx32'],
    flags: () => FLAG_ELF_LIBC6 | 0x0300,
  },
  aarch64: { charSigned: false, systemDirs: SYSTEM_64, flags: () => FLAG_ELF_LIBC6 | 0x0a00 },
  ppc64le: { charSigned: false, systemDirs: SYSTEM_64, flags: () => FLAG_ELF_LIBC6 | 0x0500 },
  s390x: { charSigned: false, systemDirs: SYSTEM_64, flags: () => FLAG_ELF_LIBC6 | 0x0400 },
  riscv64: {
    charSigned: false,
    systemDirs: SYSTEM_64,
    // EF_RISCV_FLOAT_ABI: soft 0, double 4 (single and quad have no cache flag)
    flags: (eFlags) => ((eFlags & 0x6) === 0x4 ? FLAG_ELF_LIBC6 | 0x1000 : (eFlags & 0x6) === 0 ? FLAG_ELF_LIBC6 | 0x0f00 : undefined),
  },
  loongarch64: {
    charSigned: true,
    systemDirs: SYSTEM_64,
    // EF_LOONGARCH_ABI_MODIFIER: soft-float 1, double-float 3
    flags: (eFlags) => ((eFlags & 0x7) === 0x3 ? FLAG_ELF_LIBC6 | 0x1200 : (eFlags & 0x7) === 0x1 ? FLAG_ELF_LIBC6 | 0x1100 : undefined),
  },
  x86: { charSigned: true, systemDirs: SYSTEM_32, flags: () => FLAG_ELF_LIBC6 },
  armhf: ARM,
  armv7: ARM,
};

/** The cache parameters of an apk architecture (`x86_64`, `aarch64` …), if glibc supports it. */
export function ldCacheArch(apkArch: string): LdCacheArch | undefined {
  const glibc = GLIBC_ARCHES[apkArch];
  const arch = findArch(apkArch);
  if (!glibc || arch?.apk !== apkArch) return undefined;
  return { ...arch.elf, ...glibc };
}

/** What reading one candidate file gave. */
type ElfProbe =
  | { kind: 'library'; soname?: string; flags: number }
  | { kind: 'skipped'; reason: 'not-elf' | 'other-abi' | 'not-shared-object' | 'no-dynamic-section' | 'malformed' };

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_STRTAB = 5;
const DT_SONAME = 14;

class Truncated extends Error {}

/** Reads what ldconfig reads of an ELF file: class, byte order, type, machine, e_flags, PT_DYNAMIC,
 *  DT_STRTAB (mapped through the PT_LOAD that contains it) and the first DT_SONAME. Written here
 *  rather than reusing the build domain's ELF reader because ldconfig looks only at PT_DYNAMIC (no
 *  section-header fallback), needs e_flags, and any damage must mean "skip", never an error. */
export function probeElfLibrary(bytes: Uint8Array, arch: LdCacheArch): ElfProbe {
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return { kind: 'skipped', reason: 'not-elf' };
  if (bytes[4] !== (arch.is64 ? 2 : 1) || bytes[5] !== (arch.littleEndian ? 1 : 2)) return { kind: 'skipped', reason: 'other-abi' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = arch.littleEndian;
  const need = (offset: number, length: number) => {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > bytes.length) throw new Truncated();
  };
  const u16 = (offset: number) => (need(offset, 2), view.getUint16(offset, le));
  const u32 = (offset: number) => (need(offset, 4), view.getUint32(offset, le));
  const word = (offset: number): number => {
    if (!arch.is64) return u32(offset);
    need(offset, 8);
    const value = view.getBigUint64(offset, le);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Truncated();
    return Number(value);
  };
  try {
    const type = u16(16);
    const machine = u16(18);
    const eFlags = u32(arch.is64 ? 48 : 36);
    if (machine !== arch.machine) return { kind: 'skipped', reason: 'other-abi' };
    const flags = arch.flags(eFlags);
    if (flags === undefined) return { kind: 'skipped', reason: 'other-abi' };
    if (type !== 3) return { kind: 'skipped', reason: 'not-shared-object' };
    const phoff = word(arch.is64 ? 32 : 28);
    const phnum = u16(arch.is64 ? 56 : 44);
    // ldconfig steps through the program headers by the native struct size, not e_phentsize
    const phsize = arch.is64 ? 56 : 32;
    const loads: Array<{ offset: number; vaddr: number; filesz: number }> = [];
    let dynamic: { offset: number; size: number } | undefined;
    for (let index = 0; index < phnum; index++) {
      const base = phoff + index * phsize;
      need(base, phsize);
      const segment = arch.is64
        ? { type: u32(base), offset: word(base + 8), vaddr: word(base + 16), filesz: word(base + 32) }
        : { type: u32(base), offset: word(base + 4), vaddr: word(base + 8), filesz: word(base + 16) };
      if (segment.type === PT_LOAD) loads.push(segment);
      else if (segment.type === PT_DYNAMIC) dynamic = { offset: segment.offset, size: segment.filesz };
    }
    if (!dynamic || dynamic.size === 0) return { kind: 'skipped', reason: 'no-dynamic-section' };
    const entrySize = arch.is64 ? 16 : 8;
    let strtab: number | undefined;
    let soname: number | undefined;
    for (let offset = dynamic.offset; ; offset += entrySize) {
      need(offset, entrySize);
      const tag = arch.is64 ? Number(view.getBigInt64(offset, le)) : view.getInt32(offset, le);
      if (tag === 0) break;
      if (tag === DT_STRTAB && strtab === undefined) strtab = word(offset + entrySize / 2);
      else if (tag === DT_SONAME && soname === undefined) soname = word(offset + entrySize / 2);
    }
    if (strtab === undefined) return { kind: 'skipped', reason: 'no-dynamic-section' };
    const address = strtab;
    const load = loads.find((segment) => address >= segment.vaddr && address - segment.vaddr < segment.filesz);
    const strings = address - (load ? load.vaddr - load.offset : 0);
    if (soname === undefined) return { kind: 'library', flags };
    const start = strings + soname;
    need(start, 1);
    const end = bytes.indexOf(0, start);
    if (end < 0) throw new Truncated();
    return { kind: 'library', soname: Buffer.from(bytes.subarray(start, end)).toString('utf8'), flags };
  } catch (error) {
    if (error instanceof Truncated) return { kind: 'skipped', reason: 'malformed' };
    throw error;
  }
}

/** glibc's `_dl_cache_libcmp`: byte order, except that runs of digits compare as numbers, and a
 *  digit sorts after any other byte. */
export function libcmp(a: string, b: string, charSigned = true): number {
  const p = Buffer.from(a, 'utf8');
  const q = Buffer.from(b, 'utf8');
  const at = (bytes: Buffer, index: number) => {
    const byte = index < bytes.length ? bytes[index]! : 0;
    return charSigned && byte >= 0x80 ? byte - 0x100 : byte;
  };
  const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;
  let i = 0;
  let j = 0;
  while (at(p, i) !== 0) {
    const x = at(p, i);
    const y = at(q, j);
    if (isDigit(x)) {
      if (!isDigit(y)) return 1;
      // int arithmetic as in C, wrapping on absurdly long digit runs
      let left = 0;
      let right = 0;
      while (isDigit(at(p, i))) left = (Math.imul(left, 10) + at(p, i++) - 0x30) | 0;
      while (isDigit(at(q, j))) right = (Math.imul(right, 10) + at(q, j++) - 0x30) | 0;
      if (left !== right) return left - right;
    } else if (isDigit(y)) return -1;
    else if (x !== y) return x - y;
    else {
      i++;
      j++;
    }
  }
  return at(p, i) - at(q, j);
}

/** One cache entry: a soname and the path the loader opens for it. */
interface LdSoCacheEntry {
  soname: string;
  path: string;
  flags: number;
}

/** Sorts entries into the loader's binary-search order: descending `_dl_cache_libcmp` of the
 *  soname, then descending flags; equal entries keep their order (ldconfig inserts into a sorted
 *  list after its equals, so the first directory wins). */
export function sortLdSoCacheEntries(entries: readonly LdSoCacheEntry[], charSigned: boolean): LdSoCacheEntry[] {
  return [...entries].sort((a, b) => libcmp(b.soname, a.soname, charSigned) || b.flags - a.flags);
}

const MAGIC = 'glibc-ld.so.cache1.1';
const HEADER_SIZE = 48;
const ENTRY_SIZE = 24;

/** ldconfig's string table: strings sorted by their reversed bytes, descending (a suffix right
 *  after the string that ends with it), each sharing the tail of its predecessor when it can. */
function stringTable(strings: Iterable<string>): { bytes: Uint8Array; offsets: Map<string, number> } {
  const items = [...new Set(strings)].map((text) => ({ text, bytes: Buffer.from(text, 'utf8'), offset: 0 }));
  items.sort((l, r) => {
    const n = Math.min(l.bytes.length, r.bytes.length);
    for (let i = 1; i <= n; i++) {
      const lc = l.bytes[l.bytes.length - i]!;
      const rc = r.bytes[r.bytes.length - i]!;
      if (lc !== rc) return rc - lc;
    }
    return r.bytes.length - l.bytes.length;
  });
  let size = 0;
  items.forEach((item, index) => {
    const previous = items[index - 1];
    if (!previous) item.offset = 0;
    else if (previous.bytes.length >= item.bytes.length && previous.bytes.subarray(previous.bytes.length - item.bytes.length).equals(item.bytes)) {
      item.offset = previous.offset + previous.bytes.length - item.bytes.length;
    } else item.offset = previous.offset + previous.bytes.length + 1;
    size = item.offset + item.bytes.length + 1;
  });
  const bytes = new Uint8Array(size);
  for (const item of items) bytes.set(item.bytes, item.offset);
  return { bytes, offsets: new Map(items.map((item) => [item.text, item.offset])) };
}

/** The cache file for entries already in loader order (sortLdSoCacheEntries). */
export function writeLdSoCache(entries: readonly LdSoCacheEntry[], arch: Pick<LdCacheArch, 'littleEndian'>): Uint8Array {
  const table = stringTable(entries.flatMap((entry) => [entry.soname, entry.path]));
  const base = HEADER_SIZE + entries.length * ENTRY_SIZE;
  const out = new Uint8Array(base + table.bytes.length);
  const view = new DataView(out.buffer);
  const le = arch.littleEndian;
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  view.setUint32(20, entries.length, le);
  view.setUint32(24, table.bytes.length, le);
  // cache_file_new_flags_endian_little = 2, _big = 3; extension_offset (32) stays 0
  out[28] = le ? 2 : 3;
  entries.forEach((entry, index) => {
    const at = HEADER_SIZE + index * ENTRY_SIZE;
    view.setInt32(at, entry.flags, le);
    view.setUint32(at + 4, base + table.offsets.get(entry.soname)!, le);
    view.setUint32(at + 8, base + table.offsets.get(entry.path)!, le);
    // osversion_unused (at + 12) and hwcap (at + 16) stay 0
  });
  out.set(table.bytes, base);
  return out;
}

/** Read access to the image filesystem, as ldconfig sees a root directory. */
interface RootView {
  /** Canonical components of an existing path (all symlinks followed), or undefined. */
  real(path: string): string[] | undefined;
  /** The node at a path, following symlinks (hard links resolved to their file). */
  stat(path: string): FsNode | undefined;
  /** The node at a path, not following a final symlink. */
  lstat(path: string): FsNode | undefined;
  /** Names in a directory (symlinks followed), byte order. */
  list(path: string): string[];
}

function rootView(tree: FsTree): RootView {
  const real = (path: string): string[] | undefined => {
    try {
      const parts = tree.resolve(splitPath(path), true);
      return tree.getExact(parts) ? parts : undefined;
    } catch {
      return undefined; // symlink loop
    }
  };
  const hardlink = (node: FsNode | undefined): FsNode | undefined => (node?.type === 'hardlink' ? tree.getExact(splitPath(node.linkTarget ?? '')) : node);
  return {
    real,
    stat: (path) => {
      const parts = real(path);
      return parts ? hardlink(tree.getExact(parts)) : undefined;
    },
    lstat: (path) => {
      try {
        return hardlink(tree.get(path));
      } catch {
        return undefined;
      }
    },
    list: (path) => {
      const parts = real(path);
      const node = parts ? tree.getExact(parts) : undefined;
      return node?.type === 'dir' ? [...node.children!.keys()].sort(compareBytes) : [];
    },
  };
}

/** Shell-glob match of one path component (`*`, `?`, `[…]`; a leading dot must be literal). */
function matchComponent(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (ch) => `\\${ch}`)}]`;
      i = close;
    } else source += escapeRegExp(c);
  }
  try {
    return new RegExp(`^${source}$`, 's').test(name);
  } catch {
    // A bracket expression glob(3) cannot match anything with (a reversed range such as [z-a])
    // matches nothing, as in glob(3), rather than failing the build.
    return false;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** glob(3) over the image: matching existing paths, sorted in byte order. */
function glob(root: RootView, pattern: string): string[] {
  let paths = [''];
  for (const part of pattern.split('/').filter((piece) => piece !== '')) {
    const next: string[] = [];
    for (const path of paths) {
      if (!/[*?[]/.test(part)) next.push(`${path}/${part}`);
      else for (const name of root.list(path || '/')) if (matchComponent(part, name)) next.push(`${path}/${name}`);
    }
    paths = next;
  }
  return paths.filter((path) => path && root.real(path)).sort(compareBytes);
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

/** Directories named by an ld.so.conf file and its includes, in ldconfig's order (duplicates
 *  kept; the caller drops them by identity). `read` gives a file's text and an identity (its
 *  canonical path); a file already read is not read again, so include loops end (ldconfig itself
 *  would recurse until it crashes) with the same directories. */
export function ldSoConfDirectories(
  read: (path: string) => { id: string; text: string } | undefined,
  expand: (pattern: string) => string[],
  file = '/etc/ld.so.conf',
): string[] {
  const dirs: string[] = [];
  const seen = new Set<string>();
  const parse = (path: string) => {
    const conf = read(path);
    if (!conf || seen.has(conf.id)) return;
    seen.add(conf.id);
    for (let line of conf.text.split('\n')) {
      const hash = line.indexOf('#');
      if (hash >= 0) line = line.slice(0, hash);
      let start = 0;
      while (isSpace(line[start])) start++;
      line = line.slice(start);
      if (!line) continue;
      if (line.startsWith('include') && isBlank(line[7])) {
        for (const word of line.slice(8).split(/[ \t]/)) {
          if (!word) continue;
          const slash = path.lastIndexOf('/');
          const pattern = !word.startsWith('/') && slash >= 0 ? `${path.slice(0, slash) || '/'}/${word}` : word;
          for (const match of expand(pattern)) parse(match);
        }
      } else if (line.slice(0, 5).toLowerCase() === 'hwcap' && isBlank(line[5])) continue;
      else {
        // `dir=libc6` names a library type; only the directory matters to a glibc loader
        let dir = line.split('=')[0]!;
        let end = dir.length;
        while (end > 0 && isSpace(dir[end - 1])) end--;
        while (end > 0 && dir[end - 1] === '/') end--;
        dir = dir.slice(0, end);
        if (dir) dirs.push(dir);
      }
    }
  };
  parse(file);
  return dirs;
}

/** ldconfig's `_dl_is_dso` plus its prelink temporary-file exclusion. */
function looksLikeDso(name: string): boolean {
  if (/\.#prelink#$/.test(name) || /\.#prelink#\.[\s\S]{6}$/.test(name)) return false;
  return ((name.startsWith('lib') || name.startsWith('ld-')) && name.includes('.so')) || name.startsWith('ld.so.') || name.startsWith('ld64.so.');
}

/** A library that could not be read (it is left out of the cache, as ldconfig does). */
interface LdSoCacheSkipped {
  path: string;
  reason: 'malformed';
}

/** The cache of an image tree, or undefined for architectures without a glibc cache layout. */
interface LdSoCacheResult {
  content: Uint8Array;
  entries: LdSoCacheEntry[];
  /** Directories scanned, in order. */
  directories: string[];
  /** ELF files that were damaged (truncated, offsets out of range). */
  skipped: LdSoCacheSkipped[];
}

/** Builds /etc/ld.so.cache for the tree from /etc/ld.so.conf (which the caller checked exists).
 *  `systemDirs` replaces the arch's trusted directories (a distribution's ldconfig may use others,
 *  e.g. Debian's multiarch /lib/x86_64-linux-gnu). */
export function buildLdSoCache(tree: FsTree, apkArch: string, options: { systemDirs?: readonly string[] } = {}): LdSoCacheResult | undefined {
  const arch = ldCacheArch(apkArch);
  if (!arch) return undefined;
  const root = rootView(tree);
  const read = (path: string) => {
    const node = root.stat(path);
    if (node?.type !== 'file') return undefined;
    return { id: root.real(path)!.join('/'), text: Buffer.from(node.content ?? new Uint8Array()).toString('utf8') };
  };
  const listed = [...ldSoConfDirectories(read, (pattern) => glob(root, pattern)), ...(options.systemDirs ?? arch.systemDirs)];
  const directories: string[] = [];
  const identities = new Set<string>();
  for (const dir of listed) {
    const real = root.real(dir);
    if (!real) continue;
    const identity = real.join('/');
    if (identities.has(identity)) continue;
    identities.add(identity);
    directories.push(dir);
  }

  const entries: LdSoCacheEntry[] = [];
  const skipped: LdSoCacheSkipped[] = [];
  for (const dir of directories) {
    const libs = new Map<string, { name: string; isLink: boolean; flags: number }>();
    for (const name of root.list(dir)) {
      if (!looksLikeDso(name)) continue;
      const path = `${dir}/${name}`;
      const own = root.lstat(path);
      let isLink = own?.type === 'symlink';
      if (!own || (!isLink && own.type !== 'file')) continue;
      const node = isLink ? root.stat(path) : own;
      if (node?.type !== 'file') continue;
      const probe = probeElfLibrary(node.content ?? new Uint8Array(), arch);
      if (probe.kind === 'skipped') {
        if (probe.reason === 'malformed') skipped.push({ path, reason: 'malformed' });
        continue;
      }
      let soname = probe.soname ?? name;
      // a link keeps its own name only if it is the soname link or the `.so` development link
      if (isLink && name !== soname && !(name.length >= 3 && name.endsWith('.so') && soname.startsWith(name))) isLink = false;
      if (isLink) soname = name;
      const known = libs.get(soname);
      if (!known) libs.set(soname, { name, isLink, flags: probe.flags });
      else if ((!isLink && known.isLink) || (isLink === known.isLink && libcmp(known.name, name, arch.charSigned) < 0)) Object.assign(known, { name, isLink });
    }
    for (const [soname, lib] of libs) entries.push({ soname, path: `${dir}/${soname}`, flags: lib.flags });
  }
  const sorted = sortLdSoCacheEntries(entries, arch.charSigned);
  return { content: writeLdSoCache(sorted, arch), entries: sorted, directories, skipped };
}
