import { isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { parseYamlBounded } from '../../lib/index.ts';
import { BuildError } from '../errors.ts';

/** A YAML path: keys and sequence indexes from the document root. */
export type YamlPath = readonly (string | number)[];

/** A file position, 1-based. */
interface SourcePosition {
  line: number;
  column: number;
}

/** A parsed YAML file that can say where any path came from, for file:line:column errors. */
export class YamlSource {
  readonly file: string;
  readonly text: string;
  readonly value: unknown;
  private readonly doc: Document;
  private readonly lines: LineCounter;

  private constructor(file: string, text: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.text = text;
    this.doc = doc;
    this.lines = lines;
    // parseYamlBounded has bounded alias expansion and refused cycles already.
    this.value = doc.toJS({ maxAliasCount: -1 });
  }

  /** Parses YAML keeping every scalar as its literal text (failsafe schema); syntax errors throw
   *  RECIPE_INVALID naming file:line:column. */
  static parse(file: string, text: string): YamlSource {
    const { doc, lineCounter: lines } = parseYamlBounded(text, file, { schema: 'failsafe', uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      throw new BuildError('RECIPE_INVALID', `${file}:${pos.line}:${pos.col}: invalid YAML: ${first.message.split('\n')[0]}`, {
        detail: { file, line: pos.line, column: pos.col },
      });
    }
    return new YamlSource(file, text, doc, lines);
  }

  /** Position of the node at `path` (or of the deepest existing ancestor); with `key`, the
   *  position of that key inside the map at `path`. */
  locate(path: YamlPath, key?: string): SourcePosition {
    let node: unknown = this.doc.contents;
    let offset = isNode(node) && node.range ? node.range[0] : 0;
    for (const segment of path) {
      let next: unknown;
      if (isMap(node)) next = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment))?.value;
      else if (isSeq(node) && typeof segment === 'number') next = node.items[segment];
      if (!isNode(next)) break;
      node = next;
      if (next.range) offset = next.range[0];
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key);
      if (pair && isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
    }
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** `file:line:column` for a path. */
  where(path: YamlPath, key?: string): string {
    const { line, column } = this.locate(path, key);
    return `${this.file}:${line}:${column}`;
  }

  /** Validates the document with a zod schema; the first issue becomes RECIPE_INVALID with the
   *  position of the offending key or value. */
  validate<T extends z.ZodType>(schema: T, code: 'RECIPE_INVALID' | 'PIPELINE_INVALID' = 'RECIPE_INVALID'): z.output<T> {
    const result = schema.safeParse(this.value);
    if (result.success) return result.data;
    throw issueError(this, result.error.issues, code);
  }
}

/** Top-level keys older melange read and current melange rejects, with what to do instead. */
const RETIRED_TOP_LEVEL_KEYS: Record<string, string> = {
  secfixes: ' (older melange read security fixes here; current melange rejects it too: remove it and record fixes as advisories, kept apart from the recipe)',
  advisories: ' (older melange read advisories here; current melange rejects it too: remove it and keep advisories apart from the recipe)',
};

function issueError(source: YamlSource, issues: readonly z.core.$ZodIssue[], code: 'RECIPE_INVALID' | 'PIPELINE_INVALID'): BuildError {
  // Prefer the most specific issue: zod reports union/unknown-key issues at their container.
  const issue = issues[0]!;
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  let where: string;
  let message: string;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    where = source.where(path, key);
    message = `unknown key ${JSON.stringify(key)}${path.length ? ` in ${formatPath(path)}` : ''}${path.length === 0 && code === 'RECIPE_INVALID' ? (RETIRED_TOP_LEVEL_KEYS[key] ?? '') : ''}`;
  } else if (issue.code === 'invalid_type' && issue.input === undefined) {
    where = source.where(path.slice(0, -1));
    message = `missing required key ${formatPath(path)}`;
  } else {
    where = source.where(path);
    message = `${formatPath(path) || 'document'}: ${issue.message}`;
  }
  return new BuildError(code, `${where}: ${message}`, { detail: { file: source.file, path, issues: issues.length } });
}

/** `pipeline[2].with.uri` style rendering of a YAML path. */
export function formatPath(path: YamlPath): string {
  let text = '';
  for (const segment of path) text += typeof segment === 'number' ? `[${segment}]` : text ? `.${segment}` : segment;
  return text;
}
