/** Token-bucket rate limiter per client key (address or user). Buckets idle long enough to be full
 *  are dropped so the map stays bounded by the number of active clients. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(requestsPerSecond: number, burst: number, now: () => number) {
    this.#rate = requestsPerSecond;
    this.#burst = Math.max(1, burst);
    this.#now = now;
  }

  /** Takes one token for `key`; returns 0 when allowed, else milliseconds until a token is available. */
  take(key: string): number {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 10_000) this.#prune(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.#rate) * 1000);
  }

  #prune(now: number): void {
    const full = (this.#burst / this.#rate) * 1000;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at > full) this.#buckets.delete(key);
  }
}
