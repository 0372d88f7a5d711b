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

const NUMBER_FIELDS = { S: 'size', I: 'installedSize', t: 'buildTime', k: 'providerPriority', q: 'replacesPriority' } as const;
const TEXT_FIELDS = {
  C: 'identity', P: 'name', V: 'version', A: 'arch', T: 'description', U: 'url', L: 'license',
  o: 'origin', m: 'maintainer', c: 'commit', s: 'repositoryTag', f: 'flags',
} as const;
const LIST_FIELDS = { D: 'depends', p: 'provides', i: 'installIf', r: 'replaces', g: 'tags' } as const;

/** Upper-case letters that belong to installed-database file records, not package records. */
const FILE_LETTERS = new Set(['F', 'M', 'R', 'a', 'Z']);

export function emptyRecord(): PackageRecord {
  return { identity: '', name: '', version: '', depends: [], provides: [], installIf: [], replaces: [], unknown: [] };
}

/** Splits a space-separated field value; apk tolerates repeated spaces. */
function splitList(value: string): string[] {
  return value.split(' ').filter((word) => word.length > 0);
}

/** Applies one `letter:value` line to a record. Returns false for letters it does not know. */
export function applyRecordField(record: PackageRecord, letter: string, value: string, where: string): boolean {
  if (letter in TEXT_FIELDS) {
    (record as unknown as Record<string, string>)[TEXT_FIELDS[letter as keyof typeof TEXT_FIELDS]] = value;
    return true;
  }
  if (letter in NUMBER_FIELDS) {
    if (!/^\d+$/.test(value)) {
      throw new ApkError('APK_RECORD_INVALID', `${where}: field ${letter}: is not a decimal number: ${JSON.stringify(value)}`, {
        detail: { letter, value },
      });
    }
    const number = Number(value);
    if (!Number.isSafeInteger(number)) {
      throw new ApkError('APK_RECORD_INVALID', `${where}: field ${letter}: number is too large: ${value}`, { detail: { letter, value } });
    }
    (record as unknown as Record<string, number>)[NUMBER_FIELDS[letter as keyof typeof NUMBER_FIELDS]] = number;
    return true;
  }
  if (letter in LIST_FIELDS) {
    const key = LIST_FIELDS[letter as keyof typeof LIST_FIELDS];
    const list = (record[key] ??= []);
    list.push(...splitList(value));
    return true;
  }
  return false;
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
    for (const [letter, key] of [['C', 'identity'], ['P', 'name'], ['V', 'version']] as const) {
      if (current[key] === '') {
        throw new ApkError('APK_RECORD_INVALID', `${source}:${startLine}: record has no ${letter}: field`, {
          detail: { source, line: startLine, name: current.name || undefined },
        });
      }
    }
    records.push(current);
    current = undefined;
  };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNumber = index + 1;
    if (line === '') {
      finish();
      continue;
    }
    if (line.length < 2 || line[1] !== ':') {
      throw new ApkError('APK_RECORD_INVALID', `${source}:${lineNumber}: expected "letter:value", got ${JSON.stringify(line.slice(0, 80))}`, {
        detail: { source, line: lineNumber },
      });
    }
    if (!current) {
      current = emptyRecord();
      startLine = lineNumber;
    }
    const letter = line[0]!;
    const value = line.slice(2);
    if (FILE_LETTERS.has(letter) && options.onFileField) {
      options.onFileField(current, letter, value, lineNumber);
      continue;
    }
    if (applyRecordField(current, letter, value, `${source}:${lineNumber}`)) continue;
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
