import { lstat, open, readFile, readdir, readlink } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { BuildError } from './errors.ts';
import { isElf, parseElf } from './format/elf.ts';
import type { ElfInfo } from './format/elf.ts';

// Automatic dependency detection over a package's output tree, following melange's SCA rules:
// shared objects (interpreter, NEEDED, SONAME), `.so` development symlinks, commands on PATH
// directories, pkg-config modules, shebang interpreters, -doc helpers and language runtimes.

const LIB_DIRS = new Set(['lib', 'usr/lib', 'lib64', 'usr/lib64']);
const CMD_DIRS = new Set(['bin', 'sbin', 'usr/bin', 'usr/sbin']);
const SHEBANG_DIRS = new Set(['usr/bin', 'usr/local/bin', 'usr/local/sbin']);
const PC_DIRS = new Set(['usr/local/lib/pkgconfig', 'usr/local/share/pkgconfig', 'usr/lib/pkgconfig', 'usr/lib64/pkgconfig', 'usr/share/pkgconfig']);
const IGNORED_INTERPRETERS = new Set(['sh', 'python', 'python3', 'awk', 'luajit']);

/** SCA switches of a package (`package.options` / subpackage `options`). */
interface ScaOptions {
  noProvides?: boolean;
  noDepends?: boolean;
  noCommands?: boolean;
}

/** One package of the build as SCA sees it. */
export interface ScaPackage {
  name: string;
  /** Host directory holding the package's files (its melange-out/<name>). */
  dir: string;
  /** Explicit `dependencies.runtime` and `provides` from the recipe. */
  runtime: readonly string[];
  provides: readonly string[];
  options?: ScaOptions;
}

/** Detected and merged metadata of one package. */
export interface ScaResult {
  depends: string[];
  provides: string[];
  /** SONAMEs found outside library directories (written as `# vendored` comments). */
  vendored: string[];
  /** What was generated before merging, for logs and tests. */
  generated: { depends: string[]; provides: string[] };
  warnings: string[];
}

interface Entry {
  path: string;
  abs: string;
  kind: 'file' | 'symlink' | 'dir';
  mode: number;
}

async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const stat = await lstat(abs);
      if (stat.isDirectory()) {
        out.push({ path, abs, kind: 'dir', mode: stat.mode });
        await visit(path);
      } else if (stat.isSymbolicLink()) out.push({ path, abs, kind: 'symlink', mode: stat.mode });
      else if (stat.isFile()) out.push({ path, abs, kind: 'file', mode: stat.mode });
    }
  };
  try {
    await visit('');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw error;
  }
  return out;
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function libraryVersion(soname: string): string {
  const index = soname.indexOf('.so.');
  if (index < 0) return '0';
  const tail = soname.slice(index + 4);
  return /^[\d.]+$/.test(tail) ? tail : '0';
}

function interpreterDependency(interpreter: string): string {
  let name = posix.basename(interpreter);
  if (name.startsWith('ld-musl-')) name = name.replace(/^ld-musl-/, 'libc.musl-');
  return `so:${name}`;
}

/** Library directories of a package: the standard ones plus those listed in etc/ld.so.conf.d. */
async function libraryDirs(pkg: ScaPackage): Promise<Set<string>> {
  const dirs = new Set(LIB_DIRS);
  const confDir = join(pkg.dir, 'etc', 'ld.so.conf.d');
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch {
    return dirs;
  }
  for (const name of names.filter((entry) => entry.endsWith('.conf'))) {
    for (const line of (await readFile(join(confDir, name), 'utf8')).split('\n')) {
      const dir = line.trim().replace(/^\/+/, '').replace(/\/+$/, '');
      if (dir && !dir.startsWith('#')) dirs.add(dir);
    }
  }
  return dirs;
}

/** Parses the module names of pkg-config `Requires*` fields (versions dropped). */
export function pkgConfigRequires(text: string): string[] {
  const modules: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*Requires(?:\.private|\.internal)?\s*:(.*)$/.exec(line);
    if (!match) continue;
    const tokens = match[1]!.split(/[\s,]+/).filter(Boolean);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (/^[<>=!]+$/.test(token)) {
        i++;
        continue;
      }
      const name = token.split(/[<>=!]/)[0]!;
      if (name && !name.includes('${')) modules.push(name);
    }
  }
  return modules;
}

/** Interpreter of a shebang line: first word; `/usr/bin/env X` and `env -S X` give X. */
export function shebangInterpreter(head: string): { command?: string; warning?: string } {
  if (!head.startsWith('#!')) return {};
  const line = head.slice(2).split('\n')[0]!.trim();
  const words = line.split(/\s+/).filter(Boolean);
  if (words.length === 0) return {};
  const first = posix.basename(words[0]!);
  if (first !== 'env') return { command: first };
  const rest = words.slice(1);
  if (rest[0] === '-S' && rest[1]) return { command: posix.basename(rest[1]) };
  if (rest.length >= 1 && !rest[0]!.startsWith('-') && !rest[0]!.includes('=')) return { command: posix.basename(rest[0]!) };
  return { warning: `unsupported env shebang: #!${line}` };
}

/** Runs SCA for `pkg` with `siblings` = every package of the build (including `pkg`). */
export async function analyzePackage(pkg: ScaPackage, siblings: readonly ScaPackage[], fullVersion: string): Promise<ScaResult> {
  const depends = new Set<string>();
  const provides = new Set<string>();
  const vendored = new Set<string>();
  const warnings: string[] = [];
  const entries = await walk(pkg.dir);
  const siblingLibDirs = new Set<string>();
  for (const sibling of siblings) for (const dir of await libraryDirs(sibling)) siblingLibDirs.add(dir);

  for (const entry of entries) {
    const dir = posix.dirname(entry.path);
    if (entry.kind === 'file') {
      const head = await readHead(entry.abs, 80);
      if (isElf(head)) {
        let info: ElfInfo;
        try {
          info = parseElf(await readFile(entry.abs), entry.path);
        } catch (error) {
          if (error instanceof BuildError) {
            warnings.push(error.message);
            continue;
          }
          throw error;
        }
        if (info.interpreter) depends.add(interpreterDependency(info.interpreter));
        for (const needed of info.needed) if (needed.includes('.so.')) depends.add(`so:${needed}`);
        const name = posix.basename(entry.path);
        if (info.soname && (!info.interpreter || name.includes('.so.') || name.endsWith('.so'))) {
          if (siblingLibDirs.has(dir)) {
            provides.add(`so:${info.soname}=${libraryVersion(info.soname)}`);
            provides.add(`so-ver:${info.soname}=${fullVersion}`);
          } else vendored.add(`so:${info.soname}=${libraryVersion(info.soname)}`);
        }
      } else if (SHEBANG_DIRS.has(dir) && head[0] === 0x23 && head[1] === 0x21) {
        const { command, warning } = shebangInterpreter(new TextDecoder().decode(head));
        if (warning) warnings.push(`${entry.path}: ${warning}`);
        if (command && !IGNORED_INTERPRETERS.has(command)) depends.add(`cmd:${command}`);
      }
      if (CMD_DIRS.has(dir) && (entry.mode & 0o555) === 0o555) provides.add(`cmd:${posix.basename(entry.path)}=${fullVersion}`);
      if (entry.path.endsWith('.pc')) {
        const module = posix.basename(entry.path, '.pc');
        if (PC_DIRS.has(dir)) {
          provides.add(`pc:${module}=${fullVersion}`);
          for (const required of pkgConfigRequires(await readFile(entry.abs, 'utf8'))) depends.add(`pc:${required}`);
        } else vendored.add(`pc:${module}=${fullVersion}`);
      }
    } else if (entry.kind === 'symlink' && posix.basename(entry.path).includes('.so')) {
      const target = basename(await readlink(entry.abs));
      for (const sibling of siblings) {
        for (const libDir of await libraryDirs(sibling)) {
          const candidate = join(sibling.dir, libDir, target);
          let stat;
          try {
            stat = await lstat(candidate);
          } catch {
            continue;
          }
          if (!stat.isFile()) continue;
          const head = await readHead(candidate, 4);
          if (!isElf(head)) continue;
          try {
            const info = parseElf(await readFile(candidate), candidate);
            if (info.soname) depends.add(`so:${info.soname}`);
          } catch (error) {
            if (!(error instanceof BuildError)) throw error;
          }
        }
      }
    }
    if (pkg.name.endsWith('-doc')) {
      if (dir === 'usr/share/man') depends.add('man-db');
      if (dir === 'usr/share/info') depends.add('texinfo');
    }
  }

  // Language runtimes.
  const explicit = pkg.runtime.map((dep) => dep.split(/[<>=~]/)[0]!);
  for (const entry of entries) {
    const perl = /^(?:usr\/)?lib\/perl(\d+)\/[^/]+_perl$/.exec(entry.path);
    if (perl && !explicit.includes('perl')) depends.add(`perl~${perl[1]}`);
    const python = /(?:^|\/)python(\d+\.\d+)\/site-packages$/.exec(entry.path);
    if (python && entry.kind === 'dir' && !explicit.some((dep) => dep.startsWith('python'))) depends.add(`python-${python[1]}-base`);
    const ruby = /^usr\/lib\/ruby\/gems\/(\d+\.\d+)\.\d+\/gems$/.exec(entry.path);
    if (ruby && !explicit.some((dep) => dep === 'ruby' || dep.startsWith('ruby-'))) depends.add(`ruby-${ruby[1]}`);
  }

  const generated = { depends: [...depends].sort(), provides: [...provides].sort() };
  let genDepends = generated.depends;
  let genProvides = generated.provides;
  if (pkg.options?.noCommands) {
    genDepends = genDepends.filter((dep) => !dep.startsWith('cmd:'));
    genProvides = genProvides.filter((dep) => !dep.startsWith('cmd:'));
  }
  if (pkg.options?.noDepends) genDepends = [];
  if (pkg.options?.noProvides) genProvides = [];
  const vendoredNames = new Set([...vendored].map(dependencyName));
  genDepends = genDepends.filter((dep) => !vendoredNames.has(dependencyName(dep)));

  const allProvides = sortedUnique([...pkg.provides, ...genProvides]);
  const ownNames = new Set(allProvides.map(dependencyName));
  ownNames.add(pkg.name);
  const allDepends = sortedUnique([...pkg.runtime, ...genDepends]).filter((dep) => !ownNames.has(dependencyName(dep)));
  return { depends: allDepends, provides: allProvides, vendored: sortedUnique([...vendored]), generated, warnings };
}

/** The name part of a dependency or provide (`so:libz.so.1=1` → `so:libz.so.1`). */
export function dependencyName(dep: string): string {
  return dep.replace(/^!/, '').split(/[<>=~]/)[0]!;
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
