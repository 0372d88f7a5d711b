/** Parses an upload chunk's `Content-Range: <start>-<end>` (inclusive, no unit); undefined if malformed. */
export function parseChunkRange(value: string): { start: number; end: number } | undefined {
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(value.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return start <= end ? { start, end } : undefined;
}

/** Outcome of a blob GET's `Range` header against a blob of `size` bytes. */
type ByteRange = { kind: 'none' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

/** Parses a single-range `Range: bytes=a-b | a- | -n` header. Multi-range and malformed headers are
 *  ignored (whole content), as RFC 9110 allows; unsatisfiable ranges — starting past the end, an
 *  empty suffix, or a reversed `a-b` with b < a — are 416, as the OCI conformance suite expects
 *  (`bytes=500-0` → 416). */
export function parseByteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return { kind: 'none' };
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'none' };
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return { kind: 'unsatisfiable' };
    if (start >= size) return { kind: 'unsatisfiable' };
  }
  return { kind: 'range', start, end };
}
