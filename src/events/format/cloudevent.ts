import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RegistryEvent } from '../port.ts';

/** A CloudEvents 1.0 event in the structured JSON mode (`application/cloudevents+json`). */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/** The CloudEvents `type` of each registry event (reverse-DNS, as the spec recommends). */
export const CLOUD_EVENT_TYPES: Readonly<Record<RegistryEvent['type'], string>> = {
  'manifest.pushed': 'dev.kiln.registry.manifest.pushed',
  'manifest.deleted': 'dev.kiln.registry.manifest.deleted',
  'tag.deleted': 'dev.kiln.registry.tag.deleted',
  'manifest.pulled': 'dev.kiln.registry.manifest.pulled',
};

/** The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'kiln-signature';

/** Wraps a registry event as a CloudEvent; `id` and `source` come from the caller. Pure. */
export function toCloudEvent(event: RegistryEvent, id: string, source: string): CloudEvent {
  const { type, time, ...data } = event;
  return {
    specversion: '1.0',
    id,
    source,
    type: CLOUD_EVENT_TYPES[type],
    subject: event.digest !== undefined ? `${event.repository}@${event.digest}` : `${event.repository}:${event.tag ?? ''}`,
    time: new Date(time).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/** The signature header value for `body` sent at `unixSeconds`. The timestamp is signed with the
 *  body so a receiver can refuse replays of old deliveries. Pure. */
export function signDelivery(secret: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/** What a receiver does: true when `header` is a valid signature of `body` by `secret`, made no more
 *  than `toleranceSeconds` from `nowSeconds`. Constant-time comparison. Pure. */
export function verifyDelivery(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const at = Number(match[1]);
  if (Math.abs(nowSeconds - at) > toleranceSeconds) return false;
  const expected = Buffer.from(signDelivery(secret, at, body).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
