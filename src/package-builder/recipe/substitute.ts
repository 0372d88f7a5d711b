import { BuildError } from '../errors.ts';

/** `${{ name }}`: spaces inside the braces allowed, name characters `[A-Za-z0-9._-]`. */
const VARIABLE = /\$\{\{\s*([A-Za-z0-9._-]+)\s*\}\}/g;

/** Variables visible to a substitution. */
export type Variables = ReadonlyMap<string, string>;

/** Replaces the variables that are defined and leaves every other `${{…}}` untouched (melange's
 *  parse-time phase). */
export function substitutePartial(text: string, variables: Variables): string {
  if (!text.includes('${{')) return text;
  return text.replace(VARIABLE, (whole, name: string) => variables.get(name) ?? whole);
}

/** Replaces every variable; an undefined one is SUBSTITUTION_UNDEFINED naming `where`
 *  (compile-time phase). */
export function substituteStrict(text: string, variables: Variables, where: string): string {
  if (!text.includes('${{')) return text;
  return text.replace(VARIABLE, (_whole, name: string) => {
    const value = variables.get(name);
    if (value === undefined) {
      throw new BuildError('SUBSTITUTION_UNDEFINED', `${where}: undefined variable \${{${name}}}`, { detail: { variable: name, where } });
    }
    return value;
  });
}

const NO_KEYS: ReadonlySet<string> = new Set();

/** Applies `fn` to every string inside a JSON-like value (objects, arrays), returning a copy;
 *  values under a key in `skipKeys` are left as they are. */
export function mapStrings<T>(value: T, fn: (text: string) => string, skipKeys: ReadonlySet<string> = NO_KEYS): T {
  if (typeof value === 'string') return fn(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => mapStrings(item, fn, skipKeys)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[fn(key)] = skipKeys.has(key) ? item : mapStrings(item, fn, skipKeys);
    return out as T;
  }
  return value;
}
