import { BuildError } from '../errors.ts';

// var-transforms use Go's regexp (RE2) and Go's replacement expansion; JS differs in both, so the
// pattern is translated and the template expanded here rather than handed to String.replace.

/** ASCII classes RE2 accepts inside brackets (`[[:digit:]]`), as JS class contents. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9', graph: '!-~',
  lower: 'a-z', print: ' -~', punct: '!-/:-@[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

/** Translates an RE2 pattern to a JS RegExp: `(?P<name>` → `(?<name>`, leading `(?flags)` → JS flags,
 *  `[[:class:]]` → its ASCII range, `\A`/`\z` → `^`/`$`. Go accepts escaped punctuation such as
 *  `\-` outside a class, which JS's unicode mode refuses, so such patterns compile without it. */
export function compileGoRegexp(pattern: string, where: string): RegExp {
  let source = pattern.replace(/\(\?P</g, '(?<').replace(/\[:(\^?)([a-z]+):\]/g, (whole, negated: string, name: string) => {
    const range = POSIX_CLASSES[name];
    if (range === undefined) return whole;
    return negated ? `^${range}` : range;
  });
  source = source.replace(/(^|[^\\])((?:\\\\)*)\\A/g, '$1$2^').replace(/(^|[^\\])((?:\\\\)*)\\z/g, '$1$2$');
  let flags = 'g';
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading) {
    source = source.slice(leading[0].length);
    for (const flag of leading[1]!) {
      if (flag === 'U') throw new BuildError('RECIPE_UNSUPPORTED', `${where}: regexp flag U (ungreedy) is not supported`, { detail: { pattern } });
      if (!flags.includes(flag)) flags += flag;
    }
  }
  if (/\(\?[=!]|\(\?<[=!]/.test(source)) {
    throw new BuildError('RECIPE_INVALID', `${where}: look-around is not allowed in Go regexps: ${pattern}`, { detail: { pattern } });
  }
  try {
    return new RegExp(source, `${flags}u`);
  } catch {
    try {
      return new RegExp(source, flags);
    } catch (error) {
      throw new BuildError('RECIPE_INVALID', `${where}: invalid regexp ${JSON.stringify(pattern)}`, { cause: error, detail: { pattern } });
    }
  }
}

/** Go `Regexp.Expand`: `$$` → `$`; `$name` takes the longest run of [A-Za-z0-9_]; `${name}`;
 *  an all-digit name is a group number; an unknown group expands to "". */
function expandGoTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '$') {
      out += ch;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const candidate = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(candidate)) {
        name = candidate;
        i = close;
      }
    } else {
      const run = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (run) {
        name = run[0];
        i += run[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    out += /^\d+$/.test(name) ? (match[Number(name)] ?? '') : (match.groups?.[name] ?? '');
  }
  return out;
}

/** Go `ReplaceAllString`: replaces every non-overlapping match with the expanded template. */
export function goReplaceAll(input: string, regexp: RegExp, template: string): string {
  let out = '';
  let last = 0;
  let previousEnd = -1;
  regexp.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = regexp.exec(input)) !== null) {
    const empty = match[0].length === 0;
    // Go ignores an empty match that abuts the previous match.
    if (!(empty && match.index === previousEnd)) {
      out += input.slice(last, match.index) + expandGoTemplate(template, match);
      last = match.index + match[0].length;
    }
    previousEnd = match.index + match[0].length;
    if (empty) {
      if (match.index < input.length) out += input.slice(last, match.index + 1);
      last = match.index + 1;
      regexp.lastIndex = match.index + 1;
    }
  }
  return out + input.slice(Math.min(last, input.length));
}
