// Pure: what the no-private-keys check looks for in a file's bytes — PEM private keys (a BEGIN
// line followed by key data, so a library's marker strings do not count) and common access tokens.

const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----\r?\n(?:[A-Za-z0-9-]+: [^\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40,}/;
const TOKENS: ReadonlyArray<[string, RegExp]> = [
  ['an AWS access key id', /\bAKIA[0-9A-Z]{16}\b/],
  ['a GitHub token', /\bgh[pousr]_[A-Za-z0-9]{36}\b/],
  ['a Slack token', /\bxox[baprs]-[0-9A-Za-z-]{10,}\b/],
];

// Large files are scanned in windows so no string of the whole file is made; the overlap is far
// longer than any match (a PEM header with its encapsulated headers and 40 characters of key data),
// so a secret across a window boundary is still found whole in one window.
const WINDOW = 1024 * 1024;
const OVERLAP = 64 * 1024;

function secretsInText(text: string): string[] {
  const found: string[] = [];
  const key = PRIVATE_KEY.exec(text);
  if (key) found.push(`PEM ${key[1] ?? ''}PRIVATE KEY${key[2] ?? ''}`);
  for (const [what, pattern] of TOKENS) if (pattern.test(text)) found.push(`looks like ${what}`);
  return found;
}

/** What secrets a file's bytes hold, one description each (`PEM RSA PRIVATE KEY`, `looks like an
 *  AWS access key id`); empty when none. Any size: large contents are scanned window by window. */
export function findSecrets(content: Uint8Array): string[] {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  if (bytes.length <= WINDOW) return secretsInText(bytes.toString('latin1'));
  const found = new Set<string>();
  for (let start = 0; start < bytes.length; start += WINDOW - OVERLAP) {
    for (const item of secretsInText(bytes.subarray(start, start + WINDOW).toString('latin1'))) found.add(item);
    if (start + WINDOW >= bytes.length) break;
  }
  return [...found];
}
