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
  const scanner = new SecretScanner();
  scanner.push(content);
  return scanner.finish();
}

/** {@link findSecrets} over content that arrives in chunks, holding at most a window of it. */
export class SecretScanner {
  readonly #found = new Set<string>();
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes at the start of the pending data that the last window already scanned (its overlap). */
  #scanned = 0;

  push(chunk: Uint8Array): void {
    this.#pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#pendingBytes += chunk.byteLength;
    if (this.#pendingBytes <= WINDOW) return;
    // One join per push; windows then step through it, each starting OVERLAP bytes before the
    // previous one's end.
    const data = Buffer.concat(this.#pending, this.#pendingBytes);
    let start = 0;
    while (data.length - start > WINDOW) {
      this.#scan(data.subarray(start, start + WINDOW));
      start += WINDOW - OVERLAP;
      this.#scanned = OVERLAP;
    }
    const rest = data.subarray(start);
    this.#pending = [rest];
    this.#pendingBytes = rest.length;
  }

  /** What was found; the scanner is done. */
  finish(): string[] {
    if (this.#pendingBytes > this.#scanned) this.#scan(Buffer.concat(this.#pending, this.#pendingBytes));
    this.#pending = [];
    this.#pendingBytes = 0;
    return [...this.#found];
  }

  #scan(window: Buffer): void {
    for (const item of secretsInText(window.toString('latin1'))) this.#found.add(item);
  }
}
