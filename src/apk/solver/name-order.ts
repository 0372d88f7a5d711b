// apk-tools keeps package names in a 20000-bucket hash table keyed by MurmurHash3 (seed 5381) and
// builds every name's reverse-dependency list by walking that table. The order of those lists
// decides the order in which the solver revisits names and in which removals are emitted, so
// reproducing apk's choices and output order needs the same walk order: bucket ascending, and
// within a bucket the most recently created name first (hlist_add_head).

const BUCKETS = 20000;
const SEED = 5381;
const encoder = new TextEncoder();

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** MurmurHash3 x86 32-bit of the UTF-8 bytes of `text`. */
export function murmur3(text: string, seed = SEED): number {
  // Names are almost always ASCII: read char codes directly. Otherwise hash the UTF-8 bytes, held
  // as a one-byte-per-character string so the same loop reads them.
  const key = isAscii(text) ? text : String.fromCharCode(...encoder.encode(text));
  const length = key.length;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blocks = length >>> 2;
  let h = seed >>> 0;
  let k: number;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    k = (key.charCodeAt(o) | (key.charCodeAt(o + 1) << 8) | (key.charCodeAt(o + 2) << 16) | (key.charCodeAt(o + 3) << 24)) >>> 0;
    // Rotations written out rather than called: this runs for every name while interpreted.
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  k = 0;
  const rest = length & 3;
  if (rest >= 3) k ^= key.charCodeAt(tail + 2) << 16;
  if (rest >= 2) k ^= key.charCodeAt(tail + 1) << 8;
  if (rest >= 1) {
    k ^= key.charCodeAt(tail);
    k = Math.imul(k, c1);
    k = rotl32(k, 15);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bucket of a name in apk's name table. */
export function nameBucket(name: string): number {
  return murmur3(name) % BUCKETS;
}

/** Sorts items (with `name` and creation `serial`) into apk's hash-table walk order. */
export function sortInTableOrder<T extends { name: string; serial: number }>(items: T[]): T[] {
  const keyed = items.map((item) => ({ item, bucket: nameBucket(item.name) }));
  keyed.sort((a, b) => a.bucket - b.bucket || b.item.serial - a.item.serial);
  return keyed.map((k) => k.item);
}
