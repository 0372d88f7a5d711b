import { createHash } from 'node:crypto';
import { SPDX_EXCEPTION_IDS, SPDX_LICENSE_IDS } from './spdx-license-list.ts';

// Pure: SPDX license expressions (SPDX 2.3 Annex D) — checking a declared licence text, writing it
// in canonical form, joining several, and giving texts that are not expressions a LicenseRef- of
// their own. Hand-written rather than a dependency: the grammar is a dozen lines, and the one list it
// needs is already kept beside the schemas (spdx-license-list.ts).

/** A parsed SPDX license expression. */
type LicenseNode =
  | { kind: 'license'; id: string; orLater: boolean }
  | { kind: 'with'; license: LicenseNode & { kind: 'license' }; exception: string }
  | { kind: 'and' | 'or'; operands: LicenseNode[] };

// Ids are matched case-insensitively (Annex D.2); these maps give each its list spelling. Built once
// from constant data and never changed.
const LICENSE_BY_LOWER = new Map(SPDX_LICENSE_IDS.map((id) => [id.toLowerCase(), id]));
const EXCEPTION_BY_LOWER = new Map(SPDX_EXCEPTION_IDS.map((id) => [id.toLowerCase(), id]));

const IDSTRING = '[A-Za-z0-9.-]+';
const LICENSE_REF = new RegExp(`^(?:DocumentRef-${IDSTRING}:)?LicenseRef-${IDSTRING}$`);

function tokenize(text: string): string[] {
  return text.replace(/[()]/g, ' $& ').trim().split(/\s+/).filter((token) => token !== '');
}

/** Recursive descent over the tokens; operators are case-sensitive (Annex D.2), so `or` is not OR. */
function parseTokens(tokens: readonly string[]): LicenseNode | undefined {
  let at = 0;
  const simple = (): LicenseNode | undefined => {
    const token = tokens[at++];
    if (token === undefined) return undefined;
    if (token === '(') {
      const inner = disjunction();
      return inner && tokens[at++] === ')' ? inner : undefined;
    }
    let license: LicenseNode & { kind: 'license' };
    if (LICENSE_REF.test(token)) {
      license = { kind: 'license', id: token, orLater: false };
    } else {
      const orLater = token.endsWith('+');
      const id = LICENSE_BY_LOWER.get((orLater ? token.slice(0, -1) : token).toLowerCase());
      if (!id) return undefined;
      license = { kind: 'license', id, orLater };
    }
    if (tokens[at] !== 'WITH') return license;
    at++;
    const exception = EXCEPTION_BY_LOWER.get((tokens[at++] ?? '').toLowerCase());
    return exception ? { kind: 'with', license, exception } : undefined;
  };
  const chain = (operator: 'AND' | 'OR', operand: () => LicenseNode | undefined): LicenseNode | undefined => {
    const operands: LicenseNode[] = [];
    for (;;) {
      const next = operand();
      if (!next) return undefined;
      operands.push(next);
      if (tokens[at] !== operator) break;
      at++;
    }
    return operands.length === 1 ? operands[0] : { kind: operator === 'AND' ? 'and' : 'or', operands };
  };
  const conjunction = () => chain('AND', simple);
  const disjunction = () => chain('OR', conjunction);
  const tree = disjunction();
  return tree && at === tokens.length ? tree : undefined;
}

/** Canonical text: list spelling of ids, single spaces, parentheses only where AND would bind into OR. */
function printNode(node: LicenseNode): string {
  switch (node.kind) {
    case 'license':
      return `${node.id}${node.orLater ? '+' : ''}`;
    case 'with':
      return `${printNode(node.license)} WITH ${node.exception}`;
    case 'and':
      return node.operands.map((operand) => (operand.kind === 'or' ? `(${printNode(operand)})` : printNode(operand))).join(' AND ');
    case 'or':
      return node.operands.map(printNode).join(' OR ');
  }
}

function licenseRefs(node: LicenseNode): string[] {
  if (node.kind === 'license') return node.id.startsWith('LicenseRef-') ? [node.id] : [];
  if (node.kind === 'with') return licenseRefs(node.license);
  return node.operands.flatMap(licenseRefs);
}

/** `text` as a canonical SPDX license expression, or undefined when it is not one (ids from the SPDX
 *  License List or `LicenseRef-`, exceptions after WITH, upper-case AND/OR/WITH, balanced parentheses). */
export function spdxLicenseExpression(text: string): string | undefined {
  const tree = parseTokens(tokenize(text));
  return tree ? printNode(tree) : undefined;
}

/** Several licence texts that all apply, as one text: `(MIT OR Apache-2.0) AND BSD-3-Clause`. Every
 *  compound expression, and every other text with a space in it, is parenthesised so the joining AND
 *  cannot bind into it. Empty texts are dropped; a single text is returned as it is. */
export function conjoinLicenses(texts: readonly string[]): string {
  const parts = texts.map((text) => text.trim()).filter((text) => text !== '');
  if (parts.length <= 1) return parts[0] ?? '';
  return parts
    .map((part) => {
      const tree = parseTokens(tokenize(part));
      if (!tree) return /\s/.test(part) ? `(${part})` : part;
      return tree.kind === 'and' || tree.kind === 'or' ? `(${printNode(tree)})` : printNode(tree);
    })
    .join(' AND ');
}

/** One SPDX `hasExtractedLicensingInfos` entry. */
export interface SpdxExtractedLicense {
  licenseId: string;
  name: string;
  extractedText: string;
  comment: string;
}

/** The licences of one SPDX document: how each declared text is written, and the extracted-licence
 *  entries the LicenseRef- ids it uses need. */
export interface SpdxLicenseTable {
  /** The expression for a `licenseDeclared` field of a package that declares `text` (one of the
   *  texts the table was made from). */
  expressionOf(text: string): string;
  /** One entry per LicenseRef- the expressions use, sorted by id. */
  extracted: SpdxExtractedLicense[];
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);
}

/**
 * Licences of one SPDX document from the texts its packages declare. A valid expression is written
 * in canonical form; any other text (apk `L:` values such as `custom`, `GPL` or
 * `GPL-2.0 or Artistic`) becomes `LicenseRef-<text with other characters as ->` carrying the original
 * text. Ids never collide, also not case-insensitively: texts that would share one (`Foo Bar`,
 * `Foo_Bar`) each get a hash of their text appended. The result does not depend on the texts' order.
 */
export function spdxLicenseTable(texts: Iterable<string>): SpdxLicenseTable {
  const expressions = new Map<string, string>();
  const extracted = new Map<string, SpdxExtractedLicense>();
  const taken = new Set<string>();
  const invalid: string[] = [];
  for (const text of [...new Set(texts)].sort()) {
    const tree = parseTokens(tokenize(text));
    if (!tree) {
      invalid.push(text);
      continue;
    }
    expressions.set(text, printNode(tree));
    // A LicenseRef the package names itself still needs its entry; the declared text is all there is.
    for (const id of licenseRefs(tree)) {
      if (taken.has(id.toLowerCase())) continue;
      taken.add(id.toLowerCase());
      extracted.set(id, { licenseId: id, name: id.slice('LicenseRef-'.length), extractedText: text, comment: 'named by the package metadata, which carries no text for it' });
    }
  }
  const sanitised = new Map(invalid.map((text) => [text, text.trim().replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'empty']));
  const sharing = new Map<string, number>();
  for (const name of sanitised.values()) sharing.set(name.toLowerCase(), (sharing.get(name.toLowerCase()) ?? 0) + 1);
  for (const text of invalid) {
    const name = sanitised.get(text)!;
    let id = sharing.get(name.toLowerCase())! > 1 ? `LicenseRef-${name}-${shortHash(text, 8)}` : `LicenseRef-${name}`;
    // Still taken only when a package names that very LicenseRef itself, or by a hash clash.
    for (let attempt = 1; taken.has(id.toLowerCase()); attempt++) id = `LicenseRef-${name}-${shortHash(text, 8)}${attempt > 1 ? `-${attempt}` : ''}`;
    taken.add(id.toLowerCase());
    expressions.set(text, id);
    extracted.set(id, { licenseId: id, name: text, extractedText: text, comment: 'the package metadata declares this text, which is not an SPDX license expression' });
  }
  return {
    expressionOf: (text) => expressions.get(text) ?? spdxLicenseExpression(text) ?? 'NOASSERTION',
    extracted: [...extracted.values()].sort((a, b) => (a.licenseId < b.licenseId ? -1 : a.licenseId > b.licenseId ? 1 : 0)),
  };
}
