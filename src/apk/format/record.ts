import { ApkError } from '../errors.ts';

/** One package as described by an APKINDEX or installed-database record (letters in comments). */
export interface PackageRecord {
  /** `C:` — identity, Q1 (or X1) encoding of SHA-1 of the control member; kept verbatim. */
  identity: string;
  /** `P:` */
  name: string;
  /** `V:` */
  version: string;
  /** `A:` */
  arch?: string;
  /** `S:` — size of the .apk file in bytes. */
  size?: number;
  /** `I:` — installed size in bytes. */
  installedSize?: number;
  /** `T:` */
  description?: string;
  /** `U:` */
  url?: string;
  /** `L:` */
  license?: string;
  /** `o:` */
  origin?: string;
  /** `m:` */
  maintainer?: string;
  /** `t:` — build time, UNIX seconds. */
  buildTime?: number;
  /** `c:` */
  commit?: string;
  /** `k:` */
  providerPriority?: number;
  /** `D:` — dependency expressions, verbatim. */
  depends: string[];
  /** `p:` — `name` or `name=version`, verbatim. */
  provides: string[];
  /** `i:` — install_if dependency expressions. */
  installIf: string[];
  /** `r:` — installed DB only. */
  replaces: string[];
  /** `q:` — installed DB only. */
  replacesPriority?: number;
  /** `s:` — installed DB only: repository tag the package was installed from. */
  repositoryTag?: string;
  /** `f:` — installed DB only. */
  flags?: string;
  /** `g:` — apk 3 installed DB only. */
  tags?: string[];
  /** Fields this parser does not model (lower-case letters apk ignores), kept for round trips. */
  unknown: Array<[letter: string, value: string]>;
}

/** Upper-case letters that belong to installed-database file records, not package records. */
const FILE_LETTERS = new Set(['F', 'M', 'R', 'a', 'Z']);

export function emptyRecord(): PackageRecord {
  return { identity: '', name: '', version: '', depends: [], provides: [], installIf: [], replaces: [], unknown: [] };
}

function location(source: string, line: number | undefined): string {
  return line === undefined ? source : `${source}:${line}`;
}

function parseNumber(letter: string, value: string, source: string, line: number | undefined): number {
  // Digits only (no sign, no spaces); a character loop rather than a regular expression, since
  // every record has several number fields.
  let valid = value.length > 0;
  for (let i = 0; i < value.length && valid; i++) {
    const c = value.charCodeAt(i);
    valid = c >= 0x30 && c <= 0x39;
  }
  if (!valid) {
    throw new ApkError('APK_RECORD_INVALID', `${location(source, line)}: field ${letter}: is not a decimal number: ${JSON.stringify(value)}`, {
      detail: { letter, value },
    });
  }
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new ApkError('APK_RECORD_INVALID', `${location(source, line)}: field ${letter}: number is too large: ${value}`, { detail: { letter, value } });
  }
  return number;
}

/** Applies one `letter:value` line to a record. Returns false for letters it does not know. */
export function applyRecordField(record: PackageRecord, letter: string, value: string, where: string): boolean {
  return applyField(record, letter, value, where, undefined);
}

function applyField(record: PackageRecord, letter: string, value: string, source: string, line: number | undefined): boolean {
  // A switch rather than table lookups: this runs once per line of 5000-record indexes.
  switch (letter) {
    case 'C': record.identity = value; return true;
    case 'P': record.name = value; return true;
    case 'V': record.version = value; return true;
    case 'A': record.arch = value; return true;
    case 'T': record.description = value; return true;
    case 'U': record.url = value; return true;
    case 'L': record.license = value; return true;
    case 'o': record.origin = value; return true;
    case 'm': record.maintainer = value; return true;
    case 'c': record.commit = value; return true;
    case 's': record.repositoryTag = value; return true;
    case 'f': record.flags = value; return true;
    case 'S': record.size = parseNumber(letter, value, source, line); return true;
    case 'I': record.installedSize = parseNumber(letter, value, source, line); return true;
    case 't': record.buildTime = parseNumber(letter, value, source, line); return true;
    case 'k': record.providerPriority = parseNumber(letter, value, source, line); return true;
    case 'q': record.replacesPriority = parseNumber(letter, value, source, line); return true;
    case 'D': pushWords(record.depends, value); return true;
    case 'p': pushWords(record.provides, value); return true;
    case 'i': pushWords(record.installIf, value); return true;
    case 'r': pushWords(record.replaces, value); return true;
    case 'g': pushWords((record.tags ??= []), value); return true;
    default: return false;
  }
}

/** Appends the words of a space-separated field value; apk tolerates repeated spaces. */
function pushWords(list: string[], value: string): void {
  let start = 0;
  for (;;) {
    const space = value.indexOf(' ', start);
    const end = space < 0 ? value.length : space;
    if (end > start) list.push(value.slice(start, end));
    if (space < 0) return;
    start = space + 1;
  }
}

/** Options for {@link parseRecords}. */
export interface ParseRecordsOptions {
  /** Name used in error messages (file path or URL). */
  source?: string;
  /** Unknown upper-case letters are an error unless allowed (apk marks such packages uninstallable). */
  allowUnknownUpperCase?: boolean;
  /** Installed databases carry file records (F M R a Z); the caller handles them via this hook. */
  onFileField?: (record: PackageRecord, letter: string, value: string, line: number) => void;
}

/**
 * Parses APKINDEX-style text: records separated by blank lines, `letter:value` lines.
 * Every record must have `C:`, `P:` and `V:`.
 */
export function parseRecords(text: string, options: ParseRecordsOptions = {}): PackageRecord[] {
  const source = options.source ?? 'APKINDEX';
  const records: PackageRecord[] = [];
  let current: PackageRecord | undefined;
  let startLine = 0;
  const finish = (): void => {
    if (!current) return;
    if (current.identity === '' || current.name === '' || current.version === '') {
      const letter = current.identity === '' ? 'C' : current.name === '' ? 'P' : 'V';
      throw new ApkError('APK_RECORD_INVALID', `${source}:${startLine}: record has no ${letter}: field`, {
        detail: { source, line: startLine, name: current.name || undefined },
      });
    }
    records.push(current);
    current = undefined;
  };
  let lineNumber = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const lineStart = start;
    start = end + 1;
    lineNumber++;
    if (end === lineStart) {
      finish();
      continue;
    }
    // Slice only the value (and build location strings only on error): this loop allocates per line.
    if (end - lineStart < 2 || text.charCodeAt(lineStart + 1) !== 0x3a) {
      throw new ApkError('APK_RECORD_INVALID', `${source}:${lineNumber}: expected "letter:value", got ${JSON.stringify(text.slice(lineStart, Math.min(end, lineStart + 80)))}`, {
        detail: { source, line: lineNumber },
      });
    }
    if (!current) {
      current = emptyRecord();
      startLine = lineNumber;
    }
    const letter = text[lineStart]!;
    const value = text.slice(lineStart + 2, end);
    if (options.onFileField && FILE_LETTERS.has(letter)) {
      options.onFileField(current, letter, value, lineNumber);
      continue;
    }
    if (applyField(current, letter, value, source, lineNumber)) continue;
    if (letter >= 'A' && letter <= 'Z' && !options.allowUnknownUpperCase) {
      throw new ApkError('APK_RECORD_INVALID', `${source}:${lineNumber}: unknown field ${letter}: (written by a newer apk?)`, {
        detail: { source, line: lineNumber, letter },
      });
    }
    current.unknown.push([letter, value]);
  }
  finish();
  return records;
}

/** Serializes one record in apk-tools' field order (C P V A S I T U L o m t c k D p i). */
export function formatRecord(record: PackageRecord): string {
  const lines: string[] = [];
  const put = (letter: string, value: string | number | undefined): void => {
    if (value !== undefined) lines.push(`${letter}:${value}`);
  };
  put('C', record.identity);
  put('P', record.name);
  put('V', record.version);
  if (record.arch) put('A', record.arch);
  put('S', record.size);
  put('I', record.installedSize);
  put('T', record.description);
  put('U', record.url);
  put('L', record.license);
  if (record.origin) put('o', record.origin);
  if (record.maintainer) put('m', record.maintainer);
  if (record.buildTime) put('t', record.buildTime);
  if (record.commit) put('c', record.commit);
  if (record.providerPriority) put('k', record.providerPriority);
  if (record.depends.length) put('D', record.depends.join(' '));
  if (record.provides.length) put('p', record.provides.join(' '));
  if (record.installIf.length) put('i', record.installIf.join(' '));
  if (record.replaces.length) put('r', record.replaces.join(' '));
  if (record.replacesPriority) put('q', record.replacesPriority);
  if (record.repositoryTag) put('s', record.repositoryTag);
  if (record.flags) put('f', record.flags);
  if (record.tags?.length) put('g', record.tags.join(' '));
  for (const [letter, value] of record.unknown) put(letter, value);
  return `${lines.join('\n')}\n`;
}

/** Serializes records as an APKINDEX file: each record followed by one blank line. */
export function formatRecords(records: readonly PackageRecord[]): string {
  return records.map((record) => `${formatRecord(record)}\n`).join('');
}
