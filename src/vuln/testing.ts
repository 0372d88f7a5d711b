// Test support: an in-memory vulnerability index that knows nothing unless told.
import type { VulnIndex } from './port.ts';

/** A VulnIndex with no feeds and no records, with `parts` in place of the methods a test needs. */
export function stubVulnIndex(parts: Partial<VulnIndex> = {}): VulnIndex {
  return {
    affected: () => [],
    cpes: () => [],
    vulnerabilities: () => [],
    kev: () => [],
    epss: () => [],
    feeds: () => [],
    replaceFeed: () => undefined,
    touchFeed: () => undefined,
    removeFeed: () => undefined,
    close: () => undefined,
    ...parts,
  };
}
