/** A Map that keeps at most `maxSize` entries, dropping the oldest-set first: for memos of results
 *  that cannot change (content-addressed), which must not grow with every name a client asks for. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly maxSize: number) {
    super();
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`BoundedMap size must be a positive integer, got ${maxSize}`);
  }

  override set(key: K, value: V): this {
    // Setting again moves the entry to the newest end.
    if (this.has(key)) super.delete(key);
    super.set(key, value);
    while (this.size > this.maxSize) super.delete(this.keys().next().value as K);
    return this;
  }
}
