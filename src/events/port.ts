import type { Digest } from '../lib/index.ts';

/** What happened in the registry, as the registry reports it (before any wire format). */
export interface RegistryEvent {
  /** `manifest.pushed`, `manifest.deleted`, `tag.deleted`, or `manifest.pulled` (only when asked for). */
  type: 'manifest.pushed' | 'manifest.deleted' | 'tag.deleted' | 'manifest.pulled';
  repository: string;
  digest?: Digest;
  /** The tag pushed, deleted or pulled by. */
  tag?: string;
  /** Tags a push set (a push by tag, or `?tag=` on a push by digest). */
  tags?: string[];
  mediaType?: string;
  size?: number;
  /** Authenticated user, when there is one. */
  actor?: string;
  /** The request that caused it (X-Request-Id). */
  requestId?: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/** Where the registry sends events. `publish` must return at once and never throw: delivery (and
 *  its failures) happen elsewhere, so a slow or broken receiver can never fail or slow a push. */
export interface EventSink {
  publish(event: RegistryEvent): void;
}
