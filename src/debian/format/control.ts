// Debian control files (deb822): the paragraphs of a .dsc and of a Sources index. Pure.

/** One paragraph: field names as written (lookups are case-insensitive through `field`). */
export interface ControlParagraph {
  readonly fields: ReadonlyMap<string, string>;
}

/** A field's value (case-insensitive name), continuation lines joined with `\n`, or undefined. */
export function field(paragraph: ControlParagraph, name: string): string | undefined {
  return paragraph.fields.get(name.toLowerCase());
}

/** Strips an OpenPGP clear-signature armour (a signed .dsc) and returns the signed text. The
 *  signature itself is not checked here: Kiln trusts a .dsc only through its pinned SHA-256. */
export function stripClearSignature(text: string): string {
  const lines = text.split('\n');
  const begin = lines.findIndex((line) => line.trim() === '-----BEGIN PGP SIGNED MESSAGE-----');
  if (begin < 0) return text;
  let start = begin + 1;
  while (start < lines.length && lines[start]!.trim() !== '') start++;
  const end = lines.findIndex((line, index) => index > start && line.trim() === '-----BEGIN PGP SIGNATURE-----');
  // Dash-escaped lines (`- -…`) are unescaped as RFC 4880 says.
  return lines.slice(start + 1, end < 0 ? undefined : end).map((line) => (line.startsWith('- ') ? line.slice(2) : line)).join('\n');
}

/** Parses deb822 paragraphs (blank-line separated; `#` comment lines skipped; continuation lines
 *  start with a space or tab, a lone `.` being an empty line). */
export function parseControl(text: string): ControlParagraph[] {
  const paragraphs: ControlParagraph[] = [];
  let fields = new Map<string, string>();
  let current: string | undefined;
  const flush = () => {
    if (fields.size > 0) paragraphs.push({ fields });
    fields = new Map();
    current = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && current !== undefined) {
      const rest = line.trim();
      fields.set(current, `${fields.get(current)}\n${rest === '.' ? '' : rest}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon).trim().toLowerCase();
    fields.set(current, line.slice(colon + 1).trim());
  }
  flush();
  return paragraphs;
}

/** One file of a source package as its `Checksums-Sha256` field lists it. */
export interface SourceFile {
  name: string;
  size: number;
  sha256: string;
}

/** `Checksums-Sha256` lines (`HEX SIZE NAME`) of a .dsc or Sources paragraph. */
export function sourceFiles(paragraph: ControlParagraph): SourceFile[] {
  const value = field(paragraph, 'Checksums-Sha256') ?? '';
  const files: SourceFile[] = [];
  for (const line of value.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3 || !/^[0-9a-f]{64}$/.test(parts[0]!)) continue;
    files.push({ sha256: parts[0]!, size: Number(parts[1]), name: parts[2]! });
  }
  return files;
}

/** What a file of a source package is, from its name. */
export type SourceFileRole = 'dsc' | 'orig' | 'orig-component' | 'orig-signature' | 'debian' | 'diff' | 'native' | 'other';

/** Classifies `zlib_1.2.13.dfsg.orig.tar.gz`, `…orig-extra.tar.xz`, `…debian.tar.xz`, a format 1.0
 *  `…diff.gz`, `….dsc`. */
export function sourceFileRole(name: string): SourceFileRole {
  if (name.endsWith('.dsc')) return 'dsc';
  if (/\.orig\.tar\.[a-z0-9]+\.asc$/.test(name) || /\.orig-[^.]+\.tar\.[a-z0-9]+\.asc$/.test(name)) return 'orig-signature';
  if (/\.orig\.tar\.[a-z0-9]+$/.test(name)) return 'orig';
  if (/\.orig-[A-Za-z0-9-]+\.tar\.[a-z0-9]+$/.test(name)) return 'orig-component';
  if (/\.debian\.tar\.[a-z0-9]+$/.test(name)) return 'debian';
  if (/\.diff\.gz$/.test(name)) return 'diff';
  if (/\.tar\.[a-z0-9]+$/.test(name)) return 'native';
  return 'other';
}

/** A Debian version `[EPOCH:]UPSTREAM[-REVISION]`, split. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseDebianVersion(text: string): DebianVersion | undefined {
  const match = /^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$/.exec(text.trim());
  if (!match) return undefined;
  return { epoch: match[1] ? Number(match[1]) : 0, upstream: match[2]!, revision: match[3] ?? '' };
}

/** Debian version ordering (dpkg's verrevcmp): `~` sorts before everything, letters before
 *  other characters, digit runs numerically. Negative, zero or positive like a comparator. */
export function compareDebianVersions(a: string, b: string): number {
  const left = parseDebianVersion(a);
  const right = parseDebianVersion(b);
  if (!left || !right) return a < b ? -1 : a > b ? 1 : 0;
  if (left.epoch !== right.epoch) return left.epoch - right.epoch;
  return verrevcmp(left.upstream, right.upstream) || verrevcmp(left.revision, right.revision);
}

function order(char: string | undefined): number {
  if (char === undefined) return 0;
  if (char === '~') return -1;
  if (/[0-9]/.test(char)) return 0;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = order(i < a.length && !/[0-9]/.test(a[i]!) ? a[i] : undefined);
      const bc = order(j < b.length && !/[0-9]/.test(b[j]!) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** The text a unified diff gives a file it creates (format 1.0 `.diff.gz` adds `debian/changelog`
 *  this way): the `+` lines of hunks against `/dev/null` or a zero range, for the path ending in
 *  `suffix`. Undefined when the diff does not create it. */
export function fileCreatedByDiff(diff: string, suffix: string): string | undefined {
  const lines = diff.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const target = /^\+\+\+ (\S+)/.exec(lines[index]!);
    if (!target || !target[1]!.endsWith(suffix)) continue;
    const out: string[] = [];
    for (let line = index + 1; line < lines.length; line++) {
      const text = lines[line]!;
      if (text.startsWith('--- ') || text.startsWith('diff ')) break;
      if (text.startsWith('@@')) {
        if (!/^@@ -0,0 /.test(text)) return undefined;
        continue;
      }
      if (text.startsWith('+')) out.push(text.slice(1));
    }
    return `${out.join('\n')}\n`;
  }
  return undefined;
}
