import { ApkError } from '../errors.ts';
import { emptyRecord } from './record.ts';
import type { PackageRecord } from './record.ts';

/** A package's `.PKGINFO`, with apk-tools' repeat semantics applied (spec §1.6). */
export interface PkgInfo {
  name: string;
  version: string;
  description?: string;
  url?: string;
  /** Installed size in bytes (`size`). */
  installedSize?: number;
  /** Last `license` line (apk keeps the last); every line is in `licenses`. */
  license?: string;
  licenses: string[];
  arch?: string;
  origin?: string;
  maintainer?: string;
  /** `builddate`, UNIX seconds. */
  buildDate?: number;
  commit?: string;
  depends: string[];
  provides: string[];
  installIf: string[];
  providerPriority?: number;
  replaces: string[];
  replacesPriority?: number;
  /** Words of the last `triggers` line. */
  triggers: string[];
  /** SHA-256 hex of the data member. */
  datahash?: string;
  /** Every `key = value` line in file order, including keys apk ignores. */
  fields: Array<[key: string, value: string]>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const LINE = /^([A-Za-z0-9_.-]+) =(?: (.*))?$/;

function fault(where: string, message: string, detail: Record<string, unknown> = {}): ApkError {
  return new ApkError('APK_PKGINFO_INVALID', `${where}: ${message}`, { detail: { source: where, ...detail } });
}

function decimal(value: string, key: string, where: string, line: number): number {
  if (!/^\d{1,15}$/.test(value)) throw fault(`${where}:${line}`, `${key} is not a decimal number: ${JSON.stringify(value)}`, { key, line });
  return Number(value);
}

function words(value: string): string[] {
  return value.split(/[ \t]+/).filter((word) => word.length > 0);
}

/** Parses `.PKGINFO` text. `where` names the package in errors. Requires pkgname and pkgver. */
export function parsePkgInfo(text: string, where = '.PKGINFO'): PkgInfo {
  const info: PkgInfo = { name: '', version: '', licenses: [], depends: [], provides: [], installIf: [], replaces: [], triggers: [], fields: [] };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const number = index + 1;
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw fault(`${where}:${number}`, `expected "key = value", got ${JSON.stringify(line.slice(0, 80))}`, { line: number });
    const key = match[1]!;
    const value = match[2] ?? '';
    if (/[\0\r]/.test(value)) throw fault(`${where}:${number}`, `${key} contains a NUL or CR character`, { key, line: number });
    info.fields.push([key, value]);
    switch (key) {
      case 'pkgname': info.name = value; break;
      case 'pkgver': info.version = value; break;
      case 'pkgdesc': info.description = value; break;
      case 'url': info.url = value; break;
      case 'size': info.installedSize = decimal(value, key, where, number); break;
      case 'license': info.license = value; info.licenses.push(value); break;
      case 'arch': info.arch = value; break;
      case 'origin': info.origin = value; break;
      case 'maintainer': info.maintainer = value; break;
      case 'builddate': info.buildDate = decimal(value, key, where, number); break;
      case 'commit': info.commit = value; break;
      case 'depend': info.depends.push(...words(value)); break;
      case 'provides': info.provides.push(...words(value)); break;
      case 'install_if': info.installIf.push(...words(value)); break;
      case 'provider_priority': info.providerPriority = decimal(value, key, where, number); break;
      case 'replaces': info.replaces.push(...words(value)); break;
      case 'replaces_priority': info.replacesPriority = decimal(value, key, where, number); break;
      case 'triggers': info.triggers = words(value); break;
      case 'datahash':
        if (!/^[0-9a-f]{64}$/.test(value)) throw fault(`${where}:${number}`, 'datahash is not 64 lowercase hex digits', { line: number });
        info.datahash = value;
        break;
      default: break;
    }
  }
  if (!info.name) throw fault(where, 'no pkgname');
  if (!NAME.test(info.name)) throw fault(where, `invalid pkgname ${JSON.stringify(info.name)}`);
  if (!info.version) throw fault(where, `no pkgver for ${info.name}`);
  return info;
}

/** Metadata for writing a package; `datahash` is filled in by the writer. */
export interface PkgInfoInput {
  name: string;
  version: string;
  arch?: string;
  description?: string;
  url?: string;
  installedSize?: number;
  /** One or more licenses; written as one `license` line each (apk reads the last). */
  license?: string | string[];
  origin?: string;
  maintainer?: string;
  buildDate?: number;
  commit?: string;
  depends?: string[];
  provides?: string[];
  installIf?: string[];
  providerPriority?: number;
  replaces?: string[];
  replacesPriority?: number;
  triggers?: string[];
  datahash?: string;
}

function checkValue(key: string, value: string): string {
  if (/[\n\r\0]/.test(value)) throw fault('package metadata', `${key} contains a newline, CR or NUL`, { key });
  return value;
}

/**
 * Formats `.PKGINFO` in a fixed key order (melange's order), one line per list item, so equal
 * input gives equal bytes. Validates names and single-line values.
 */
export function formatPkgInfo(input: PkgInfoInput): string {
  if (!NAME.test(input.name)) throw fault('package metadata', `invalid pkgname ${JSON.stringify(input.name)}`);
  if (!input.version || /\s/.test(input.version)) throw fault('package metadata', `invalid pkgver ${JSON.stringify(input.version)}`);
  const lines: string[] = ['# Generated by kiln'];
  const put = (key: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    lines.push(`${key} = ${checkValue(key, String(value))}`);
  };
  const list = (key: string, values: readonly string[] | undefined): void => {
    for (const value of values ?? []) {
      if (value === '' || /\s/.test(value)) throw fault('package metadata', `${key} item ${JSON.stringify(value)} is empty or contains whitespace`, { key });
      put(key, value);
    }
  };
  put('pkgname', input.name);
  put('pkgver', input.version);
  put('arch', input.arch);
  put('size', input.installedSize);
  put('origin', input.origin);
  put('pkgdesc', input.description);
  put('url', input.url);
  put('commit', input.commit);
  put('builddate', input.buildDate);
  put('maintainer', input.maintainer);
  for (const license of typeof input.license === 'string' ? [input.license] : (input.license ?? [])) put('license', license);
  list('depend', input.depends);
  list('provides', input.provides);
  list('install_if', input.installIf);
  if (input.providerPriority !== undefined) put('provider_priority', input.providerPriority);
  list('replaces', input.replaces);
  if (input.replacesPriority !== undefined) put('replaces_priority', input.replacesPriority);
  if (input.triggers?.length) {
    for (const trigger of input.triggers) if (/\s/.test(trigger) || trigger === '') throw fault('package metadata', `trigger ${JSON.stringify(trigger)} is empty or contains whitespace`);
    put('triggers', input.triggers.join(' '));
  }
  put('datahash', input.datahash);
  return `${lines.join('\n')}\n`;
}

/** The index record (§2.2) for a package: PKGINFO fields plus identity and .apk file size. */
export function pkgInfoToRecord(info: PkgInfo, identity: string, fileSize: number): PackageRecord {
  const record = emptyRecord();
  record.identity = identity;
  record.name = info.name;
  record.version = info.version;
  if (info.arch) record.arch = info.arch;
  record.size = fileSize;
  record.installedSize = info.installedSize ?? 0;
  record.description = info.description ?? '';
  record.url = info.url ?? '';
  record.license = info.license ?? '';
  if (info.origin) record.origin = info.origin;
  if (info.maintainer) record.maintainer = info.maintainer;
  if (info.buildDate) record.buildTime = info.buildDate;
  if (info.commit) record.commit = info.commit;
  if (info.providerPriority) record.providerPriority = info.providerPriority;
  record.depends = [...info.depends];
  record.provides = [...info.provides];
  record.installIf = [...info.installIf];
  record.replaces = [...info.replaces];
  if (info.replacesPriority) record.replacesPriority = info.replacesPriority;
  return record;
}
