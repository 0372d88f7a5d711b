import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import type { Document, DocumentOptions, LineCounter, ParseOptions, SchemaOptions } from 'yaml';
import { KilnError } from './errors.ts';

/** The `yaml` package, loaded on the first YAML or JSON parse instead of with lib: it costs about
 *  100 ms of start-up that commands reading no YAML (most of `kiln apk`) should not pay. A memo of
 *  a module, so it cannot change a result. */
let yamlModule: typeof YamlModule | undefined;
function yaml(): typeof YamlModule {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlModule);
}

// Pure: the one place where YAML and JSON text from outside becomes a value. Every reader of a
// config, recipe, policy, lock file or advisory goes through here so that size, nesting depth and
// alias expansion are bounded the same way everywhere: a "billion laughs" document (nested aliases)
// or an anchor that contains itself is refused with the file named, instead of exhausting memory
// or the stack further on.

/** Bounds on one YAML or JSON input. */
export interface TextLimits {
  /** Largest input, in bytes of UTF-8. */
  maxBytes: number;
  /** Deepest nesting of maps and sequences, counted after alias expansion. */
  maxDepth: number;
  /** Most nodes the document may have once every alias is expanded (what a consumer walks). */
  maxNodes: number;
}

/** Limits generous for any real config, recipe or lock file and small enough to stay cheap. */
export const DEFAULT_TEXT_LIMITS: Readonly<TextLimits> = { maxBytes: 16 * 1024 * 1024, maxDepth: 128, maxNodes: 1_000_000 };

/** Options of {@link parseYamlBounded}: the `yaml` package's parse options plus limits. */
export type BoundedYamlOptions = ParseOptions & DocumentOptions & SchemaOptions & { limits?: Partial<TextLimits> };

/** A parsed YAML document with its line counter, for file:line:column errors. */
export interface BoundedYaml {
  doc: Document;
  lineCounter: LineCounter;
}

function limitsOf(partial: Partial<TextLimits> | undefined): TextLimits {
  return { ...DEFAULT_TEXT_LIMITS, ...partial };
}

function checkSize(text: string, file: string, limits: TextLimits): void {
  // Cheap first test on UTF-16 length: a string of n code units has at most 3n UTF-8 bytes.
  if (text.length * 3 <= limits.maxBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    throw new KilnError('LIMIT_EXCEEDED', `${file}: ${bytes} bytes is more than the limit of ${limits.maxBytes} for this input`, { detail: { file, size: bytes, limit: limits.maxBytes } });
  }
}

/** Parses YAML and refuses documents whose expanded form is too deep or too large, and anchors that
 *  contain an alias to themselves. Syntax errors are left in `doc.errors` for the caller to report
 *  in its own words, except a nesting so deep the parser ran out of stack (LIMIT_EXCEEDED). */
export function parseYamlBounded(text: string, file: string, options: BoundedYamlOptions = {}): BoundedYaml {
  const { limits: partial, ...parseOptions } = options;
  const limits = limitsOf(partial);
  checkSize(text, file, limits);
  checkNestingText(text, file, limits);
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { ...parseOptions, lineCounter, prettyErrors: false });
  const position = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };
  const overflow = doc.errors.find((error) => /call stack/i.test(error.message));
  if (overflow) {
    const at = position(overflow.pos[0]);
    throw new KilnError('LIMIT_EXCEEDED', `${file}:${at.line}:${at.column}: nesting is deeper than the limit of ${limits.maxDepth}`, { detail: { file, ...at, limit: limits.maxDepth } });
  }
  if (doc.errors.length === 0) checkExpansion(doc, file, limits, position);
  return { doc, lineCounter };
}

/** A check of the raw text before the parser composes it: composing recurses once per nesting
 *  level, and running out of stack there is not reliably recoverable (V8 may abort the whole
 *  process when the overflow lands in its regexp compiler). The library's lexer is iterative, so
 *  flow nesting (`[`, `{`) is counted exactly on its tokens; block nesting cannot exceed the column
 *  where a line's content starts after indentation and block indicators (`- `, `? `, `: `). The
 *  column bound allows several times the limit (block scalars may be indented deeply); the exact
 *  depth is checked on the parsed tree. */
function checkNestingText(text: string, file: string, limits: TextLimits): void {
  const refuse = (line: number): never => {
    throw new KilnError('LIMIT_EXCEEDED', `${file}:${line}: nesting is deeper than the limit of ${limits.maxDepth}`, { detail: { file, line, limit: limits.maxDepth } });
  };
  let depth = 0;
  let line = 1;
  for (const token of new (yaml().Lexer)().lex(text)) {
    if (token === '[' || token === '{') {
      if (++depth > limits.maxDepth) refuse(line);
    } else if (token === ']' || token === '}') depth = Math.max(0, depth - 1);
    else if (token.includes('\n')) line += token.split('\n').length - 1;
  }
  const allowedColumn = Math.max(limits.maxDepth * 8, 1024);
  line = 1;
  let column = 0;
  let lineStart = true;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === 0x0a) {
      line++;
      column = 0;
      lineStart = true;
    } else if (lineStart) {
      const next = text.charCodeAt(index + 1);
      const isIndicator = (char === 0x2d || char === 0x3f || char === 0x3a) && (next === 0x20 || next === 0x09 || next === 0x0a || Number.isNaN(next));
      if (char === 0x20 || char === 0x09 || isIndicator) {
        if (++column > allowedColumn) refuse(line);
      } else lineStart = false;
    }
  }
}

/** Expanded size and depth of every node, memoised per node so a chain of aliases costs one visit
 *  per node however large it expands; an alias met while its own anchor is being measured is a cycle. */
function checkExpansion(doc: Document, file: string, limits: TextLimits, position: (offset: number | undefined) => { line: number; column: number }): void {
  const measured = new Map<unknown, { nodes: number; depth: number }>();
  const inProgress = new Set<unknown>();
  const rangeStart = (node: unknown): number | undefined => (node as { range?: [number, number, number] } | null)?.range?.[0];

  const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
  const measure = (node: unknown, level: number): { nodes: number; depth: number } => {
    if (node === null || node === undefined) return { nodes: 1, depth: 0 };
    if (level > limits.maxDepth) {
      const at = position(rangeStart(node));
      throw new KilnError('LIMIT_EXCEEDED', `${file}:${at.line}:${at.column}: nesting is deeper than the limit of ${limits.maxDepth}`, { detail: { file, ...at, limit: limits.maxDepth } });
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) return { nodes: 1, depth: 0 };
      if (inProgress.has(target)) {
        const at = position(rangeStart(node));
        throw new KilnError('INPUT_INVALID', `${file}:${at.line}:${at.column}: alias *${node.source} refers to the anchor that contains it (a cycle)`, { detail: { file, ...at, anchor: node.source } });
      }
      return measure(target, level);
    }
    const known = measured.get(node);
    if (known) {
      if (level + known.depth > limits.maxDepth) {
        const at = position(rangeStart(node));
        throw new KilnError('LIMIT_EXCEEDED', `${file}:${at.line}:${at.column}: nesting is deeper than the limit of ${limits.maxDepth}`, { detail: { file, ...at, limit: limits.maxDepth } });
      }
      return known;
    }
    let children: unknown[] = [];
    if (isMap(node)) children = node.items.flatMap((pair) => (isPair(pair) ? [pair.key, pair.value] : [pair]));
    else if (isSeq(node)) children = node.items;
    else if (!isScalar(node)) children = [];
    inProgress.add(node);
    let nodes = 1;
    let depth = 0;
    for (const child of children) {
      const result = measure(child, level + 1);
      nodes += result.nodes;
      depth = Math.max(depth, result.depth + 1);
      if (nodes > limits.maxNodes) {
        const at = position(rangeStart(node));
        throw new KilnError('LIMIT_EXCEEDED', `${file}:${at.line}:${at.column}: the document expands to more than ${limits.maxNodes} values (aliases nested too deep: a "billion laughs" document?)`, {
          detail: { file, ...at, limit: limits.maxNodes },
        });
      }
    }
    inProgress.delete(node);
    const result = { nodes, depth };
    measured.set(node, result);
    return result;
  };
  measure(doc.contents, 0);
}

/** Parses YAML (or JSON, which is YAML) into a plain value within limits; any syntax error is
 *  INPUT_INVALID naming file:line:column. For inputs without a domain schema of positions. */
export function loadYamlBounded(text: string, file: string, options: BoundedYamlOptions = {}): unknown {
  const { doc, lineCounter } = parseYamlBounded(text, file, options);
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new KilnError('INPUT_INVALID', `${file}:${pos.line}:${pos.col}: not valid YAML: ${first.message.split('\n')[0]}`, { detail: { file, line: pos.line, column: pos.col } });
  }
  // checkExpansion has bounded the expansion already; the library's own alias counter would refuse
  // ordinary documents that reuse one anchor many times.
  return doc.toJS({ maxAliasCount: -1 }) as unknown;
}

/** Parses JSON within limits: size first, then nesting depth by a scan that skips strings (so a
 *  deep document is refused before any recursive consumer sees it). Syntax errors are INPUT_INVALID
 *  naming the file and the position. */
export function parseJsonBounded(text: string, file: string, partial?: Partial<TextLimits>): unknown {
  const limits = limitsOf(partial);
  checkSize(text, file, limits);
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > limits.maxDepth) {
        throw new KilnError('LIMIT_EXCEEDED', `${file}: JSON nesting is deeper than the limit of ${limits.maxDepth} (at offset ${index})`, { detail: { file, offset: index, limit: limits.maxDepth } });
      }
    } else if (char === 0x5d || char === 0x7d) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new KilnError('INPUT_INVALID', `${file}: not valid JSON: ${jsonErrorText(error)}`, { cause: error, detail: { file } });
  }
}

/** A JSON.parse error as one short line: V8 quotes the input (newlines and all) in its message. */
export function jsonErrorText(error: unknown): string {
  const text = (error as Error | undefined)?.message ?? String(error);
  const oneLine = text.replace(/\r?\n/g, '\\n');
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
