import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

// Package linters run on each package tree before it is written (melange's required-by-default set
// plus the cheap warnings). A failing required linter aborts the build; `checks.disabled`
// downgrades a linter to a warning for that package.

/** One linter finding. */
export interface LintFinding {
  linter: string;
  path: string;
  message: string;
  required: boolean;
}

const REQUIRED = new Set(['dev', 'infodir', 'libtool/la-files', 'setuidgid', 'tempdir', 'usrmerge', 'varempty', 'worldwrite']);

interface Rule {
  linter: string;
  test(path: string, mode: number, kind: 'file' | 'dir' | 'symlink'): string | undefined;
}

const RULES: readonly Rule[] = [
  { linter: 'dev', test: (path) => (path.startsWith('dev/') ? 'file in /dev' : undefined) },
  { linter: 'infodir', test: (path) => (path === 'usr/share/info/dir' ? 'usr/share/info/dir is generated at install time' : undefined) },
  { linter: 'libtool/la-files', test: (path, _mode, kind) => (kind === 'file' && path.endsWith('.la') ? 'libtool archive' : undefined) },
  { linter: 'setuidgid', test: (_path, mode, kind) => (kind === 'file' && (mode & 0o6000) !== 0 ? 'setuid/setgid file' : undefined) },
  { linter: 'tempdir', test: (path, _mode, kind) => (kind !== 'dir' && /^(tmp|var\/tmp|run|var\/run)\//.test(path) ? 'file in a temporary directory' : undefined) },
  { linter: 'usrmerge', test: (path) => (/^(bin|sbin|lib|lib64|usr\/sbin)\//.test(path) ? 'file outside the merged /usr layout' : undefined) },
  { linter: 'varempty', test: (path) => (path.startsWith('var/empty/') ? 'file in /var/empty' : undefined) },
  { linter: 'worldwrite', test: (_path, mode, kind) => (kind !== 'symlink' && (mode & 0o002) !== 0 && (mode & 0o1000) === 0 ? 'world-writable' : undefined) },
  { linter: 'opt', test: (path) => (path.startsWith('opt/') ? 'file in /opt' : undefined) },
  { linter: 'srv', test: (path) => (path.startsWith('srv/') ? 'file in /srv' : undefined) },
  { linter: 'usrlocal', test: (path) => (path.startsWith('usr/local/') ? 'file in /usr/local' : undefined) },
  { linter: 'object', test: (path, _mode, kind) => (kind === 'file' && path.endsWith('.o') ? 'object file' : undefined) },
];

/** A path of a package as the linters see it. */
export interface LintEntry {
  path: string;
  mode: number;
  kind: 'file' | 'dir' | 'symlink';
}

/** Lints a list of entries (from a tree or a package file); `disabled` are `checks.disabled`. */
export function lintEntries(entries: readonly LintEntry[], disabled: readonly string[] = []): LintFinding[] {
  const findings: LintFinding[] = [];
  const seen = new Set<string>();
  for (const { path, mode, kind } of entries) {
    for (const rule of RULES) {
      // one finding per linter is enough to explain the failure
      if (seen.has(rule.linter)) continue;
      if (kind === 'dir' && !['worldwrite', 'dev', 'varempty', 'usrmerge'].includes(rule.linter)) continue;
      const message = rule.test(kind === 'dir' ? `${path}/` : path, mode & 0o7777, kind);
      if (message === undefined) continue;
      seen.add(rule.linter);
      findings.push({ linter: rule.linter, path, message, required: REQUIRED.has(rule.linter) && !disabled.includes(rule.linter) });
    }
  }
  return findings;
}

/** Lints one package tree; `disabled` are the package's `checks.disabled`. */
export async function lintPackage(root: string, disabled: readonly string[] = []): Promise<LintFinding[]> {
  const entries: LintEntry[] = [];
  const visit = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(join(root, relative))).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await lstat(join(root, path));
      const kind = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : 'file';
      entries.push({ path, mode: info.mode, kind });
      if (kind === 'dir') await visit(path);
    }
  };
  await visit('');
  return lintEntries(entries, disabled);
}
