import { isAlias, isMap, isPair, isScalar, isSeq, Scalar } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { parseYamlBounded } from '../../lib/index.ts';
import { ImageError } from '../errors.ts';
import { imageConfigSchema, GO_INTEGER } from './schema.ts';
import type { RawImageConfig } from './schema.ts';

// Pure: text in, validated raw document out. The YAML is read into a value tree by hand so that
// string-typed fields get the scalar's literal text (`cmd: 1.10` stays "1.10", `0755` stays "0755"
// for the Go-style integer rule), null/empty plain scalars become null, and every error can be
// mapped back to a line and column through the document's source ranges.

/** One problem in a configuration file, with its position. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field at fault (`contents.packages[2]`). */
  path: string;
  message: string;
}

/** A parsed configuration file: the raw validated document plus a locator for later errors. */
export interface ParsedConfigFile {
  file: string;
  raw: RawImageConfig;
  /** Position of a field by its path, for errors found after schema validation. */
  locate: (path: readonly (string | number)[]) => { line: number; column: number };
}

function toValue(node: unknown, doc: Document): unknown {
  if (isAlias(node)) return toValue(node.resolve(doc), doc);
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value ?? '') : String(pair.key);
      // `<<` merge keys are not part of apko's dialect; they are kept as ordinary (unknown) keys.
      Object.defineProperty(out, key, { value: toValue(pair.value, doc), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((item) => toValue(item, doc));
  if (isScalar(node)) {
    if (node.type === Scalar.PLAIN) {
      if (node.value === null || typeof node.value === 'boolean') return node.value;
      return node.source ?? String(node.value);
    }
    return node.value === null || node.value === undefined ? null : String(node.value);
  }
  return null;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(document)';
}

/** Parses a Go base-0 integer literal the way apko's YAML decoder does (`0755` is octal). */
export function parseGoInteger(value: string | number): number {
  if (typeof value === 'number') return value;
  if (!GO_INTEGER.test(value)) return Number.NaN;
  let text = value.replace(/_/g, '');
  let sign = 1;
  if (text.startsWith('-') || text.startsWith('+')) {
    if (text.startsWith('-')) sign = -1;
    text = text.slice(1);
  }
  let result: number;
  if (/^0[xX]/.test(text)) result = parseInt(text.slice(2), 16);
  else if (/^0[bB]/.test(text)) result = parseInt(text.slice(2), 2);
  else if (/^0[oO]/.test(text)) result = parseInt(text.slice(2), 8);
  else if (text.length > 1 && text.startsWith('0')) result = parseInt(text.slice(1), 8);
  else result = parseInt(text, 10);
  return sign * result;
}

function issueList(issues: readonly ConfigIssue[]): string {
  return issues
    .slice(0, 20)
    .map((issue) => `${issue.file}:${issue.line}:${issue.column}: ${issue.path}: ${issue.message}`)
    .join('\n  ');
}

/** The error for one or more configuration issues; the message lists each with file:line:column. */
function configError(issues: readonly ConfigIssue[]): ImageError {
  const first = issues[0]!;
  const text = issues.length === 1 ? `${first.file}:${first.line}:${first.column}: ${first.path}: ${first.message}` : `${first.file}: ${issues.length} problems:\n  ${issueList(issues)}`;
  return new ImageError('IMAGE_CONFIG_INVALID', `invalid image configuration ${text}`, {
    detail: { file: first.file, line: first.line, column: first.column, path: first.path, issues },
  });
}

/** Parses and schema-validates one configuration file (YAML or JSON). Throws IMAGE_CONFIG_INVALID. */
export function parseImageConfigText(text: string, file: string): ParsedConfigFile {
  // Bounded: alias bombs and self-containing anchors are refused here, before toValue expands them.
  const { doc, lineCounter } = parseYamlBounded(text, file, { uniqueKeys: true, strict: true });
  const position = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw configError(
      doc.errors.map((error) => ({ file, ...position(error.pos[0]), path: '(syntax)', message: error.message.split('\n')[0] ?? error.message })),
    );
  }
  const nodeAt = (path: readonly (string | number)[]): YamlNode | undefined => {
    let node: unknown = doc.contents;
    for (const part of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part));
        node = pair?.value ?? pair?.key;
      } else if (isSeq(node) && typeof part === 'number') node = node.items[part];
      else return undefined;
      if (node === undefined || node === null) return undefined;
    }
    return node as YamlNode;
  };
  const keyNodeAt = (path: readonly (string | number)[], key: string): YamlNode | undefined => {
    const parent = nodeAt(path);
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    return pair?.key as YamlNode | undefined;
  };
  const locate = (path: readonly (string | number)[]) => {
    // Walk up until a node with a range is found (missing fields point at their parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = nodeAt(path.slice(0, depth));
      if (node?.range) return position(node.range[0]);
    }
    return { line: 1, column: 1 };
  };

  const value = doc.contents === null ? {} : toValue(doc.contents, doc);
  const result = imageConfigSchema.safeParse(value === null ? {} : value);
  if (!result.success) {
    const issues: ConfigIssue[] = [];
    for (const issue of result.error.issues as z.core.$ZodIssue[]) {
      const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const node = keyNodeAt(path, key);
          const pos = node?.range ? position(node.range[0]) : locate(path);
          issues.push({ file, ...pos, path: formatPath([...path, key]), message: `unknown field ${JSON.stringify(key)}` });
        }
        continue;
      }
      issues.push({ file, ...locate(path), path: formatPath(path), message: issue.message });
    }
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw configError(issues);
  }
  const parsed: ParsedConfigFile = { file, raw: result.data, locate };
  validateEntries(parsed);
  return parsed;
}

const CERT_NAME = /^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$/;

/** Per-entry checks apko runs after decoding (image_configuration.go), done per file for positions. */
function validateEntries(parsed: ParsedConfigFile): void {
  const { raw, file, locate } = parsed;
  const issues: ConfigIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ file, ...locate(path), path: formatPath(path), message });
  (raw.accounts?.users ?? []).forEach((user, index) => {
    if (!user.username) add(['accounts', 'users', index], 'user needs a username');
    if (user.uid === undefined || user.uid === null) add(['accounts', 'users', index], `user ${user.username ?? ''} needs a uid (root is expressed with run-as: 0)`);
    else if (parseGoInteger(user.uid) === 0) add(['accounts', 'users', index, 'uid'], `user ${user.username ?? ''}: uid 0 is not allowed (use run-as: 0 for root)`);
  });
  (raw.accounts?.groups ?? []).forEach((group, index) => {
    if (!group.groupname) add(['accounts', 'groups', index], 'group needs a groupname');
  });
  (raw.certificates?.additional ?? []).forEach((cert, index) => {
    if (!CERT_NAME.test(cert.name)) add(['certificates', 'additional', index, 'name'], `certificate name ${JSON.stringify(cert.name)} must match ${CERT_NAME.source}`);
  });
  const keyNames = new Set<string>();
  (raw.contents?.runtime_keyring ?? []).forEach((key, index) => {
    if (!CERT_NAME.test(key.name)) add(['contents', 'runtime_keyring', index, 'name'], `runtime key name ${JSON.stringify(key.name)} must match ${CERT_NAME.source}`);
    if (!key.content.trim()) add(['contents', 'runtime_keyring', index, 'content'], `runtime key ${key.name} has no content`);
    if (keyNames.has(key.name)) add(['contents', 'runtime_keyring', index, 'name'], `runtime key name ${key.name} is used twice`);
    keyNames.add(key.name);
  });
  (raw.paths ?? []).forEach((mutation, index) => {
    if (!mutation.path.startsWith('/') && mutation.path.trim() === '') add(['paths', index, 'path'], 'path is empty');
    if ((mutation.type === 'hardlink' || mutation.type === 'symlink') && !mutation.source) add(['paths', index], `${mutation.type} ${mutation.path} needs a source`);
    for (const field of ['uid', 'gid', 'permissions'] as const) {
      const v = mutation[field];
      if (v !== undefined && v !== null && (parseGoInteger(v) < 0 || (field === 'permissions' && parseGoInteger(v) > 0o7777))) add(['paths', index, field], `${field} out of range`);
    }
  });
  const budget = raw.layering?.budget;
  if (budget !== undefined && budget !== null && parseGoInteger(budget) < 0) add(['layering', 'budget'], 'budget must not be negative');
  if (issues.length > 0) throw configError(issues);
}
