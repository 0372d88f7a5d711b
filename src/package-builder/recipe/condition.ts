import { BuildError } from '../errors.ts';
import { substituteStrict } from './substitute.ts';
import type { Variables } from './substitute.ts';

// melange's `if:` grammar: expr := atom (('&&'|'||') atom)*, atom := '(' expr ')' | value op value,
// value := '…' | "…" (after ${{var}} became a double-quoted string). Operators chain left to right
// with no precedence: `a || b && c` is `(a || b) && c`.

/** Evaluates an `if:` condition; variables are substituted first (undefined → error). */
export function evaluateCondition(expression: string, variables: Variables, where: string): boolean {
  const quoted = new Map<string, string>();
  for (const [name, value] of variables) quoted.set(name, `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  const text = substituteStrict(expression, quoted, where);
  const parser = new ConditionParser(text, where, expression);
  const result = parser.expression();
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail('unexpected trailing text');
  return result;
}

class ConditionParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly where: string,
    private readonly original: string,
  ) {}

  fail(message: string): never {
    throw new BuildError('CONDITION_INVALID', `${this.where}: invalid condition ${JSON.stringify(this.original)}: ${message} at offset ${this.pos}`, {
      detail: { condition: this.original, offset: this.pos },
    });
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  expression(): boolean {
    let value = this.atom();
    for (;;) {
      this.skipSpace();
      if (this.text.startsWith('&&', this.pos)) {
        this.pos += 2;
        const right = this.atom();
        value = value && right;
      } else if (this.text.startsWith('||', this.pos)) {
        this.pos += 2;
        const right = this.atom();
        value = value || right;
      } else return value;
    }
  }

  atom(): boolean {
    this.skipSpace();
    if (this.text[this.pos] === '(') {
      this.pos++;
      const value = this.expression();
      this.skipSpace();
      if (this.text[this.pos] !== ')') this.fail("expected ')'");
      this.pos++;
      return value;
    }
    const left = this.value();
    this.skipSpace();
    let equal: boolean;
    if (this.text.startsWith('==', this.pos)) equal = true;
    else if (this.text.startsWith('!=', this.pos)) equal = false;
    else this.fail("expected '==' or '!='");
    this.pos += 2;
    const right = this.value();
    return equal ? left === right : left !== right;
  }

  value(): string {
    this.skipSpace();
    const quote = this.text[this.pos];
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted string or ${{variable}}');
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++]!;
      if (ch === quote) return out;
      if (ch === '\\') {
        const escaped = this.text[this.pos++];
        const table: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t' };
        if (escaped === undefined || !(escaped in table)) this.fail('invalid escape');
        out += table[escaped]!;
      } else out += ch;
    }
    return this.fail('unterminated string');
  }
}
