// apk package versions (apk-format.md §3): the token state machine, comparison, validity and
// operator matching of apk-tools 3.0.6. Pure functions over strings; no allocation-heavy parsing so
// the resolver can compare versions millions of times cheaply.

/** Comparison result bits; also the operator bits of a dependency (§3.4). */
export const VERSION_EQUAL = 1;
export const VERSION_LESS = 2;
export const VERSION_GREATER = 4;
export const VERSION_FUZZY = 8;
export const VERSION_CONFLICT = 16;
/** No operator: any version matches. */
export const DEPMASK_ANY = VERSION_EQUAL | VERSION_LESS | VERSION_GREATER;
/** `><`: the constraint is a package identity. */
export const DEPMASK_CHECKSUM = VERSION_LESS | VERSION_GREATER;

// Token kinds in comparison order (§3.2).
const T_INITIAL = 0;
const T_DIGIT = 1;
const T_LETTER = 2;
const T_SUFFIX = 3;
const T_SUFFIX_NO = 4;
const T_HASH = 5;
const T_REVISION = 6;
const T_END = 7;
const T_INVALID = 8;

// Suffix ranks; below SUFFIX_NONE is a pre-release.
const SUFFIX_NONE = 5;
const SUFFIXES: Readonly<Record<string, number>> = { alpha: 1, beta: 2, pre: 3, rc: 4, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };

const C_0 = 48;
const C_9 = 57;
const C_A = 97;
const C_F = 102;
const C_Z = 122;
const U64 = (1n << 64n) - 1n;

/**
 * One step of the tokenizer; mutable so comparison walks both strings without allocating. The
 * module keeps three instances that `reset` reuses (the functions below never nest).
 */
class Tokenizer {
  kind = T_INITIAL;
  /** Start and end of the token text in `text`. */
  start = 0;
  end = 0;
  suffix = 0;
  private pos = 0;
  private text = '';

  /** Starts tokenizing `text` (reads the initial digits). */
  reset(text: string): this {
    this.text = text;
    this.kind = T_INITIAL;
    this.start = 0;
    this.end = 0;
    this.suffix = 0;
    this.pos = 0;
    this.digits(T_INITIAL);
    return this;
  }

  private digits(kind: number): void {
    const text = this.text;
    let pos = this.pos;
    this.start = pos;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c < C_0 || c > C_9) break;
      pos++;
    }
    this.end = pos;
    this.pos = pos;
    this.kind = pos === this.start ? T_INVALID : kind;
  }

  next(): void {
    const text = this.text;
    if (this.pos >= text.length) {
      this.kind = T_END;
      return;
    }
    const c = text.charCodeAt(this.pos);
    if (c >= C_A && c <= C_Z) {
      if (this.kind > T_DIGIT) return this.invalid();
      this.start = this.pos;
      this.end = ++this.pos;
      this.kind = T_LETTER;
      return;
    }
    if (c === 46 /* . */ || (c >= C_0 && c <= C_9)) {
      if (c === 46) {
        if (this.kind > T_DIGIT) return this.invalid();
        this.pos++;
      }
      if (this.kind === T_INITIAL || this.kind === T_DIGIT) return this.digits(T_DIGIT);
      if (this.kind === T_SUFFIX) return this.digits(T_SUFFIX_NO);
      return this.invalid();
    }
    if (c === 95 /* _ */) {
      if (this.kind > T_SUFFIX_NO) return this.invalid();
      let pos = ++this.pos;
      while (pos < text.length) {
        const d = text.charCodeAt(pos);
        if (d < C_A || d > C_Z) break;
        pos++;
      }
      this.start = this.pos;
      this.end = pos;
      this.pos = pos;
      const rank = SUFFIXES[text.slice(this.start, this.end)];
      if (rank === undefined) return this.invalid();
      this.suffix = rank;
      this.kind = T_SUFFIX;
      return;
    }
    if (c === 126 /* ~ */) {
      if (this.kind >= T_HASH) return this.invalid();
      let pos = ++this.pos;
      while (pos < text.length) {
        const d = text.charCodeAt(pos);
        if (!((d >= C_0 && d <= C_9) || (d >= C_A && d <= C_F))) break;
        pos++;
      }
      if (pos === this.pos) return this.invalid();
      this.start = this.pos;
      this.end = pos;
      this.pos = pos;
      this.kind = T_HASH;
      return;
    }
    if (c === 45 /* - */) {
      if (this.kind >= T_REVISION) return this.invalid();
      if (text.charCodeAt(this.pos + 1) !== 114 /* r */) return this.invalid();
      this.pos += 2;
      return this.digits(T_REVISION);
    }
    this.invalid();
  }

  private invalid(): void {
    this.kind = T_INVALID;
  }

  value(): string {
    return this.text.slice(this.start, this.end);
  }

  /** Unsigned 64-bit value of a digit token; apk does not guard overflow, so it wraps. */
  number(): bigint | number {
    const length = this.end - this.start;
    if (length <= 15) {
      // Up to 15 decimal digits are exact in a double: accumulate without slicing.
      const text = this.text;
      let value = 0;
      for (let i = this.start; i < this.end; i++) value = value * 10 + (text.charCodeAt(i) - C_0);
      return value;
    }
    return BigInt(this.text.slice(this.start, this.end)) & U64;
  }
}

const tokenA = new Tokenizer();
const tokenB = new Tokenizer();
const tokenV = new Tokenizer();

function compareNumbers(a: bigint | number, b: bigint | number): number {
  if (a < b) return VERSION_LESS;
  if (a > b) return VERSION_GREATER;
  return VERSION_EQUAL;
}

function compareStrings(a: string, b: string): number {
  if (a < b) return VERSION_LESS;
  if (a > b) return VERSION_GREATER;
  return VERSION_EQUAL;
}

function compareTokens(a: Tokenizer, b: Tokenizer, textA: string, textB: string): number {
  switch (a.kind) {
    case T_DIGIT:
      // A leading zero on either side switches to a raw string comparison (Gentoo rule).
      if (textA.charCodeAt(a.start) === C_0 || textB.charCodeAt(b.start) === C_0) return compareStrings(a.value(), b.value());
      return compareNumbers(a.number(), b.number());
    case T_INITIAL:
    case T_SUFFIX_NO:
    case T_REVISION:
      return compareNumbers(a.number(), b.number());
    case T_LETTER:
      return compareNumbers(textA.charCodeAt(a.start), textB.charCodeAt(b.start));
    case T_SUFFIX:
      return compareNumbers(a.suffix, b.suffix);
    default:
      return compareStrings(a.value(), b.value());
  }
}

/**
 * Compares two versions and returns VERSION_LESS, VERSION_EQUAL or VERSION_GREATER (as bits).
 * `null` stands for apk's null blob and matches everything (all three bits). With `fuzzy`, `a`
 * equals `b` when `b`'s tokens are a prefix of `a`'s.
 */
export function compareVersionBits(a: string | null, b: string | null, fuzzy = false): number {
  if (a === null || b === null) {
    if (a === null && b === null) return VERSION_EQUAL;
    return VERSION_EQUAL | VERSION_GREATER | VERSION_LESS;
  }
  if (a === b) return VERSION_EQUAL;
  const ta = tokenA.reset(a);
  const tb = tokenB.reset(b);
  while (ta.kind === tb.kind && ta.kind < T_END) {
    const r = compareTokens(ta, tb, a, b);
    if (r !== VERSION_EQUAL) return r;
    ta.next();
    tb.next();
  }
  if (ta.kind === tb.kind) return VERSION_EQUAL;
  if (tb.kind === T_END && fuzzy) return VERSION_EQUAL;
  // The longer version is greater unless it continues with a pre-release suffix.
  if (ta.kind === T_SUFFIX && ta.suffix < SUFFIX_NONE) return VERSION_LESS;
  if (tb.kind === T_SUFFIX && tb.suffix < SUFFIX_NONE) return VERSION_GREATER;
  if (ta.kind > tb.kind) return VERSION_LESS;
  if (tb.kind > ta.kind) return VERSION_GREATER;
  return VERSION_EQUAL;
}

/** Sort comparator: negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareVersions(a: string, b: string): number {
  const r = compareVersionBits(a, b);
  return r === VERSION_LESS ? -1 : r === VERSION_GREATER ? 1 : 0;
}

/** True when the whole string is an apk version (the tokenizer reaches the end). */
export function isValidVersion(version: string): boolean {
  const t = tokenV.reset(version);
  while (t.kind < T_END) t.next();
  return t.kind === T_END;
}

/** Operator text (`<`, `>=`, `~`, `><` …) to operator bits; 0 when a character is not an operator. */
export function parseVersionOperator(op: string): number {
  let bits = 0;
  for (const c of op) {
    if (c === '<') bits |= VERSION_LESS;
    else if (c === '>') bits |= VERSION_GREATER;
    else if (c === '=') bits |= VERSION_EQUAL;
    else if (c === '~') bits |= VERSION_FUZZY | VERSION_EQUAL;
    else return 0;
  }
  return bits;
}

/** Canonical spelling of operator bits (the conflict bit is ignored); `?` for combinations apk cannot print. */
export function formatVersionOperator(op: number): string {
  switch (op & ~VERSION_CONFLICT) {
    case VERSION_LESS:
      return '<';
    case VERSION_LESS | VERSION_EQUAL:
      return '<=';
    case VERSION_LESS | VERSION_EQUAL | VERSION_FUZZY:
      return '<~';
    case VERSION_EQUAL | VERSION_FUZZY:
    case VERSION_FUZZY:
      return '~';
    case VERSION_EQUAL:
      return '=';
    case VERSION_GREATER | VERSION_EQUAL:
      return '>=';
    case VERSION_GREATER | VERSION_EQUAL | VERSION_FUZZY:
      return '>~';
    case VERSION_GREATER:
      return '>';
    case DEPMASK_CHECKSUM:
      return '><';
    case DEPMASK_ANY:
      return '';
    default:
      return '?';
  }
}

/** Does version `a` satisfy operator `op` against constraint `b`? (the conflict bit inverts) */
export function versionMatches(a: string | null, op: number, b: string | null): boolean {
  let ok = (op & DEPMASK_ANY) === DEPMASK_ANY || (compareVersionBits(a, b, (op & VERSION_FUZZY) !== 0) & op) !== 0;
  if (op & VERSION_CONFLICT) ok = !ok;
  return ok;
}

/** Splits `name-version` at the last `-` followed by a digit; undefined if there is none. */
export function splitNameVersion(text: string): { name: string; version: string } | undefined {
  for (let i = text.length - 2; i > 0; i--) {
    if (text[i] === '-' && text.charCodeAt(i + 1) >= C_0 && text.charCodeAt(i + 1) <= C_9) {
      return { name: text.slice(0, i), version: text.slice(i + 1) };
    }
  }
  return undefined;
}
