// JSON as Go's encoding/json writes it: compact, object keys in the order given (callers build
// objects in the field order apko uses and pass maps through sortedRecord), and HTML-sensitive
// characters escaped (`<`, `>`, `&`, U+2028, U+2029), so our documents byte-match apko's layout.

/** Go-style JSON text of a value (compact unless `indent` is given). */
export function goJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent);
  return text.replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go-style JSON bytes of a value. */
export function goJsonBytes(value: unknown, indent?: number): Uint8Array {
  return Buffer.from(goJson(value, indent), 'utf8');
}

/** A copy of a string map with keys sorted in byte order (Go marshals maps sorted). */
export function sortedRecord<V>(record: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[key] = record[key]!;
  return out;
}

/** Compact JSON bytes as `JSON.stringify` writes them: how Kiln pushes manifests it did not build
 *  with apko's layout (signatures, attestations, referrers). */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
