import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPublicKeys, readIndexFile } from '../apk/index.ts';
import { BuildError } from './errors.ts';
import { isElf, parseElf } from './format/elf.ts';

/** A distribution's rule for the ELF files of its packages: one dynamic loader, and only libraries
 *  its own packages provide (Kiln OS: musl's loader, never the host's glibc). */
export interface LibraryPolicy {
  /** The only PT_INTERP allowed (static files have none). */
  interpreter: string;
  /** Repository indexes whose `so:` provides count as provided (their keys verify them). */
  indexes: readonly string[];
  keyring: readonly string[];
}

/** SONAMEs the policy's repositories provide. */
async function providedSonames(policy: LibraryPolicy): Promise<Set<string>> {
  const provided = new Set<string>();
  const keyring = await loadPublicKeys(policy.keyring);
  for (const index of policy.indexes) {
    // No index yet (the first recipe of a distribution): nothing is provided by it.
    if (!(await lstat(index).then(() => true, () => false))) continue;
    const { records } = await readIndexFile(index, { keyring });
    for (const record of records) for (const provide of record.provides) if (provide.startsWith('so:')) provided.add(provide.slice(3).split('=')[0]!);
  }
  return provided;
}

async function elfFiles(root: string): Promise<{ path: string; needed: string[]; interpreter?: string; soname?: string }[]> {
  const out: { path: string; needed: string[]; interpreter?: string; soname?: string }[] = [];
  const visit = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(join(root, relative))).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(relative, name);
      const info = await lstat(join(root, path));
      if (info.isDirectory()) await visit(path);
      else if (info.isFile() && info.size >= 64) {
        const bytes = await readFile(join(root, path));
        if (!isElf(bytes)) continue;
        const elf = parseElf(bytes, `/${path}`);
        out.push({ path: `/${path}`, needed: elf.needed, ...(elf.interpreter ? { interpreter: elf.interpreter } : {}), ...(elf.soname ? { soname: elf.soname } : {}) });
      }
    }
  };
  await visit('');
  return out;
}

/** Checks every ELF file of a build's packages: the policy's interpreter (or none) and NEEDED
 *  libraries provided by the build itself or the policy's repositories. LINT_FAILED names the
 *  package, the file and the library. */
export async function checkLibraries(packages: readonly { name: string; dir: string }[], policy: LibraryPolicy): Promise<void> {
  const provided = await providedSonames(policy);
  const files = await Promise.all(packages.map(async (pkg) => ({ pkg, elves: await elfFiles(pkg.dir) })));
  for (const { elves } of files) for (const elf of elves) if (elf.soname) provided.add(elf.soname);
  for (const { pkg, elves } of files) {
    for (const elf of elves) {
      if (elf.interpreter && elf.interpreter !== policy.interpreter) {
        throw new BuildError('LINT_FAILED', `package ${pkg.name}: ${elf.path} uses the interpreter ${elf.interpreter}, not ${policy.interpreter}`, { detail: { package: pkg.name, path: elf.path, interpreter: elf.interpreter } });
      }
      const missing = elf.needed.filter((library) => !provided.has(library));
      if (missing.length > 0) {
        throw new BuildError('LINT_FAILED', `package ${pkg.name}: ${elf.path} needs ${missing.join(', ')}, which no package of this distribution provides (linked against the host's libraries?)`, { detail: { package: pkg.name, path: elf.path, missing } });
      }
    }
  }
}
